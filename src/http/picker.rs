//! The patient picker: a practitioner in a standalone launch that needs patient context
//! chooses one patient from the directory (searchable by name when it is long).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::{
    expired_page, form_field, load_pending, parse_pairs, picked_key, signed_in, valid_request_id,
};
use super::error::{error_page, unavailable_page};
use super::pages::{PatientChoice, PickerPage};
use super::{AppState, csrf};

use crate::flow::audit::{self, Event, Kind};

/// Shown at once when the directory is this small; larger ones are searched by name.
const LIST_ALL_UP_TO: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/picker", get(show).post(choose))
}

#[derive(Deserialize)]
struct PickerQuery {
    request: Option<String>,
    q: Option<String>,
}

async fn show(
    State(services): State<AppState>,
    session: Session,
    Query(query): Query<PickerQuery>,
) -> Response {
    let Some(id) = query.request.filter(|id| valid_request_id(id)) else {
        return expired_page();
    };
    match load_pending(&services, &id).await {
        Ok(Some(_)) => {}
        Ok(None) => return expired_page(),
        Err(_) => return unavailable_page(),
    }
    match signed_in(&services, &session).await {
        Ok(Some(_)) => {}
        Ok(None) => return Redirect::to(&format!("/login?request={id}")).into_response(),
        Err(_) => return unavailable_page(),
    }
    let search = query.q.unwrap_or_default().trim().to_owned();
    let Ok(total) = services.store.count_patients().await else {
        return unavailable_page();
    };
    let searchable = total > LIST_ALL_UP_TO;
    let patients = if searchable && search.is_empty() {
        Vec::new()
    } else {
        match services
            .store
            .search_patients(&search, LIST_ALL_UP_TO)
            .await
        {
            Ok(found) => found,
            Err(_) => return unavailable_page(),
        }
    };
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable_page();
    };
    PickerPage {
        csrf,
        request_id: id,
        search,
        searchable,
        patients: patients
            .into_iter()
            .map(|p| PatientChoice {
                detail: [p.birth_date.map(|b| format!("born {b}")), p.gender]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
                id: p.id,
                name: p.name,
            })
            .collect(),
    }
    .into_response()
}

async fn choose(State(services): State<AppState>, session: Session, body: Bytes) -> Response {
    let form = parse_pairs(&body);
    let field = |name: &str| form_field(&form, name);
    if !csrf::check(&session, field("csrf")).await {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
    let Some(id) = field("request")
        .filter(|id| valid_request_id(id))
        .map(str::to_owned)
    else {
        return expired_page();
    };
    let practitioner = match signed_in(&services, &session).await {
        Ok(Some(user)) => user.user_id,
        Ok(None) => return Redirect::to(&format!("/login?request={id}")).into_response(),
        Err(_) => return unavailable_page(),
    };
    let Some(patient_id) = field("patient") else {
        return Redirect::to(&format!("/picker?request={id}")).into_response();
    };
    match services.store.patient(patient_id).await {
        Ok(Some(patient)) => {
            if session.insert(&picked_key(&id), &patient.id).await.is_err() {
                return unavailable_page();
            }
            audit::record(
                &services,
                Event::new(Kind::PatientPicked)
                    .user(&practitioner)
                    .detail(format!("Patient/{}", patient.id)),
            )
            .await;
            Redirect::to(&format!("/authorize/continue?request={id}")).into_response()
        }
        Ok(None) => error_page(StatusCode::BAD_REQUEST, "There is no such patient."),
        Err(_) => unavailable_page(),
    }
}

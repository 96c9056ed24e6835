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

use super::authorize::{continue_request, expired_page, pending_of, signed_in};
use super::error::{error_page, unavailable_page};
use super::pages::{PatientChoice, PickerPage};
use super::{AppState, csrf};
use crate::flow::interaction::{self, Decision};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};

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
    let pending = match pending_of(&services, query.request.as_deref()).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired_page(),
        Err(response) => return response,
    };
    // Only a practitioner whose request needs a patient, and has none yet, sees the directory.
    let signed_in = signed_in(&services, &session).await;
    match interaction::decide(&services, &pending, signed_in.as_ref()).await {
        Ok(Decision::PickPatient(_)) => {}
        Ok(_) => return continue_request(&pending.id),
        Err(_) => return unavailable_page(),
    }
    let search = query.q.unwrap_or_default().trim().to_owned();
    if search.len() > 200 {
        return error_page(StatusCode::BAD_REQUEST, "The search is too long.");
    }
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
        request_id: pending.id,
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
    let form = Params::parse(&body, MAX_PROTOCOL_PARAMETERS);
    if !csrf::check(&session, form.get("csrf")).await {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
    let pending = match pending_of(&services, form.get("request")).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired_page(),
        Err(response) => return response,
    };
    let Some(patient_id) = form.get("patient") else {
        return Redirect::to(&format!("/picker?request={}", pending.id)).into_response();
    };
    let signed_in = signed_in(&services, &session).await;
    match interaction::pick_patient(&services, &pending, signed_in.as_ref(), patient_id).await {
        // Picked, or not at the picker step: either way the request decides what is next.
        Ok(_) => continue_request(&pending.id),
        Err(_) => unavailable_page(),
    }
}

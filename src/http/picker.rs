//! The patient picker: a practitioner in a standalone launch that needs patient context
//! chooses one patient from the directory (searchable by name when it is long).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

use super::authorize::continue_request;
use super::error::{PageError, PageResult};
use super::pages::{PatientChoice, PickerPage};
use super::visitor::{AtRequest, AtRequestForm};
use super::{AppState, csrf};
use crate::flow::interaction::{self, Decision};
use crate::flow::patients;

/// Shown at once when the directory is this small; larger ones are searched by name.
const LIST_ALL_UP_TO: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/picker", get(show).post(choose))
}

async fn show(State(services): State<AppState>, at: AtRequest) -> PageResult {
    let AtRequest {
        pending,
        visitor,
        query,
    } = at;
    // Only a practitioner whose request needs a patient, and has none yet, sees the directory.
    match interaction::decide(&services, &pending, visitor.signed_in.as_ref()).await? {
        Decision::PickPatient(_) => {}
        _ => return Ok(continue_request(&pending.id)),
    }
    let search = query.get("q").unwrap_or_default().trim().to_owned();
    if search.len() > 200 {
        return Err(PageError::BadRequest("The search is too long.".into()));
    }
    let directory = patients::directory(&services, &search, LIST_ALL_UP_TO).await?;
    let csrf = csrf::token(&visitor.session).await?;
    Ok(PickerPage {
        csrf,
        request_id: pending.id,
        search,
        searchable: directory.searchable,
        patients: directory
            .patients
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
    .into_response())
}

async fn choose(State(services): State<AppState>, posted: AtRequestForm) -> PageResult {
    let AtRequestForm {
        pending,
        visitor,
        form,
    } = posted;
    let Some(patient_id) = form.get("patient") else {
        return Ok(Redirect::to(&format!("/picker?request={}", pending.id)).into_response());
    };
    let signed_in = visitor.signed_in.as_ref();
    // Picked, or not at the picker step: either way the request decides what is next.
    interaction::pick_patient(&services, &pending, signed_in, patient_id).await?;
    Ok(continue_request(&pending.id))
}

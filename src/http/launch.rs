//! `POST /launch`: how an EHR obtains a SMART EHR-launch handle. The EHR authenticates with
//! HTTP Basic as a confidential client registered with `--ehr-launcher`, and names the context: `patient`, `encounter`, `user` (a username), `client_id` (the app),
//! `fhir_context` (JSON array), `need_patient_banner`, `intent`. The answer is
//! `{"launch": "<opaque>", "expires_in": 300}`; the EHR then opens the app's launch URL with
//! `iss=<FHIR base>&launch=<opaque>`. The handle works once, for five minutes.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::client_form::{ClientForm, EhrForm};
use super::error::{json_error, no_store};
use crate::flow::OAuthError;
use crate::flow::launch::{self, LaunchRequest};

pub fn router() -> Router<AppState> {
    Router::new().route("/launch", post(issue))
}

#[tracing::instrument(name = "launch", skip_all, fields(ehr = %request.client.client_id))]
async fn issue(State(services): State<AppState>, EhrForm(request): EhrForm) -> Response {
    let ClientForm {
        client: ehr,
        form,
        challenge,
    } = request;
    let field = |name: &str| form.get(name).map(str::to_owned);
    let result = async {
        let need_patient_banner = match field("need_patient_banner").as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "need_patient_banner must be true or false",
                ));
            }
        };
        let request = LaunchRequest {
            patient: field("patient"),
            encounter: field("encounter"),
            user: field("user"),
            client_id: field("client_id"),
            fhir_context: field("fhir_context"),
            need_patient_banner,
            intent: field("intent"),
        };
        launch::issue(&services, &ehr, request).await
    }
    .await;
    match result {
        Ok((launch, expires_in)) => {
            let mut response =
                Json(json!({ "launch": launch, "expires_in": expires_in })).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => json_error(&e, challenge),
    }
}

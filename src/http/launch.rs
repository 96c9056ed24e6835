//! `POST /launch`: how an EHR obtains a SMART EHR-launch handle. The EHR authenticates with
//! HTTP Basic as a confidential client registered with `--ehr-launcher`, and names the context: `patient`, `encounter`, `user` (a username), `client_id` (the app),
//! `fhir_context` (JSON array), `need_patient_banner`, `intent`. The answer is
//! `{"launch": "<opaque>", "expires_in": 300}`; the EHR then opens the app's launch URL with
//! `iss=<FHIR base>&launch=<opaque>`. The handle works once, for five minutes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use super::error::oauth_error_response;
use crate::flow::launch::{self, LaunchRequest};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use crate::flow::{OAuthError, client_auth};

pub fn router() -> Router<AppState> {
    Router::new().route("/launch", post(issue))
}

#[tracing::instrument(name = "launch", skip_all)]
async fn issue(State(services): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Params::parse(&body, MAX_PROTOCOL_PARAMETERS);
    let field = |name: &str| form.get(name).map(str::to_owned);
    let result = async {
        if form.too_many() || form.repeated().is_some() {
            return Err(OAuthError::invalid_request(
                "too many or repeated parameters",
            ));
        }
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // `client_id` in this form names the app, so the EHR's own credentials come in the
        // Authorization header only.
        let credentials = client_auth::extract(authorization, None, None)?;
        if !credentials.used_basic() {
            return Err(OAuthError {
                used_basic_auth: true,
                ..OAuthError::invalid_client("an EHR authenticates with HTTP Basic")
            });
        }
        let ehr = client_auth::authenticate(&services, &credentials)
            .await
            .map_err(|e| OAuthError {
                used_basic_auth: true,
                ..e
            })?;
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
    let mut response = match result {
        Ok((launch, expires_in)) => {
            Json(json!({ "launch": launch, "expires_in": expires_in })).into_response()
        }
        Err(e) => oauth_error_response(&e),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

//! `clearance demo` only: a tiny relying party inside the server, so a newcomer sees the
//! whole story in one browser tab: it starts an authorization request with PKCE and real
//! SMART scopes, its callback redeems the code (in-process, through the same token flow),
//! shows the claims, and reads the patient's records through the FHIR gateway with its
//! token, from the demo's built-in FHIR store (demo data only). What it shows as released or
//! withheld is what the gateway returned; `/demo/records` reads again, so sharing less on
//! `/account` shows on the next read.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_sessions::Session;

use super::AppState;
use super::error::{PageError, PageResult, error_page};
use crate::demo::{
    DEMO_CLIENT_ID, DEMO_FHIR_STORE, SAMPLE_RECORDS, WELLNESS_CLIENT_ID, demo_redirect_uri,
};
use crate::flow::grant::{self, TokenRequest};
use crate::gateway::access::InProcess;
use crate::gateway::{self, FhirRequest};
use crate::secrets;
use crate::services::Services;

const DEMO_RP: &str = "demo_rp";
/// The demo app's access token and patient, kept for reading again.
const DEMO_TOKEN: &str = "demo_token";

/// What the demo app asks for: sign-in, the patient's records, and staying connected.
const DEMO_SCOPE: &str =
    "openid profile fhirUser offline_access launch/patient patient/Observation.rs";

#[derive(Serialize, Deserialize)]
struct DemoToken {
    access_token: String,
    patient: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct DemoRequest {
    verifier: String,
    state: String,
    client_id: String,
}

/// A sample record and whether the token releases it.
pub struct SampleView {
    pub description: String,
    pub labels: String,
    pub released: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "demo.html")]
struct DemoPage {
    scope: String,
    expires_in: i64,
    has_refresh_token: bool,
    id_token_claims: String,
    access_token_claims: String,
    samples: Vec<SampleView>,
    /// Why no records could be read (the token was revoked, say), when none could.
    read_error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "demo_records.html")]
struct RecordsPage {
    samples: Vec<SampleView>,
    read_error: Option<String>,
}

#[derive(Deserialize)]
struct Start {
    app: Option<String>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/demo", get(start))
        .route("/demo/callback", get(callback))
        .route("/demo/records", get(records))
        .route(&format!("{DEMO_FHIR_STORE}/{{*rest}}"), get(store))
}

async fn start(
    State(services): State<AppState>,
    session: Session,
    Query(start): Query<Start>,
) -> PageResult {
    let client_id = match start.app.as_deref() {
        Some("wellness") => WELLNESS_CLIENT_ID,
        _ => DEMO_CLIENT_ID,
    };
    let request = DemoRequest {
        verifier: secrets::random_token(),
        state: secrets::random_id(),
        client_id: client_id.to_owned(),
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(request.verifier.as_bytes()));
    session.insert(DEMO_RP, &request).await?;
    let mut url = url::Url::parse(&services.config.endpoint("/authorize"))
        .map_err(|_| PageError::Unavailable)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &demo_redirect_uri(&services.config))
        .append_pair("scope", DEMO_SCOPE)
        .append_pair(
            "aud",
            services
                .config
                .fhir_base_urls
                .first()
                .map_or(services.config.issuer.as_str(), String::as_str),
        )
        .append_pair("state", &request.state)
        .append_pair("nonce", &secrets::random_id())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "consent");
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(services): State<AppState>,
    session: Session,
    Query(back): Query<Callback>,
) -> Response {
    let Some(request) = session.remove::<DemoRequest>(DEMO_RP).await.ok().flatten() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This demo callback was not expected. Start again at /demo.",
        );
    };
    if back.state.as_deref() != Some(request.state.as_str()) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The state does not match. Start again at /demo.",
        );
    }
    if let Some(error) = back.error {
        let message = format!("The demo app was refused access ({error}). Start again at /demo.");
        return error_page(StatusCode::OK, &message);
    }
    let Some(code) = back.code else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "No code came back. Start again at /demo.",
        );
    };
    let form: Vec<(String, String)> = [
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", demo_redirect_uri(&services.config)),
        ("code_verifier", request.verifier),
        ("client_id", request.client_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let form = crate::flow::params::Params::from(form);
    let tokens = match grant::exchange(
        &services,
        &TokenRequest {
            form: &form,
            authorization: None,
        },
    )
    .await
    .result
    {
        Ok(tokens) => tokens,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.description),
    };
    let token = DemoToken {
        access_token: tokens.access_token.clone(),
        patient: tokens.patient.clone(),
    };
    if session.insert(DEMO_TOKEN, &token).await.is_err() {
        return PageError::Unavailable.into_response();
    }
    let (samples, read_error) = read_records(&services, &token).await;
    DemoPage {
        samples,
        read_error,
        scope: tokens.scope.clone(),
        expires_in: tokens.expires_in,
        has_refresh_token: tokens.refresh_token.is_some(),
        id_token_claims: tokens
            .id_token
            .as_deref()
            .map(pretty_claims)
            .unwrap_or_default(),
        access_token_claims: pretty_claims(&tokens.access_token),
    }
    .into_response()
}

/// The payload of a JWT we just signed, pretty-printed for display.
fn pretty_claims(jwt: &str) -> String {
    jwt.split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}

/// `GET /demo/records`: the demo app reads the records again with the token it kept.
async fn records(State(services): State<AppState>, session: Session) -> PageResult {
    let Some(token) = session.get::<DemoToken>(DEMO_TOKEN).await? else {
        return Ok(Redirect::to("/demo").into_response());
    };
    let (samples, read_error) = read_records(&services, &token).await;
    Ok(RecordsPage {
        samples,
        read_error,
    }
    .into_response())
}

/// Every sample record of the token's patient, and whether the gateway released it to the
/// demo app: the app searches `Observation` through the gateway, as any SMART app would.
async fn read_records(services: &Services, token: &DemoToken) -> (Vec<SampleView>, Option<String>) {
    let Some(patient) = token.patient.as_deref() else {
        return (Vec::new(), Some("The token names no patient.".into()));
    };
    let authorization = format!("Bearer {}", token.access_token);
    let Some(fhir) = services.gateways.first() else {
        return (
            Vec::new(),
            Some("The demo runs without its FHIR gateway.".into()),
        );
    };
    let reply = gateway::serve(
        fhir,
        &InProcess(services),
        FhirRequest {
            method: "GET",
            path: "Observation",
            query: None,
            authorization: Some(&authorization),
            body: &[],
        },
    )
    .await;
    if reply.status != 200 {
        let why = reply.body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("the FHIR gateway refused")
            .to_owned();
        return (
            Vec::new(),
            Some(format!("The FHIR gateway answered {}: {why}", reply.status)),
        );
    }
    let released: Vec<&str> = reply.body["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str())
        .collect();
    let samples = SAMPLE_RECORDS
        .iter()
        .enumerate()
        .map(|(n, (description, confidentiality, sensitivity))| {
            let text: Vec<&str> = confidentiality
                .iter()
                .chain(sensitivity.iter())
                .copied()
                .collect();
            SampleView {
                description: (*description).to_owned(),
                labels: if text.is_empty() {
                    "none".to_owned()
                } else {
                    text.join(", ")
                },
                released: released.contains(&format!("{patient}-{}", n + 1).as_str()),
            }
        })
        .collect();
    (samples, None)
}

/// The demo's built-in FHIR store (`crate::demo::demo_store`), for the gateway only: it
/// answers nothing without the gateway's credential of this run.
async fn store(
    State(services): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::Path(rest): axum::extract::Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let expected = services.config.fhir_upstream_token.as_deref();
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let authorized =
        matches!((expected, given), (Some(e), Some(g)) if secrets::constant_time_eq(e, g));
    if !authorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let base = services.config.fhir_upstream.clone().unwrap_or_default();
    let (status, body) =
        crate::demo::demo_store(&rest, query.get("subject").map(String::as_str), &base);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND),
        [(axum::http::header::CONTENT_TYPE, "application/fhir+json")],
        body.to_string(),
    )
        .into_response()
}

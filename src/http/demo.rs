//! `clearance demo` only: a tiny relying party inside the server, so a newcomer sees the
//! whole story in one browser tab: it starts an authorization request with PKCE, and its
//! callback redeems the code (in-process, through the same token flow) and shows the claims.

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
use crate::demo::{DEMO_CLIENT_ID, SAMPLE_RECORDS, WELLNESS_CLIENT_ID, demo_redirect_uri};
use crate::flow::grant::{self, TokenRequest};
use crate::labels::{Label, SecurityClaim, may_release, vocab};
use crate::secrets;

const DEMO_RP: &str = "demo_rp";

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
}

#[derive(Deserialize)]
struct Start {
    app: Option<String>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/demo", get(start))
        .route("/demo/callback", get(callback))
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
        .append_pair("scope", "openid profile fhirUser offline_access")
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
    let claim: Option<SecurityClaim> =
        serde_json::from_str::<serde_json::Value>(&pretty_claims(&tokens.access_token))
            .ok()
            .and_then(|claims| serde_json::from_value(claims["security"].clone()).ok());
    let samples = SAMPLE_RECORDS
        .iter()
        .map(|(description, confidentiality, sensitivity)| {
            let labels: Vec<Label> = confidentiality
                .iter()
                .map(|code| Label {
                    system: vocab::CONFIDENTIALITY_SYSTEM,
                    code,
                })
                .chain(sensitivity.iter().map(|code| Label {
                    system: vocab::ACT_CODE_SYSTEM,
                    code,
                }))
                .collect();
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
                released: claim.as_ref().is_some_and(|c| may_release(labels, c)),
            }
        })
        .collect();
    DemoPage {
        samples,
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

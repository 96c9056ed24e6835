//! `/.well-known/smart-configuration` (SMART App Launch 2.2, conformance.html), at the root
//! and under the path of each configured FHIR base served from this host. Always JSON,
//! absolute URLs, open CORS; `capabilities` lists exactly what works.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use url::Url;

use super::AppState;
use super::discovery::{SECURITY_LABELS_METADATA, security_label_profile};
use crate::config::{Config, RegistrationPolicy};
use crate::tokens::client_keys::ASSERTION_ALGS;

/// Every capability Clearance implements, and nothing else.
pub const CAPABILITIES: &[&str] = &[
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "sso-openid-connect",
    "context-banner",
    "context-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
];

/// Scopes advertised (the server supports every one; the list is not exhaustive).
pub const SCOPES: &[&str] = &[
    "openid",
    "fhirUser",
    "profile",
    "email",
    "offline_access",
    "online_access",
    "launch",
    "launch/patient",
    "launch/encounter",
    "patient/*.cruds",
    "patient/*.rs",
    "patient/*.read",
    "patient/*.write",
    "patient/*.*",
    "user/*.cruds",
    "user/*.rs",
    "user/*.read",
    "user/*.write",
    "user/*.*",
    "system/*.cruds",
    "system/*.rs",
    "system/*.read",
];

pub fn router(config: &Config) -> Router<AppState> {
    let mut router =
        Router::new().route("/.well-known/smart-configuration", get(smart_configuration));
    for path in fhir_base_paths(config) {
        router = router.route(
            &format!("{path}/.well-known/smart-configuration"),
            get(smart_configuration),
        );
    }
    router
}

/// Paths of the configured FHIR bases that live on the issuer's own origin.
fn fhir_base_paths(config: &Config) -> Vec<String> {
    let Ok(issuer) = Url::parse(&config.issuer) else {
        return Vec::new();
    };
    let mut paths: Vec<String> = config
        .fhir_base_urls
        .iter()
        .filter_map(|b| Url::parse(b).ok())
        .filter(|b| b.origin() == issuer.origin())
        .map(|b| b.path().trim_end_matches('/').to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

pub fn smart_metadata(config: &Config) -> Value {
    let mut metadata = json!({
        "issuer": config.issuer,
        "jwks_uri": config.endpoint("/jwks"),
        "authorization_endpoint": config.endpoint("/authorize"),
        "token_endpoint": config.endpoint("/token"),
        "userinfo_endpoint": config.endpoint("/userinfo"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "management_endpoint": config.endpoint("/account"),
        "introspection_endpoint": config.endpoint("/introspect"),
        "revocation_endpoint": config.endpoint("/revoke"),
        "capabilities": CAPABILITIES,
        "code_challenge_methods_supported": ["S256"],
        SECURITY_LABELS_METADATA: security_label_profile(config),
    });
    if config.registration != RegistrationPolicy::Closed {
        metadata["registration_endpoint"] = json!(config.endpoint("/register"));
    }
    metadata
}

async fn smart_configuration(State(services): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        services
            .metadata
            .smart
            .get_or_init(|| Bytes::from(smart_metadata(&services.config).to_string()))
            .clone(),
    )
}

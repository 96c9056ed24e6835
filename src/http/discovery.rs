//! OIDC Discovery 1.0 §3 and RFC 8414 metadata, and the JWKS. Every field states what
//! actually works; nothing is advertised ahead of its implementation.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;
use crate::config::{Config, RegistrationPolicy};
use crate::labels::Confidentiality;
use crate::labels::vocab;
use crate::tokens::Alg;
use crate::tokens::client_keys::ASSERTION_ALGS;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(openid_configuration),
        )
        .route("/jwks", get(jwks))
}

pub fn metadata(config: &Config) -> Value {
    let mut metadata = json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.endpoint("/authorize"),
        "token_endpoint": config.endpoint("/token"),
        "userinfo_endpoint": config.endpoint("/userinfo"),
        "jwks_uri": config.endpoint("/jwks"),
        "introspection_endpoint": config.endpoint("/introspect"),
        "revocation_endpoint": config.endpoint("/revoke"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": super::smart::SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": Alg::ALL.map(Alg::name),
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "name", "preferred_username", "email", "email_verified", "fhirUser", "profile", "security"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent"],
        "display_values_supported": ["page"],
        "ui_locales_supported": ["en"],
        "claim_types_supported": ["normal"],
        SECURITY_LABELS_METADATA: security_label_profile(config),
    });
    if config.registration != RegistrationPolicy::Closed {
        metadata["registration_endpoint"] = json!(config.endpoint("/register"));
    }
    metadata
}

/// The discovery key under which Clearance publishes its label vocabulary and claim
/// profile. A URI names it, so it cannot collide with another extension (RFC 7519 §4.2
/// spirit; SMART's rule for extension names); it is a name, not a document to fetch.
pub const SECURITY_LABELS_METADATA: &str = "https://clearance.dev/ns/security-labels";

/// How a resource server learns the rules from metadata: the claim, its code systems, the
/// order and hierarchy, the release rule, and the consent page's categories.
pub fn security_label_profile(config: &Config) -> Value {
    let mut hierarchy = serde_json::Map::new();
    let mut parents: Vec<&str> = vec![vocab::SENSITIVITY_ROOT];
    parents.extend(vocab::SENSITIVITY.iter().map(|(c, _, _)| *c));
    for parent in parents {
        let children = vocab::sensitivity_children(parent);
        if !children.is_empty() {
            hierarchy.insert(parent.to_owned(), json!(children));
        }
    }
    json!({
        "claim": "security",
        "in": ["access_token", "id_token", "introspection"],
        "members": {
            "confidentiality": {
                "system": vocab::CONFIDENTIALITY_SYSTEM,
                "order": Confidentiality::ALL.map(Confidentiality::code),
                "untagged_resource": "N",
            },
            "sensitivity": {
                "system": vocab::ACT_CODE_SYSTEM,
                "valueset": vocab::SENSITIVITY_VALUE_SET,
                "hierarchy": hierarchy,
            },
            "purpose_of_use": {"system": vocab::ACT_REASON_SYSTEM},
        },
        "release_rule": "Release a resource iff rank(highest meta.security confidentiality, N when absent) <= rank(security.confidentiality) and every v3-ActCode sensitivity code on it equals or descends from a code in security.sensitivity. Unknown codes and unknown systems withhold the resource; ActCode obligations and refrains, v3-ObservationValue and v3-ActReason codes do not restrict.",
        "categories": config.categories,
    })
}

async fn openid_configuration(State(services): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        services
            .metadata
            .openid
            .get_or_init(|| Bytes::from(metadata(&services.config).to_string()))
            .clone(),
    )
}

/// The published keys: bare public JWKs. Kept short in caches so a rotation is seen soon;
/// retired keys stay listed until every token they signed has expired.
async fn jwks(State(services): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=60"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        services.keys.current().jwks_json(),
    )
}

//! What Clearance supports, said once: the OIDC Discovery 1.0 §3 / RFC 8414 document and
//! SMART App Launch 2.2's `.well-known/smart-configuration`, both built from the constants
//! of the code that implements each feature, so neither can claim more than works.

use serde_json::{Value, json};

use crate::config::{Config, RegistrationPolicy};
use crate::flow::{authorize, client_auth, grant, launch};
use crate::labels::Confidentiality;
use crate::labels::vocab;
use crate::scope;
use crate::tokens::Alg;
use crate::tokens::claims::CLAIMS_SUPPORTED;
use crate::tokens::client_keys::ASSERTION_ALGS;

/// OIDC Discovery 1.0 §3 and RFC 8414 §2.
pub fn openid_configuration(config: &Config) -> Value {
    let mut metadata = json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.endpoint("/authorize"),
        "token_endpoint": config.endpoint("/token"),
        "userinfo_endpoint": config.endpoint("/userinfo"),
        "jwks_uri": config.endpoint("/jwks"),
        "introspection_endpoint": config.endpoint("/introspect"),
        "revocation_endpoint": config.endpoint("/revoke"),
        "introspection_endpoint_auth_methods_supported": client_auth::CONFIDENTIAL_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": client_auth::AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": authorize::RESPONSE_TYPES,
        "response_modes_supported": authorize::RESPONSE_MODES,
        "grant_types_supported": grant::GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": Alg::ALL.map(Alg::name),
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": client_auth::AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": authorize::CODE_CHALLENGE_METHODS,
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": authorize::PROMPT_VALUES,
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

/// Every SMART capability Clearance implements, and nothing else.
pub fn capabilities() -> Vec<&'static str> {
    [
        &launch::CAPABILITIES[..],
        &authorize::CAPABILITIES[..],
        &client_auth::CAPABILITIES[..],
        &scope::CAPABILITIES[..],
    ]
    .concat()
}

/// SMART App Launch 2.2 §"Metadata" (conformance.html).
pub fn smart_configuration(config: &Config) -> Value {
    let mut metadata = json!({
        "issuer": config.issuer,
        "jwks_uri": config.endpoint("/jwks"),
        "authorization_endpoint": config.endpoint("/authorize"),
        "token_endpoint": config.endpoint("/token"),
        "userinfo_endpoint": config.endpoint("/userinfo"),
        "grant_types_supported": grant::GRANT_TYPES,
        "token_endpoint_auth_methods_supported": client_auth::AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": authorize::RESPONSE_TYPES,
        "management_endpoint": config.endpoint("/account"),
        "introspection_endpoint": config.endpoint("/introspect"),
        "revocation_endpoint": config.endpoint("/revoke"),
        "capabilities": capabilities(),
        "code_challenge_methods_supported": authorize::CODE_CHALLENGE_METHODS,
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
        "release_rule": "Release a resource iff rank(highest meta.security confidentiality, N when absent) <= rank(security.confidentiality) and every v3-ActCode sensitivity code on it equals or descends from a code in security.sensitivity. A resource labelled R or V with no sensitivity code is released only when security.sensitivity holds _InformationSensitivityPolicy (every sensitivity; never granted on the consent page). Unknown codes and unknown systems withhold the resource; ActCode obligations and refrains, v3-ObservationValue and v3-ActReason codes do not restrict.",
        "categories": config.categories,
    })
}

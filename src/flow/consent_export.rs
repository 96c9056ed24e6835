//! A grant as a FHIR R4 `Consent` resource: the patient's decision, the app as actor, the
//! permitted scopes, and provisions with the permitted and withheld security labels.

use serde_json::{Value, json};

use crate::config::Config;
use crate::labels::vocab::{self, Confidentiality};
use crate::store::{Client, Grant, Role, User};

/// Extension carrying the OAuth scopes granted (R4 Consent has no element for them).
pub const SCOPE_EXTENSION: &str = "https://clearance.dev/fhir/StructureDefinition/oauth-scope";

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    match display {
        Some(d) => json!({"system": system, "code": code, "display": d}),
        None => json!({"system": system, "code": code}),
    }
}

fn instant(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub fn consent_resource(config: &Config, grant: &Grant, user: &User, client: &Client) -> Value {
    let security = grant.security();
    let chosen = grant.category_ids();

    // Permitted: the confidentiality levels up to the granted one, and the granted codes.
    let mut permitted: Vec<Value> = Confidentiality::ALL
        .into_iter()
        .filter(|c| *c <= security.confidentiality)
        .map(|c| coding(vocab::CONFIDENTIALITY_SYSTEM, c.code(), Some(c.display())))
        .collect();
    permitted.extend(security.sensitivity.iter().map(|code| {
        coding(
            vocab::ACT_CODE_SYSTEM,
            code,
            vocab::sensitivity_display(code),
        )
    }));

    // Withheld: the levels above the granted one, and the codes of the categories not chosen.
    let mut withheld: Vec<Value> = Confidentiality::ALL
        .into_iter()
        .filter(|c| *c > security.confidentiality)
        .map(|c| coding(vocab::CONFIDENTIALITY_SYSTEM, c.code(), Some(c.display())))
        .collect();
    for category in config.categories.iter().filter(|c| !chosen.contains(&c.id)) {
        for code in &category.codes {
            if !security
                .sensitivity
                .iter()
                .any(|g| vocab::sensitivity_covers(g, code))
            {
                withheld.push(coding(
                    vocab::ACT_CODE_SYSTEM,
                    code,
                    vocab::sensitivity_display(code),
                ));
            }
        }
    }

    let subject = user
        .fhir_user
        .as_ref()
        .map(|f| json!({"reference": f}))
        .unwrap_or_else(|| json!({"display": user.username}));
    let mut resource = json!({
        "resourceType": "Consent",
        "id": grant.id,
        "status": if grant.revoked_at.is_some() { "inactive" } else { "active" },
        "scope": {"coding": [coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", Some("Privacy Consent"))]},
        "category": [{"coding": [coding("http://loinc.org", "59284-0", Some("Patient Consent"))]}],
        "dateTime": instant(grant.created_at),
        "performer": [subject.clone()],
        "policyRule": {"coding": [coding(vocab::ACT_CODE_SYSTEM, "OPTIN", Some("opt-in"))]},
        "provision": {
            "type": "permit",
            "period": {"start": instant(grant.created_at)},
            "actor": [{
                "role": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP", Some("information recipient"))]},
                "reference": {
                    "identifier": {"system": format!("{}/clients", config.issuer), "value": client.client_id},
                    "display": client.name,
                },
            }],
            "action": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/consentaction", "access", Some("Access"))]}],
            "securityLabel": permitted,
            "purpose": [coding(vocab::ACT_REASON_SYSTEM, &security.purpose_of_use, None)],
            "extension": [{"url": SCOPE_EXTENSION, "valueString": grant.scope}],
            "provision": [{
                "type": "deny",
                "securityLabel": withheld,
            }],
        },
    });
    if user.role() == Role::Patient
        && user
            .fhir_user
            .as_deref()
            .is_some_and(|f| f.contains("Patient/"))
    {
        resource["patient"] = subject;
    }
    if let Some(end) = grant.revoked_at {
        resource["provision"]["period"]["end"] = json!(instant(end));
    }
    resource
}

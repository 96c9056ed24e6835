//! SMART launch context (app-launch.html): the EHR launch handle an EHR obtains from
//! `POST /launch`, its resolution in the authorization request, and the patient context of a
//! standalone launch (the patient's own record, or the practitioner's pick).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::flow::audit::{self, Event, Kind};
use crate::flow::error::OAuthError;
use crate::scope::{ScopeSet, SmartScope, smart::Context};
use crate::secrets;
use crate::services::Services;
use crate::store::{Client, Launch, Role, StoreError, User};

/// SMART capabilities of launches: EHR and standalone, the context each passes, and the
/// banner and style hints.
pub const CAPABILITIES: [&str; 7] = [
    "launch-ehr",
    "launch-standalone",
    "context-banner",
    "context-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
];

/// How long a launch handle may wait for the app's authorization request.
pub const LAUNCH_TTL: i64 = 300;

/// The context a grant carries into the token response and the access token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchContext {
    pub patient: Option<String>,
    pub encounter: Option<String>,
    /// SMART `fhirContext`: an array of objects with `reference`, `canonical` or `identifier`.
    #[serde(default)]
    pub fhir_context: Vec<Value>,
    pub need_patient_banner: Option<bool>,
    pub intent: Option<String>,
}

/// What an EHR asks for at `POST /launch`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LaunchRequest {
    pub patient: Option<String>,
    pub encounter: Option<String>,
    /// The username of the user the launch is for; that user must be the one signed in.
    pub user: Option<String>,
    /// The app being launched; when given, only that client may use the handle.
    pub client_id: Option<String>,
    /// JSON array (SMART `fhirContext`).
    pub fhir_context: Option<String>,
    pub need_patient_banner: Option<bool>,
    pub intent: Option<String>,
}

/// A FHIR id: 1 to 64 of `[A-Za-z0-9-.]`.
pub fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// SMART §"fhirContext": each item has at least one of `reference` (relative `Type/id`),
/// `canonical`, `identifier`; `role`, when present, is a non-empty URI.
pub fn validate_fhir_context(items: &[Value]) -> Result<(), &'static str> {
    for item in items {
        let Some(obj) = item.as_object() else {
            return Err("fhirContext items must be objects");
        };
        let reference_ok = match obj.get("reference") {
            None => true,
            Some(Value::String(r)) => r
                .split_once('/')
                .is_some_and(|(t, id)| crate::scope::smart::is_resource_type(t) && is_fhir_id(id)),
            Some(_) => false,
        };
        if !reference_ok {
            return Err("fhirContext reference must be a relative Type/id");
        }
        if !(obj.contains_key("reference")
            || obj.contains_key("canonical")
            || obj.contains_key("identifier"))
        {
            return Err("each fhirContext item needs reference, canonical or identifier");
        }
        if obj
            .get("role")
            .is_some_and(|r| r.as_str().is_none_or(str::is_empty))
        {
            return Err("fhirContext role must be a non-empty URI");
        }
    }
    Ok(())
}

/// Issues an opaque, single-use launch handle bound to the context, for an EHR client.
pub async fn issue(
    services: &Services,
    ehr: &Client,
    request: LaunchRequest,
) -> Result<(String, i64), OAuthError> {
    if !ehr.ehr_launcher {
        return Err(OAuthError::new(
            crate::flow::ErrorCode::UnauthorizedClient,
            "this client may not request EHR launches",
        ));
    }
    if request.patient.as_deref().is_some_and(|p| !is_fhir_id(p))
        || request.encounter.as_deref().is_some_and(|e| !is_fhir_id(e))
    {
        return Err(OAuthError::invalid_request(
            "patient and encounter must be FHIR ids",
        ));
    }
    let fhir_context: Vec<Value> = match request.fhir_context.as_deref() {
        None | Some("") => Vec::new(),
        Some(text) => serde_json::from_str(text)
            .map_err(|_| OAuthError::invalid_request("fhir_context must be a JSON array"))?,
    };
    validate_fhir_context(&fhir_context).map_err(OAuthError::invalid_request)?;
    let user_id = match request.user.as_deref() {
        None | Some("") => None,
        Some(username) => Some(
            services
                .store
                .user_by_username(username)
                .await?
                .ok_or(OAuthError::invalid_request("no such user"))?
                .id,
        ),
    };
    if let Some(client_id) = request.client_id.as_deref()
        && services.store.client_by_id(client_id).await?.is_none()
    {
        return Err(OAuthError::invalid_request("no such client"));
    }
    let launch = secrets::random_token();
    let now = services.now();
    services
        .store
        .insert_launch(&Launch {
            launch_hash: secrets::hash_secret(&launch),
            issued_to: ehr.client_id.clone(),
            client_id: request.client_id.filter(|c| !c.is_empty()),
            patient: request.patient.filter(|p| !p.is_empty()),
            encounter: request.encounter.filter(|e| !e.is_empty()),
            user_id,
            fhir_context: serde_json::to_string(&fhir_context).unwrap_or_else(|_| "[]".into()),
            need_patient_banner: request.need_patient_banner.unwrap_or(true),
            intent: request.intent.filter(|i| !i.is_empty()),
            created_at: now,
            expires_at: now + LAUNCH_TTL,
            used_at: None,
        })
        .await?;
    audit::record(
        services,
        Event::new(Kind::LaunchIssued).client(&ehr.client_id),
    )
    .await;
    Ok((launch, LAUNCH_TTL))
}

/// Spends the `launch` of an authorization request from `client_id`: its context and the
/// user it is bound to.
pub async fn resolve(
    services: &Services,
    launch: &str,
    client_id: &str,
) -> Result<Option<(LaunchContext, Option<String>)>, StoreError> {
    // A handle named for another app is neither used nor spent (the SQL checks the client).
    let Some(row) = services
        .store
        .spend_launch(&secrets::hash_secret(launch), client_id, services.now())
        .await?
    else {
        return Ok(None);
    };
    let context = LaunchContext {
        patient: row.patient,
        encounter: row.encounter,
        fhir_context: serde_json::from_str(&row.fhir_context).unwrap_or_default(),
        need_patient_banner: Some(row.need_patient_banner),
        intent: row.intent,
    };
    Ok(Some((context, row.user_id)))
}

/// Does the request need a patient in context? `launch/patient`, or any `patient/` scope
/// (SMART: granted patient scopes need a patient).
pub fn needs_patient(scope: &ScopeSet) -> bool {
    scope.contains("launch/patient")
        || scope
            .iter()
            .any(|s| SmartScope::parse(s).is_some_and(|p| p.context == Context::Patient))
}

/// A patient user's own patient id, from `fhirUser` `Patient/<id>`.
pub fn own_patient(user: &User) -> Option<String> {
    if user.role() != Role::Patient {
        return None;
    }
    let fhir_user = user.fhir_user.as_deref()?;
    let (kind, id) = fhir_user.rsplit_once('/')?;
    (kind.ends_with("Patient") && is_fhir_id(id)).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fhir_context_items_are_checked() {
        assert!(validate_fhir_context(&[json!({"reference": "Observation/123"})]).is_ok());
        assert!(
            validate_fhir_context(&[
                json!({"canonical": "http://x/Questionnaire/q|1", "type": "Questionnaire"})
            ])
            .is_ok()
        );
        assert!(
            validate_fhir_context(&[json!({"reference": "http://abs/Observation/1"})]).is_err()
        );
        assert!(validate_fhir_context(&[json!({"type": "Observation"})]).is_err());
        assert!(
            validate_fhir_context(&[json!({"reference": "Observation/1", "role": ""})]).is_err()
        );
        assert!(validate_fhir_context(&[json!("Observation/1")]).is_err());
    }

    #[test]
    fn patient_scopes_need_a_patient() {
        assert!(needs_patient(
            &ScopeSet::parse("openid launch/patient").unwrap()
        ));
        assert!(needs_patient(
            &ScopeSet::parse("patient/Observation.rs").unwrap()
        ));
        assert!(!needs_patient(
            &ScopeSet::parse("openid user/Observation.rs").unwrap()
        ));
    }
}

//! Who is asking and what they may see: the bearer token verified (RFC 6750 §2.1, RFC 9068
//! §4), its grant still active (revocation and "share less" bite on the next request), and
//! the scopes, patient and `security` claim that decide every resource.

use serde_json::Value;

use super::compartment::{self, Confinement};
use crate::labels::SecurityClaim;
use crate::labels::release::may_release_json;
use crate::scope::smart::{Context, SmartScope};
use crate::services::Services;
use crate::store::StoreError;
use crate::tokens::claims::verify_access_token;

/// What a verified token allows.
#[derive(Debug, Clone)]
pub struct Access {
    pub client_id: String,
    /// The SMART resource scopes granted (other scopes play no part here).
    pub scopes: Vec<SmartScope>,
    /// The patient in context (`patient/` scopes are confined to it).
    pub patient: Option<String>,
    /// The user's own patient record, when the user is a patient: `user/` scopes are then
    /// confined to it as well (a patient's own access is to their own record).
    pub own_patient: Option<String>,
    /// The grant's current `security` claim (it only narrows over the grant's life).
    pub claim: SecurityClaim,
}

/// A search the scopes confine to a patient the gateway cannot narrow to (no patient in
/// context, or a resource type it cannot place in the compartment): 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CannotNarrow;

/// Why a token does not give access.
#[derive(Debug)]
pub enum Denied {
    /// No `Authorization: Bearer` header (RFC 6750 §3.1: a bare challenge).
    NoToken,
    /// Invalid, expired, revoked, or for another audience: 401 `invalid_token`.
    InvalidToken,
    /// The database, or the authorization server, cannot be asked now: 503.
    Unavailable,
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "the gateway cannot check a token");
        Denied::Unavailable
    }
}

/// The bearer token of an `Authorization` header (RFC 6750 §2.1: the header only).
pub fn bearer(authorization: Option<&str>) -> Result<&str, Denied> {
    authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Denied::NoToken)
}

/// Beside the authorization server: tokens checked with its key ring and database.
pub struct InProcess<'a>(pub &'a Services);

#[async_trait::async_trait]
impl super::Verifier for InProcess<'_> {
    async fn verify(&self, authorization: Option<&str>, audience: &str) -> Result<Access, Denied> {
        verify(self.0, authorization, audience).await
    }
}

/// Verifies the bearer token for the FHIR base `audience` and loads what it allows.
pub async fn verify(
    services: &Services,
    authorization: Option<&str>,
    audience: &str,
) -> Result<Access, Denied> {
    let token = bearer(authorization)?;
    let now = services.now();
    let ring = services.keys.current();
    let claims = verify_access_token(&ring, token, &services.config.issuer, now)
        .map_err(|_| Denied::InvalidToken)?;
    // RFC 9068 §4: the token must be for this resource server, compared exactly.
    if claims.aud != audience {
        return Err(Denied::InvalidToken);
    }
    // A user's token has a grant, whose claim is the patient's current choice; a backend
    // service's token (client_credentials: no `auth_time`, no one signed in) has none and
    // carries its client's ceiling. One query either way.
    let claim = if claims.auth_time.is_some() {
        let grant = services
            .store
            .active_access_token_grant(&claims.jti, now)
            .await?
            .ok_or(Denied::InvalidToken)?;
        grant.security
    } else {
        services
            .store
            .client_token_active(&claims.jti, now)
            .await?
            .filter(|client| *client == claims.client_id)
            .ok_or(Denied::InvalidToken)?;
        claims.security.clone().ok_or(Denied::InvalidToken)?
    };
    Ok(Access::new(
        claims.client_id,
        &claims.scope,
        claims.patient,
        claims.fhir_user.as_deref(),
        claim,
    ))
}

impl Access {
    pub fn new(
        client_id: String,
        scope: &str,
        patient: Option<String>,
        fhir_user: Option<&str>,
        claim: SecurityClaim,
    ) -> Access {
        let own_patient = fhir_user
            .and_then(|f| f.rsplit_once("Patient/").map(|(_, id)| id.to_owned()))
            .filter(|id| !id.is_empty() && !id.contains('/'));
        Access {
            client_id,
            scopes: scope.split(' ').filter_map(SmartScope::parse).collect(),
            patient,
            own_patient,
            claim,
        }
    }

    /// The scopes that grant `letter` on `resource_type`.
    fn granting<'a>(
        &'a self,
        resource_type: &'a str,
        letter: char,
    ) -> impl Iterator<Item = &'a SmartScope> {
        self.scopes.iter().filter(move |s| {
            s.resource_type
                .as_deref()
                .is_none_or(|t| t == resource_type)
                && s.permissions.letters().contains(letter)
        })
    }

    /// Does any scope grant `letter` on `resource_type` at all (RFC 6750 `insufficient_scope`
    /// otherwise)?
    pub fn may(&self, resource_type: &str, letter: char) -> bool {
        self.granting(resource_type, letter).next().is_some()
    }

    /// The patient a scope confines to: the launch patient for `patient/` scopes, the
    /// user's own record for a patient's `user/` scopes, none for a clinician's `user/` and
    /// for `system/` scopes.
    fn confined_to(&self, scope: &SmartScope) -> Option<Option<&str>> {
        match scope.context {
            Context::Patient => Some(self.patient.as_deref()),
            Context::User => self.own_patient.as_deref().map(Some),
            Context::System => None,
        }
    }

    /// The patient a search of `resource_type` must be narrowed to before it goes upstream,
    /// when every granting scope confines it to one: `Ok(Some((parameter, value)))`.
    /// `Err(CannotNarrow)` when a granting scope confines to a patient the gateway cannot narrow to (no
    /// patient in context, or a type it cannot place).
    pub fn narrowing(
        &self,
        resource_type: &str,
        letter: char,
    ) -> Result<Option<(String, String)>, CannotNarrow> {
        let confinements: Vec<Option<Option<&str>>> = self
            .granting(resource_type, letter)
            .map(|s| self.confined_to(s))
            .collect();
        if confinements.is_empty() {
            return Err(CannotNarrow);
        }
        // A scope that is not confined (a clinician's user/, system/) lifts the confinement.
        if confinements.contains(&None) {
            return Ok(None);
        }
        // Every granting scope is confined: to one and the same patient, who must be known.
        let patient = confinements[0].flatten().ok_or(CannotNarrow)?;
        if confinements.iter().any(|c| *c != Some(Some(patient))) {
            return Err(CannotNarrow);
        }
        match compartment::confinement(resource_type) {
            Confinement::ThePatient => Ok(Some(("_id".into(), patient.to_owned()))),
            Confinement::Member { parameter, .. } => {
                Ok(Some((parameter.to_owned(), format!("Patient/{patient}"))))
            }
            Confinement::Outside => Ok(None),
            Confinement::Unknown => Err(CannotNarrow),
        }
    }

    /// May `resource` be released for an interaction needing `letter`? Some granting scope
    /// must cover it (its type, its confinement to a patient, its `?category=` constraints),
    /// and the labels of the resource and of everything it contains must pass the release
    /// rule for the grant's current claim. Deny by default.
    pub fn may_release(&self, resource: &Value, letter: char) -> bool {
        let Some(resource_type) = resource["resourceType"].as_str() else {
            return false;
        };
        let in_scope = self.granting(resource_type, letter).any(|scope| {
            let confined = match self.confined_to(scope) {
                None => true,
                Some(None) => false,
                Some(Some(patient)) => compartment::is_about(resource, patient),
            };
            confined && meets_constraints(resource, &scope.constraints)
        });
        in_scope && labels_pass(resource, &self.claim)
    }
}

/// The resource's labels and those of its contained resources (a contained resource travels
/// inside its container, so the container is released only if all of them may be).
fn labels_pass(resource: &Value, claim: &SecurityClaim) -> bool {
    if !may_release_json(&resource["meta"]["security"], claim) {
        return false;
    }
    match &resource["contained"] {
        Value::Null => true,
        Value::Array(contained) => contained
            .iter()
            .all(|c| may_release_json(&c["meta"]["security"], claim)),
        _ => false,
    }
}

/// SMART v2 granular scopes (`?category=system|code`): the resource's `category` must carry
/// a matching coding. Only `category` is understood; a scope constrained by anything else
/// releases nothing (fail closed).
fn meets_constraints(resource: &Value, constraints: &[(String, String)]) -> bool {
    constraints.iter().all(|(name, wanted)| {
        if name != "category" {
            return false;
        }
        let (system, code) = match wanted.split_once('|') {
            Some((s, c)) => (Some(s), c),
            None => (None, wanted.as_str()),
        };
        let concepts: Vec<&Value> = match &resource["category"] {
            Value::Array(list) => list.iter().collect(),
            Value::Null => Vec::new(),
            one => vec![one],
        };
        concepts.iter().any(|concept| {
            concept["coding"].as_array().is_some_and(|codings| {
                codings.iter().any(|coding| {
                    coding["code"].as_str() == Some(code)
                        && system.is_none_or(|s| coding["system"].as_str() == Some(s))
                })
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Confidentiality;
    use serde_json::json;

    fn access(scopes: &str, patient: Option<&str>, sensitivity: &[&str]) -> Access {
        Access {
            client_id: "app".into(),
            scopes: scopes.split(' ').filter_map(SmartScope::parse).collect(),
            patient: patient.map(str::to_owned),
            own_patient: None,
            claim: SecurityClaim {
                confidentiality: if sensitivity.is_empty() {
                    Confidentiality::N
                } else {
                    Confidentiality::R
                },
                sensitivity: sensitivity.iter().map(|s| s.to_string()).collect(),
                purpose_of_use: "PATRQT".into(),
            },
        }
    }

    fn observation(patient: &str, labels: Value) -> Value {
        json!({
            "resourceType": "Observation",
            "subject": {"reference": format!("Patient/{patient}")},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "meta": {"security": labels},
        })
    }

    #[test]
    fn patient_scopes_release_only_the_patients_records_with_allowed_labels() {
        let a = access("patient/Observation.rs", Some("alice"), &[]);
        assert!(a.may_release(&observation("alice", json!(null)), 's'));
        assert!(
            !a.may_release(&observation("bob", json!(null)), 's'),
            "another patient"
        );
        let restricted = json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"},
                                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]);
        assert!(
            !a.may_release(&observation("alice", restricted.clone()), 's'),
            "not shared"
        );
        let shared = access("patient/Observation.rs", Some("alice"), &["PSY"]);
        assert!(shared.may_release(&observation("alice", restricted), 'r'));
        let unknown = json!([{"system": "urn:x", "code": "y"}]);
        assert!(
            !a.may_release(&observation("alice", unknown), 's'),
            "unknown system"
        );
        assert!(
            !a.may_release(
                &json!({"resourceType": "Condition", "subject": {"reference": "Patient/alice"}}),
                's'
            ),
            "no scope for the type"
        );
        let write_only = access("patient/Observation.c", Some("alice"), &[]);
        assert!(!write_only.may_release(&observation("alice", json!(null)), 'r'));
    }

    #[test]
    fn contained_resources_and_categories_decide_too() {
        let a = access(
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
            Some("alice"),
            &[],
        );
        assert!(a.may_release(&observation("alice", json!(null)), 'r'));
        let mut vital = observation("alice", json!(null));
        vital["category"][0]["coding"][0]["code"] = json!("vital-signs");
        assert!(!a.may_release(&vital, 'r'));
        let mut with_contained = observation("alice", json!(null));
        with_contained["contained"] = json!([{"resourceType": "Medication", "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HIV"}]}}]);
        assert!(!a.may_release(&with_contained, 'r'));
    }

    #[test]
    fn searches_are_narrowed_to_the_patient_in_context() {
        let a = access(
            "patient/Observation.rs patient/Patient.rs patient/Practitioner.rs",
            Some("alice"),
            &[],
        );
        assert_eq!(
            a.narrowing("Observation", 's'),
            Ok(Some(("subject".into(), "Patient/alice".into())))
        );
        assert_eq!(
            a.narrowing("Patient", 's'),
            Ok(Some(("_id".into(), "alice".into())))
        );
        assert_eq!(a.narrowing("Practitioner", 's'), Ok(None));
        assert_eq!(a.narrowing("Task", 's'), Err(CannotNarrow), "no scope");
        let no_patient = access("patient/Observation.rs", None, &[]);
        assert_eq!(no_patient.narrowing("Observation", 's'), Err(CannotNarrow));
        let clinician = access(
            "patient/Observation.rs user/Observation.rs",
            Some("alice"),
            &[],
        );
        assert_eq!(
            clinician.narrowing("Observation", 's'),
            Ok(None),
            "user/ lifts it"
        );
        let unknown = access("patient/*.rs", Some("alice"), &[]);
        assert_eq!(unknown.narrowing("Task", 's'), Err(CannotNarrow));
    }
}

//! Scopes in plain words, for a patient rather than a developer (the consent and account
//! pages), and the category-level alternatives offered for resource-level Condition and
//! Observation access (ONC (g)(10) granular scopes).

use super::smart::{Context, SmartScope};

/// FHIR category codes a patient may share instead of every Condition or Observation:
/// (resource type, search parameter value `system|code`, plain label).
pub const GRANULAR_CATEGORIES: &[(&str, &str, &str)] = &[
    (
        "Condition",
        "http://terminology.hl7.org/CodeSystem/condition-category|encounter-diagnosis",
        "Diagnoses from visits",
    ),
    (
        "Condition",
        "http://terminology.hl7.org/CodeSystem/condition-category|problem-list-item",
        "Your problem list",
    ),
    (
        "Condition",
        "http://hl7.org/fhir/us/core/CodeSystem/condition-category|health-concern",
        "Health concerns",
    ),
    (
        "Observation",
        "http://hl7.org/fhir/us/core/CodeSystem/us-core-category|clinical-test",
        "Clinical tests",
    ),
    (
        "Observation",
        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        "Laboratory results",
    ),
    (
        "Observation",
        "http://terminology.hl7.org/CodeSystem/observation-category|social-history",
        "Social history",
    ),
    (
        "Observation",
        "http://hl7.org/fhir/us/core/CodeSystem/us-core-category|sdoh",
        "Social needs (housing, food, transport)",
    ),
    (
        "Observation",
        "http://terminology.hl7.org/CodeSystem/observation-category|survey",
        "Questionnaires and surveys",
    ),
    (
        "Observation",
        "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs",
        "Vital signs",
    ),
];

/// The granular alternatives to a resource-level Condition or Observation scope: each is the
/// same scope with `?category=...` (value, label). Empty for any other scope.
pub fn granular_alternatives(scope: &SmartScope) -> Vec<(String, &'static str)> {
    let Some(kind) = scope.resource_type.as_deref() else {
        return Vec::new();
    };
    if !scope.constraints.is_empty() || scope.context == Context::System {
        return Vec::new();
    }
    GRANULAR_CATEGORIES
        .iter()
        .filter(|(k, _, _)| *k == kind)
        .map(|(_, category, label)| {
            let narrowed = SmartScope {
                constraints: vec![("category".to_owned(), (*category).to_owned())],
                ..scope.as_v2()
            };
            (narrowed.to_string(), *label)
        })
        .collect()
}

fn plain_type(kind: &str) -> String {
    let known = match kind {
        "Observation" => "test results, vital signs and other observations",
        "Condition" => "conditions and diagnoses",
        "MedicationRequest" => "prescriptions",
        "MedicationStatement" => "medicines you take",
        "Medication" => "medicines",
        "AllergyIntolerance" => "allergies",
        "Immunization" => "immunizations",
        "Patient" => "demographic details (name, birth date, contact details)",
        "Encounter" => "visits",
        "Procedure" => "procedures",
        "DiagnosticReport" => "test reports",
        "DocumentReference" => "documents",
        "CarePlan" => "care plans",
        "CareTeam" => "care team",
        "Goal" => "health goals",
        "Device" => "medical devices",
        "Coverage" => "insurance coverage",
        "Practitioner" => "clinicians",
        "Organization" => "organizations",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    // CamelCase to words: "ServiceRequest" -> "service request records".
    let mut words = String::new();
    for (i, c) in kind.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    format!("{words} records")
}

/// (title, detail) for a SMART resource scope.
pub fn describe_smart(scope: &SmartScope) -> (String, String) {
    let p = scope.permissions;
    let verb = if p.is_read_only() {
        if p.search { "See" } else { "Open" }
    } else if !p.read && !p.search {
        "Add to, change or delete"
    } else {
        "See and change"
    };
    let whose = match scope.context {
        Context::Patient => "your",
        Context::User => "the",
        Context::System => "all",
    };
    let what = match scope.resource_type.as_deref() {
        None => "health data of every type".to_owned(),
        Some(kind) => plain_type(kind),
    };
    let mut title = format!("{verb} {whose} {what}");
    if let Some((_, value)) = scope
        .constraints
        .iter()
        .find(|(name, _)| name == "category")
    {
        let label = GRANULAR_CATEGORIES
            .iter()
            .find(|(_, category, _)| category == value)
            .map(|(_, _, label)| label.to_lowercase())
            .unwrap_or_else(|| value.rsplit('|').next().unwrap_or(value).to_owned());
        title = format!("{title}: only {label}");
    }
    let mut detail = match scope.context {
        Context::User => "Records you are allowed to see, about any patient.".to_owned(),
        _ => String::new(),
    };
    if scope.resource_type.is_none() {
        if !detail.is_empty() {
            detail.push(' ');
        }
        detail.push_str("Every type of record, including types added in the future.");
    }
    if detail.is_empty() {
        detail = format!(
            "FHIR {} records.",
            scope.resource_type.as_deref().unwrap_or("*")
        );
    }
    (title, detail)
}

/// Plain words for a scope, for a patient rather than a developer.
pub fn describe(scope: &str) -> (String, String) {
    if let Some(smart) = SmartScope::parse(scope) {
        return describe_smart(&smart);
    }
    let (title, detail) = match scope {
        "openid" => (
            "Confirm who you are",
            "The app learns that it is you who signed in.",
        ),
        "profile" => (
            "Your name and username",
            "The app can see your name and username.",
        ),
        "email" => (
            "Your email address",
            "The app can see the email address on your account.",
        ),
        "fhirUser" => (
            "Your record's identity",
            "The app learns which health record is yours.",
        ),
        "offline_access" => (
            "Stay connected",
            "The app can keep access when you are not using it, until you revoke it.",
        ),
        "online_access" => (
            "Stay connected while you are signed in",
            "The app can keep access while you stay signed in here; it stops when you sign out.",
        ),
        "launch/patient" => (
            "Your patient record",
            "The app is told which patient record to open.",
        ),
        "launch/encounter" => (
            "The current visit",
            "The app is told which visit it was opened for.",
        ),
        "launch" => (
            "Open from your health record",
            "The app opens in the context your health record system gives it.",
        ),
        other => {
            return (
                other.to_owned(),
                "Access to health data on the FHIR server.".to_owned(),
            );
        }
    };
    (title.to_owned(), detail.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words() {
        let (title, _) = describe_smart(&SmartScope::parse("patient/Observation.rs").unwrap());
        assert_eq!(
            title,
            "See your test results, vital signs and other observations"
        );
        let (title, detail) = describe_smart(&SmartScope::parse("patient/*.read").unwrap());
        assert_eq!(title, "See your health data of every type");
        assert!(detail.contains("future"));
        let (title, _) = describe_smart(&SmartScope::parse("user/ServiceRequest.cud").unwrap());
        assert_eq!(
            title,
            "Add to, change or delete the service request records"
        );
        let lab = SmartScope::parse("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory").unwrap();
        assert_eq!(
            describe_smart(&lab).0,
            "See your test results, vital signs and other observations: only laboratory results"
        );
    }

    #[test]
    fn granular_alternatives_for_condition_and_observation_only() {
        let obs = granular_alternatives(&SmartScope::parse("patient/Observation.rs").unwrap());
        assert_eq!(obs.len(), 6);
        assert!(
            obs.iter()
                .all(|(s, _)| s.starts_with("patient/Observation.rs?category="))
        );
        assert_eq!(
            granular_alternatives(&SmartScope::parse("patient/Condition.read").unwrap()).len(),
            3
        );
        assert!(
            granular_alternatives(&SmartScope::parse("patient/Condition.read").unwrap())[0]
                .0
                .starts_with("patient/Condition.rs?"),
            "granular scopes are v2"
        );
        assert!(
            granular_alternatives(&SmartScope::parse("patient/Patient.rs").unwrap()).is_empty()
        );
        assert!(granular_alternatives(&SmartScope::parse("patient/*.rs").unwrap()).is_empty());
    }
}

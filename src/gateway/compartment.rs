//! The FHIR R4 Patient compartment (CompartmentDefinition/patient, version 4.0.0), reduced to
//! what a patient-facing gateway releases on: the subject-like search parameter that narrows a
//! search to one patient, and the elements whose reference names the patient. Performer-,
//! author- and recipient-like parameters also confer membership in R4; they are left out on
//! purpose, so that a record about another person that this patient merely authored is not
//! released as this patient's record (resource-server reference §1).

use serde_json::Value;

/// (resource type, the search parameter that names the patient, the elements that may
/// reference the patient). A type absent from this table and not in [`OUTSIDE`] is refused
/// under `patient/` scopes: the gateway cannot tell whose it is.
const MEMBERS: &[(&str, &str, &[&str])] = &[
    ("AllergyIntolerance", "patient", &["patient"]),
    ("CarePlan", "patient", &["subject"]),
    ("CareTeam", "patient", &["subject"]),
    ("Condition", "patient", &["subject"]),
    ("Consent", "patient", &["patient"]),
    ("Coverage", "beneficiary", &["beneficiary"]),
    ("DiagnosticReport", "subject", &["subject"]),
    ("DocumentReference", "subject", &["subject"]),
    ("Encounter", "patient", &["subject"]),
    ("ExplanationOfBenefit", "patient", &["patient"]),
    ("FamilyMemberHistory", "patient", &["patient"]),
    ("Goal", "patient", &["subject"]),
    ("Immunization", "patient", &["patient"]),
    ("MedicationAdministration", "subject", &["subject"]),
    ("MedicationDispense", "subject", &["subject"]),
    ("MedicationRequest", "subject", &["subject"]),
    ("MedicationStatement", "subject", &["subject"]),
    ("Observation", "subject", &["subject"]),
    ("Procedure", "patient", &["subject"]),
    ("Provenance", "patient", &["target"]),
    ("QuestionnaireResponse", "subject", &["subject"]),
    ("ServiceRequest", "subject", &["subject"]),
    ("Specimen", "subject", &["subject"]),
];

/// Types outside the Patient compartment that a patient-scoped app may still read: the
/// "master files" its records point at (compartmentdefinition-introduction: servers make
/// them available to compartment-limited clients).
pub const OUTSIDE: &[&str] = &[
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Medication",
    "Substance",
    "Device",
];

/// How a `patient/` scope confines a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confinement {
    /// `Patient` itself: only the patient's own record (`_id`).
    ThePatient,
    /// In the compartment: searches get this parameter; results must reference the patient.
    Member {
        parameter: &'static str,
        elements: &'static [&'static str],
    },
    /// A master-file type, not about anyone.
    Outside,
    /// Unknown to the gateway: refused under `patient/` scopes.
    Unknown,
}

pub fn confinement(resource_type: &str) -> Confinement {
    if resource_type == "Patient" {
        return Confinement::ThePatient;
    }
    if let Some((_, parameter, elements)) = MEMBERS.iter().find(|(t, _, _)| *t == resource_type) {
        return Confinement::Member {
            parameter,
            elements,
        };
    }
    if OUTSIDE.contains(&resource_type) {
        return Confinement::Outside;
    }
    Confinement::Unknown
}

/// Does a reference name `Patient/<patient>` (relative, or absolute ending so)?
fn names_patient(reference: &Value, patient: &str) -> bool {
    let Some(text) = reference["reference"].as_str() else {
        return false;
    };
    let wanted = format!("Patient/{patient}");
    text == wanted || text.ends_with(&format!("/{wanted}"))
}

/// Is `resource` about `patient`, by the compartment rule of its type? Elements may be a
/// single reference or a list of them.
pub fn is_about(resource: &Value, patient: &str) -> bool {
    let Some(resource_type) = resource["resourceType"].as_str() else {
        return false;
    };
    match confinement(resource_type) {
        Confinement::ThePatient => resource["id"].as_str() == Some(patient),
        Confinement::Member { elements, .. } => elements.iter().any(|element| {
            let value = &resource[*element];
            match value.as_array() {
                Some(list) => list.iter().any(|r| names_patient(r, patient)),
                None => names_patient(value, patient),
            }
        }),
        Confinement::Outside => true,
        Confinement::Unknown => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn membership_follows_the_subject_like_reference() {
        let own = json!({"resourceType": "Observation", "subject": {"reference": "Patient/alice"}});
        let absolute = json!({"resourceType": "Condition", "subject": {"reference": "https://fhir.example/r4/Patient/alice"}});
        let other = json!({"resourceType": "Observation", "subject": {"reference": "Patient/bob"}});
        let prefix =
            json!({"resourceType": "Observation", "subject": {"reference": "Patient/alice2"}});
        let performed = json!({"resourceType": "Observation", "subject": {"reference": "Patient/bob"}, "performer": [{"reference": "Patient/alice"}]});
        let provenance = json!({"resourceType": "Provenance", "target": [{"reference": "Observation/1"}, {"reference": "Patient/alice"}]});
        assert!(is_about(&own, "alice"));
        assert!(is_about(&absolute, "alice"));
        assert!(!is_about(&other, "alice"));
        assert!(!is_about(&prefix, "alice"));
        assert!(!is_about(&performed, "alice"), "performer is not subject");
        assert!(is_about(&provenance, "alice"));
        assert!(is_about(
            &json!({"resourceType": "Patient", "id": "alice"}),
            "alice"
        ));
        assert!(!is_about(
            &json!({"resourceType": "Patient", "id": "bob"}),
            "alice"
        ));
        assert!(is_about(
            &json!({"resourceType": "Practitioner", "id": "p"}),
            "alice"
        ));
        assert!(!is_about(
            &json!({"resourceType": "Task", "for": {"reference": "Patient/alice"}}),
            "alice"
        ));
        assert!(!is_about(
            &json!({"subject": {"reference": "Patient/alice"}}),
            "alice"
        ));
    }
}

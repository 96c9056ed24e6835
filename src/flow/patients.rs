//! The patient directory: entries made by the operator or imported from a FHIR Bundle.

use serde_json::Value;

use crate::flow::launch::is_fhir_id;
use crate::services::Services;
use crate::store::{Patient, StoreResult};

pub fn new_patient(
    id: &str,
    name: &str,
    birth_date: Option<String>,
    gender: Option<String>,
    now: i64,
) -> Result<Patient, String> {
    if !is_fhir_id(id) {
        return Err(format!(
            "{id:?} is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)"
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err("a patient needs a name of 1 to 200 characters".into());
    }
    Ok(Patient {
        id: id.to_owned(),
        name: name.to_owned(),
        birth_date,
        gender,
        created_at: now,
    })
}

/// The display name of a FHIR HumanName list: `text`, else given names and family.
fn display_name(names: &Value) -> Option<String> {
    let name = names.as_array()?.first()?;
    if let Some(text) = name["text"].as_str() {
        return Some(text.to_owned());
    }
    let mut parts: Vec<&str> = name["given"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(family) = name["family"].as_str() {
        parts.push(family);
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The Patient resources of a Bundle (other entries are skipped); a Patient without an id or
/// a name makes the whole import fail, so nothing is half-imported.
pub fn from_bundle(bundle: &Value, now: i64) -> Result<Vec<Patient>, String> {
    if bundle["resourceType"] != "Bundle" {
        return Err("expected a FHIR Bundle (resourceType Bundle)".into());
    }
    let mut patients = Vec::new();
    for (i, entry) in bundle["entry"].as_array().into_iter().flatten().enumerate() {
        let resource = &entry["resource"];
        if resource["resourceType"] != "Patient" {
            continue;
        }
        let id = resource["id"]
            .as_str()
            .ok_or(format!("entry {i}: Patient without id"))?;
        let name = display_name(&resource["name"])
            .ok_or(format!("entry {i}: Patient {id} without a name"))?;
        patients.push(new_patient(
            id,
            &name,
            resource["birthDate"].as_str().map(str::to_owned),
            resource["gender"].as_str().map(str::to_owned),
            now,
        )?);
    }
    Ok(patients)
}

/// The patient directory as the picker shows it: every patient when there are at most
/// `list_all_up_to`, else only those whose name matches `search` (none before a search).
pub struct Directory {
    pub searchable: bool,
    pub patients: Vec<Patient>,
}

pub async fn directory(
    services: &Services,
    search: &str,
    list_all_up_to: i64,
) -> StoreResult<Directory> {
    let searchable = services.store.count_patients().await? > list_all_up_to;
    let patients = if searchable && search.is_empty() {
        Vec::new()
    } else {
        services
            .store
            .search_patients(search, list_all_up_to)
            .await?
    };
    Ok(Directory {
        searchable,
        patients,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bundle_import_takes_patients_only() {
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Ana", "Maria"], "family": "Lopez"}], "birthDate": "1990-02-03"}},
            {"resource": {"resourceType": "Observation", "id": "o1"}},
            {"resource": {"resourceType": "Patient", "id": "p2", "name": [{"text": "Ben Okafor"}]}},
        ]});
        let patients = from_bundle(&bundle, 0).unwrap();
        assert_eq!(patients.len(), 2);
        assert_eq!(patients[0].name, "Ana Maria Lopez");
        assert_eq!(patients[1].name, "Ben Okafor");
        assert!(from_bundle(&json!({"resourceType": "Patient"}), 0).is_err());
        let nameless = json!({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient", "id": "x"}}]});
        assert!(from_bundle(&nameless, 0).is_err());
    }
}

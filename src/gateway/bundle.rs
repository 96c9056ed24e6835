//! Responses on their way back: every resource of a read or a Bundle decided by
//! [`Access::may_release`], upstream URLs rewritten to the public base, and the Bundle's
//! labels set to the high-water mark of what it now holds (DS4P; R4 security-labels: a Bundle
//! is as confidential as its most confidential resource).

use serde_json::{Value, json};

use super::access::Access;
use crate::labels::Confidentiality;
use crate::labels::vocab::CONFIDENTIALITY_SYSTEM;

/// Upstream and public base URLs, without trailing slashes.
pub struct Bases<'a> {
    pub upstream: &'a str,
    pub public: &'a str,
}

impl Bases<'_> {
    /// `url` on the public base, or None when it is not on the upstream base.
    pub fn public_url(&self, url: &str) -> Option<String> {
        let rest = url.strip_prefix(self.upstream)?;
        (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
            .then(|| format!("{}{rest}", self.public))
    }
}

/// Keeps the entries of a search or history Bundle that may be released, drops `total` (a
/// count of what matched upstream would tell how many were withheld; FHIR lets a server omit
/// it), keeps only the paging links on the upstream base (rewritten), and labels the Bundle
/// with the highest confidentiality of what it returns. `letter`: what the request needed
/// (`s` for a search, `r` for history); included resources need `r` or `s` on their type.
/// False when the document is not a Bundle the gateway understands (fail closed).
pub fn filter_bundle(bundle: &mut Value, access: &Access, letter: char, bases: &Bases) -> bool {
    if bundle["resourceType"] != "Bundle"
        || !matches!(bundle["type"].as_str(), Some("searchset" | "history"))
    {
        return false;
    }
    let Some(object) = bundle.as_object_mut() else {
        return false;
    };
    object.remove("total");
    let entries = match object.remove("entry") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries,
        Some(_) => return false,
    };
    let mut highest = Confidentiality::N;
    let mut kept = Vec::with_capacity(entries.len());
    for mut entry in entries {
        let included = entry["search"]["mode"] == "include";
        let released = if included {
            access.may_release(&entry["resource"], 'r')
                || access.may_release(&entry["resource"], 's')
        } else {
            // Outcome entries and deleted versions (no resource) are dropped too.
            access.may_release(&entry["resource"], letter)
        };
        if !released {
            continue;
        }
        highest = highest.max(confidentiality_of(&entry["resource"]));
        if let Some(full_url) = entry["fullUrl"].as_str() {
            match bases.public_url(full_url) {
                Some(public) => entry["fullUrl"] = json!(public),
                None => {
                    if let Some(e) = entry.as_object_mut() {
                        e.remove("fullUrl");
                    }
                }
            }
        }
        if let Some(e) = entry.as_object_mut() {
            e.remove("request");
            e.remove("response");
        }
        kept.push(entry);
    }
    if !kept.is_empty() {
        object.insert("entry".into(), Value::Array(kept));
    }
    let links: Vec<Value> = match object.remove("link") {
        Some(Value::Array(links)) => links
            .into_iter()
            .filter_map(|mut link| {
                let public = bases.public_url(link["url"].as_str()?)?;
                link["url"] = json!(public);
                Some(link)
            })
            .collect(),
        _ => Vec::new(),
    };
    if !links.is_empty() {
        object.insert("link".into(), Value::Array(links));
    }
    object.insert(
        "meta".into(),
        json!({"security": [{"system": CONFIDENTIALITY_SYSTEM, "code": highest.code()}]}),
    );
    true
}

/// A resource's highest confidentiality code (untagged: N). Only called on released
/// resources, whose codes are known.
fn confidentiality_of(resource: &Value) -> Confidentiality {
    resource["meta"]["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["system"] == CONFIDENTIALITY_SYSTEM)
        .filter_map(|c| Confidentiality::parse(c["code"].as_str()?))
        .max()
        .unwrap_or(Confidentiality::N)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::SecurityClaim;
    use crate::scope::smart::SmartScope;

    fn access() -> Access {
        Access {
            client_id: "app".into(),
            scopes: vec![SmartScope::parse("patient/Observation.rs").unwrap()],
            patient: Some("alice".into()),
            own_patient: None,
            claim: SecurityClaim {
                confidentiality: Confidentiality::R,
                sensitivity: vec!["PSY".into()],
                purpose_of_use: "PATRQT".into(),
            },
        }
    }

    fn entry(id: &str, patient: &str, labels: Value) -> Value {
        json!({
            "fullUrl": format!("http://up:8080/fhir/Observation/{id}"),
            "resource": {"resourceType": "Observation", "id": id,
                         "subject": {"reference": format!("Patient/{patient}")},
                         "meta": {"security": labels}},
            "search": {"mode": "match"},
        })
    }

    #[test]
    fn withheld_entries_go_and_nothing_tells_how_many() {
        let bases = Bases {
            upstream: "http://up:8080/fhir",
            public: "https://as.example/fhir",
        };
        let psy = json!([{"system": CONFIDENTIALITY_SYSTEM, "code": "R"}, {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]);
        let hiv = json!([{"system": CONFIDENTIALITY_SYSTEM, "code": "R"}, {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HIV"}]);
        let mut bundle = json!({
            "resourceType": "Bundle", "type": "searchset", "total": 4,
            "link": [{"relation": "next", "url": "http://up:8080/fhir/Observation?_offset=20"},
                     {"relation": "other", "url": "https://elsewhere.example/x"}],
            "entry": [entry("1", "alice", Value::Null), entry("2", "alice", psy), entry("3", "alice", hiv), entry("4", "bob", Value::Null),
                      {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}],
        });
        assert!(filter_bundle(&mut bundle, &access(), 's', &bases));
        let ids: Vec<&str> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["1", "2"]);
        assert!(bundle.get("total").is_none());
        assert_eq!(
            bundle["entry"][0]["fullUrl"],
            "https://as.example/fhir/Observation/1"
        );
        assert_eq!(bundle["link"].as_array().unwrap().len(), 1);
        assert_eq!(
            bundle["link"][0]["url"],
            "https://as.example/fhir/Observation?_offset=20"
        );
        assert_eq!(bundle["meta"]["security"][0]["code"], "R");
        let mut not_a_search = json!({"resourceType": "Bundle", "type": "document"});
        assert!(!filter_bundle(&mut not_a_search, &access(), 's', &bases));
        assert!(
            bases
                .public_url("http://up:8080/fhirx/Observation")
                .is_none()
        );
    }

    use crate::labels::vocab::ACT_CODE_SYSTEM;
    use proptest::prelude::*;

    fn any_label() -> impl Strategy<Value = Value> {
        prop_oneof![
            prop::sample::select(vec!["N", "R", "V", "L", "X"])
                .prop_map(|c| json!({"system": CONFIDENTIALITY_SYSTEM, "code": c})),
            prop::sample::select(vec!["PSY", "HIV", "ETH", "DELAU", "NOPE"])
                .prop_map(|c| json!({"system": ACT_CODE_SYSTEM, "code": c})),
            Just(json!({"system": "urn:other", "code": "x"})),
            Just(json!({"code": "R"})),
        ]
    }

    fn any_entry() -> impl Strategy<Value = Value> {
        (
            prop::sample::select(vec!["Observation", "Condition", "Practitioner", "Patient"]),
            prop::sample::select(vec!["alice", "bob"]),
            prop::collection::vec(any_label(), 0..3),
            prop::bool::ANY,
        )
            .prop_map(|(kind, patient, labels, included)| {
                json!({
                    "resource": {"resourceType": kind, "id": patient,
                                 "subject": {"reference": format!("Patient/{patient}")},
                                 "meta": {"security": labels}},
                    "search": {"mode": if included { "include" } else { "match" }},
                })
            })
    }

    proptest! {
        /// Issue 11: no Bundle the gateway answers holds a resource that the scopes or the
        /// release rule refuse.
        #[test]
        fn no_filtered_bundle_holds_a_resource_that_may_not_be_released(entries in prop::collection::vec(any_entry(), 0..12)) {
            let bases = Bases { upstream: "http://up/fhir", public: "https://as.example/fhir" };
            let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries});
            let access = access();
            prop_assert!(filter_bundle(&mut bundle, &access, 's', &bases));
            for entry in bundle["entry"].as_array().into_iter().flatten() {
                let resource = &entry["resource"];
                prop_assert!(access.may_release(resource, 's') || access.may_release(resource, 'r'));
                prop_assert!(crate::labels::release::may_release_json(&resource["meta"]["security"], &access.claim));
            }
            prop_assert!(bundle.get("total").is_none());
        }
    }
}

//! The FHIR gateway's parsers of network input: request paths and search queries from the
//! client, and upstream answers filtered before they go back. No input may panic, and no
//! filtered Bundle may hold a resource the access refuses.
#![no_main]

use clearance::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use clearance::gateway::access::Access;
use clearance::gateway::bundle::{Bases, filter_bundle};
use clearance::gateway::request::{check_search, interaction};
use clearance::labels::{Confidentiality, SecurityClaim};
use clearance::scope::smart::SmartScope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            let _ = interaction(method, text);
        }
    }
    let _ = check_search(&Params::parse(data, MAX_PROTOCOL_PARAMETERS));
    let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let access = Access {
        client_id: "app".into(),
        scopes: ["patient/*.rs", "patient/Observation.rs?category=laboratory"]
            .into_iter()
            .filter_map(SmartScope::parse)
            .collect(),
        patient: Some("alice".into()),
        own_patient: None,
        claim: SecurityClaim {
            confidentiality: Confidentiality::R,
            sensitivity: vec!["PSY".into()],
            purpose_of_use: "PATRQT".into(),
        },
    };
    let bases = Bases {
        upstream: "http://up/fhir",
        public: "https://as.example/fhir",
    };
    let _ = access.may_release(&answer, 'r');
    if filter_bundle(&mut answer, &access, 's', &bases) {
        for entry in answer["entry"].as_array().into_iter().flatten() {
            let resource = &entry["resource"];
            assert!(access.may_release(resource, 's') || access.may_release(resource, 'r'));
        }
    }
});

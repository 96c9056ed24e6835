//! `meta.security` of FHIR resources: the release rule over arbitrary label arrays.
#![no_main]

use clearance::labels::release::may_release_json;
use clearance::labels::{Confidentiality, SecurityClaim};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(resource) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let claim = SecurityClaim {
        confidentiality: Confidentiality::R,
        sensitivity: vec!["BH".into(), "SUD".into()],
        purpose_of_use: "PATRQT".into(),
    };
    let released = may_release_json(&resource["meta"]["security"], &claim);
    // Deny by default: an unparseable label array never releases.
    if !resource["meta"]["security"].is_array() && !resource["meta"]["security"].is_null() {
        assert!(!released);
    }
});

//! RFC 7591 registration metadata: every check `POST /register` makes before storing.
#![no_main]

use clearance::flow::registration::check_metadata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = check_metadata(&body, false);
        let _ = check_metadata(&body, true);
    }
});

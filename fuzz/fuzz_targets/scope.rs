//! Scope strings: RFC 6749 tokens and the SMART v1/v2 grammar, set operations on them.
#![no_main]

use clearance::scope::{self, ScopeSet, SmartScope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = ScopeSet::parse(text) {
        let _ = set.is_subset_of(&set);
        for value in set.iter() {
            let _ = scope::is_supported(value);
            let _ = scope::is_malformed_smart(value);
            if let Some(parsed) = SmartScope::parse(value) {
                let _ = parsed.to_string();
                let _ = parsed.contains(&parsed);
            }
        }
    }
});

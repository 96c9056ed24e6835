//! Client assertions and other JWTs: the unverified peek, and verification against a key set.
#![no_main]

use clearance::tokens::client_keys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = client_keys::peek(text);
    let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
    let _ = client_keys::verify(text, &jwks);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = client_keys::validate_jwks(&value);
    }
});

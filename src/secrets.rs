//! Random bearer secrets (codes, refresh tokens, client secrets, session ids), their stored
//! hashes, constant-time comparison, and the PKCE S256 check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh random 256-bit value, base64url without padding (43 characters).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random identifier for rows that are not bearer secrets (client ids, grant ids, user ids,
/// `jti`): 22 characters of `[A-Za-z0-9]`, about 131 bits. Unlike base64url it never begins
/// with `-`, so an operator can pass it to the command line (`clearance consent show ID`,
/// `--client-id ID`) without it being taken for a flag, and it needs no escaping anywhere.
pub fn random_id() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(22)
        .map(char::from)
        .collect()
}

/// SHA-256 of a high-entropy secret, base64url. High-entropy random secrets need no salt or
/// slow hash (ARCHITECTURE habit 9); passwords use argon2 instead.
pub fn hash_secret(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality of two strings (the length is not secret).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// RFC 7636 §4.2: a `code_challenge` made with S256 is BASE64URL(SHA256(verifier)) without
/// padding, which is always 43 characters of the base64url alphabet.
pub fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.1: a verifier is 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: does `verifier` match the S256 `challenge`? Malformed verifiers never match.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    constant_time_eq(&computed, challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        assert!(pkce_s256_matches(VERIFIER, CHALLENGE));
        assert!(is_valid_s256_challenge(CHALLENGE));
    }

    #[test]
    fn pkce_rejects_a_wrong_verifier_and_plain_semantics() {
        assert!(!pkce_s256_matches(&VERIFIER.replace('d', "e"), CHALLENGE));
        // The verifier equal to the challenge: what `plain` would accept.
        assert!(!pkce_s256_matches(CHALLENGE, CHALLENGE));
        assert!(!pkce_s256_matches("", CHALLENGE));
    }

    #[test]
    fn verifier_length_and_alphabet_are_checked() {
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(!is_valid_s256_challenge("short"));
        assert!(!is_valid_s256_challenge(&format!("{}=", &CHALLENGE[..42])));
    }

    #[test]
    fn ids_are_alphanumeric_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..2000).map(|_| random_id()).collect();
        assert_eq!(ids.len(), 2000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        );
    }

    #[test]
    fn random_tokens_are_256_bits_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert_ne!(hash_secret(&a), a);
        assert!(constant_time_eq(&hash_secret(&a), &hash_secret(&a)));
    }
}

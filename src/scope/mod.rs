//! Scopes as a parsed type rather than strings (RFC 6749 §3.3).
//!
//! A scope value is a space-delimited list of tokens made of `%x21 / %x23-5B / %x5D-7E`
//! (printable ASCII without space, `"` and `\`). Order is irrelevant and duplicates carry no
//! meaning, so a `ScopeSet` keeps the first occurrence of each token in request order (so a
//! response echoes what the client wrote).

pub mod smart;
pub mod wording;

use std::fmt;

pub use smart::SmartScope;

/// Scopes advertised (the server supports every one; the list is not exhaustive).
pub const SUPPORTED: &[&str] = &[
    "openid",
    "fhirUser",
    "profile",
    "email",
    "offline_access",
    "online_access",
    "launch",
    "launch/patient",
    "launch/encounter",
    "patient/*.cruds",
    "patient/*.rs",
    "patient/*.read",
    "patient/*.write",
    "patient/*.*",
    "user/*.cruds",
    "user/*.rs",
    "user/*.read",
    "user/*.write",
    "user/*.*",
    "system/*.cruds",
    "system/*.rs",
    "system/*.read",
];

/// SMART capabilities of the scopes: offline and online access, patient and user scopes,
/// in SMART v1 and v2 syntax.
pub const CAPABILITIES: [&str; 6] = [
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
];

/// Scopes Clearance understands by name. Others (SMART resource scopes, `launch/...`) are
/// recognised by their shape in [`is_fhir_scope`].
pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// SMART App Launch 2.2: a refresh token usable only while the user remains online.
pub const ONLINE_ACCESS: &str = "online_access";
pub const FHIR_USER: &str = "fhirUser";

/// The identity scopes of OpenID Connect and SMART that Clearance grants.
pub const IDENTITY_SCOPES: [&str; 6] = [
    OPENID,
    PROFILE,
    EMAIL,
    OFFLINE_ACCESS,
    ONLINE_ACCESS,
    FHIR_USER,
];

#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScopeSet(Vec<String>);

/// The most scope values a request may carry: far beyond what SMART apps ask for (a scope
/// per resource type is about 150), small enough that checks on them stay cheap.
pub const MAX_SCOPE_VALUES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidScope {
    #[error("scope contains a character RFC 6749 §3.3 does not allow")]
    Character,
    #[error("scope has more than 256 values")]
    TooMany,
}

impl ScopeSet {
    /// Parses a scope string: duplicates dropped in one pass (a set, not pairwise), at most
    /// [`MAX_SCOPE_VALUES`] distinct values.
    pub fn parse(text: &str) -> Result<ScopeSet, InvalidScope> {
        let mut tokens: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            if !token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
            {
                return Err(InvalidScope::Character);
            }
            if seen.insert(token) {
                if tokens.len() == MAX_SCOPE_VALUES {
                    return Err(InvalidScope::TooMany);
                }
                tokens.push(token.to_owned());
            }
        }
        Ok(ScopeSet(tokens))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Is every scope of `self` also in `other`?
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.iter().all(|s| other.contains(s))
    }

    /// The scopes of `self` that `keep` accepts, in order.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> ScopeSet {
        ScopeSet(self.0.iter().filter(|s| keep(s)).cloned().collect())
    }

    /// The scopes of `self` that are also in `other`.
    pub fn intersect(&self, other: &ScopeSet) -> ScopeSet {
        self.filter(|s| other.contains(s))
    }
}

/// Is this a scope Clearance can grant? The identity scopes, the launch context scopes, and
/// well-formed SMART resource scopes.
pub fn is_supported(scope: &str) -> bool {
    IDENTITY_SCOPES.contains(&scope)
        || smart::is_launch_scope(scope)
        // system/ scopes belong to backend services (client_credentials), not a user's grant.
        || SmartScope::parse(scope).is_some_and(|s| s.context != smart::Context::System)
}

/// A scope shaped like a SMART resource scope (`patient/`, `user/`, `system/`) that does not
/// parse: refused with `invalid_scope` rather than silently reinterpreted or dropped.
pub fn is_malformed_smart(scope: &str) -> bool {
    (scope.starts_with("patient/") || scope.starts_with("user/") || scope.starts_with("system/"))
        && SmartScope::parse(scope).is_none()
}

/// A scope that asks for FHIR access (resource data or launch context), for which the
/// request must name the FHIR server in `aud` (SMART App Launch §"Obtain authorization code").
pub fn is_fhir_scope(scope: &str) -> bool {
    scope == "launch"
        || scope.starts_with("launch/")
        || scope.starts_with("patient/")
        || scope.starts_with("user/")
        || scope.starts_with("system/")
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({self})")
    }
}

impl TryFrom<String> for ScopeSet {
    type Error = InvalidScope;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ScopeSet::parse(&value)
    }
}

impl From<ScopeSet> for String {
    fn from(value: ScopeSet) -> String {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deduplicates_and_keeps_order() {
        let s = ScopeSet::parse("openid  profile openid offline_access").unwrap();
        assert_eq!(s.to_string(), "openid profile offline_access");
        assert!(s.contains("profile"));
        assert!(!s.contains("email"));
    }

    #[test]
    fn refuses_characters_outside_rfc_6749() {
        assert_eq!(
            ScopeSet::parse("openid \"x\""),
            Err(InvalidScope::Character)
        );
        assert_eq!(ScopeSet::parse("a\\b"), Err(InvalidScope::Character));
        assert_eq!(ScopeSet::parse("caf\u{e9}"), Err(InvalidScope::Character));
        assert!(ScopeSet::parse("patient/Observation.rs?category=laboratory").is_ok());
    }

    #[test]
    fn too_many_values_are_refused_and_duplicates_do_not_count() {
        let many: Vec<String> = (0..=MAX_SCOPE_VALUES).map(|i| format!("s{i}")).collect();
        assert_eq!(ScopeSet::parse(&many.join(" ")), Err(InvalidScope::TooMany));
        let repeated = "openid ".repeat(100_000);
        assert_eq!(ScopeSet::parse(&repeated).unwrap().to_string(), "openid");
    }

    #[test]
    fn subset_and_intersection() {
        let all = ScopeSet::parse("openid profile offline_access").unwrap();
        let some = ScopeSet::parse("profile openid").unwrap();
        assert!(some.is_subset_of(&all));
        assert!(!all.is_subset_of(&some));
        assert_eq!(all.intersect(&some).to_string(), "openid profile");
    }

    #[test]
    fn fhir_scopes_are_recognised_by_shape() {
        assert!(is_fhir_scope("patient/*.rs"));
        assert!(is_fhir_scope("launch/patient"));
        assert!(is_fhir_scope("launch"));
        assert!(!is_fhir_scope("openid"));
        assert!(is_supported("fhirUser"));
        assert!(is_supported("patient/Observation.rs"));
        assert!(!is_supported("patient/Observation.dus"));
        assert!(is_malformed_smart("patient/Observation.dus"));
        assert!(!is_supported("admin"));
    }
}

//! Form and query parameters from the network (`application/x-www-form-urlencoded`), read
//! with bounds: at most a set number of pairs is decoded, and every check on them is linear
//! in their number (no pairwise comparison), so one request cannot stall the server.

use std::collections::HashSet;

/// Parameters an OAuth request (authorization, token, introspection, revocation, launch)
/// may carry: far more than any real client sends (about 15), far fewer than would cost.
pub const MAX_PROTOCOL_PARAMETERS: usize = 64;
/// The consent form carries one field per ticked scope and category.
pub const MAX_FORM_FIELDS: usize = 512;

/// Decoded parameters in their order, and whether more came than were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
    too_many: bool,
}

impl Params {
    /// Decodes at most `limit` pairs of `bytes`; the rest is not even looked at.
    pub fn parse(bytes: &[u8], limit: usize) -> Params {
        let mut pairs = Vec::new();
        let mut too_many = false;
        for (k, v) in url::form_urlencoded::parse(bytes) {
            if pairs.len() == limit {
                too_many = true;
                break;
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Params { pairs, too_many }
    }

    /// Did the request carry more parameters than the limit?
    pub fn too_many(&self) -> bool {
        self.too_many
    }

    /// The first value of `name`, when it is not empty (RFC 6749 §3.1: a parameter sent
    /// without a value is treated as omitted).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`, in order (checkbox groups).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first parameter name that occurs more than once (RFC 6749 §3.1, §3.2: request
    /// and response parameters must not be included more than once). One pass with a set.
    pub fn repeated(&self) -> Option<&str> {
        let mut seen = HashSet::with_capacity(self.pairs.len());
        self.pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| !seen.insert(*k))
    }

    /// Does `name` occur more than once?
    pub fn is_repeated(&self, name: &str) -> bool {
        self.all(name).nth(1).is_some()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

impl From<Vec<(String, String)>> for Params {
    fn from(pairs: Vec<(String, String)>) -> Params {
        Params {
            pairs,
            too_many: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_at_most_the_limit_and_says_so() {
        let body = "a=1&".repeat(100_000);
        let p = Params::parse(body.as_bytes(), MAX_PROTOCOL_PARAMETERS);
        assert!(p.too_many());
        assert_eq!(p.pairs().len(), MAX_PROTOCOL_PARAMETERS);
        let small = Params::parse(b"a=1&b=&c=3", MAX_PROTOCOL_PARAMETERS);
        assert!(!small.too_many());
        assert_eq!(small.get("a"), Some("1"));
        assert_eq!(small.get("b"), None, "empty counts as omitted");
        assert_eq!(small.repeated(), None);
    }

    #[test]
    fn repeated_names_are_found_in_one_pass() {
        let p = Params::parse(b"x=1&y=2&z=3&y=4", 64);
        assert_eq!(p.repeated(), Some("y"));
        assert!(p.is_repeated("y"));
        assert!(!p.is_repeated("x"));
        assert_eq!(p.all("y").collect::<Vec<_>>(), ["2", "4"]);
    }
}

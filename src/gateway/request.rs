//! What a FHIR request asks for (FHIR R4 http.html), from its method, path below the base,
//! and query. Only what the gateway enforces today is recognised; everything else is refused
//! before it reaches the upstream (fail closed).

use crate::flow::params::Params;
use crate::scope::smart::is_resource_type;

/// The FHIR interactions the gateway serves, each with the SMART scope letter it needs
/// (scopes-and-launch-context: r = read, vread, instance history; s = search).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// `GET [base]/metadata`: the CapabilityStatement, public.
    Capabilities,
    /// `GET [base]/[type]/[id]`.
    Read { resource_type: String, id: String },
    /// `GET [base]/[type]/[id]/_history/[vid]`.
    VRead {
        resource_type: String,
        id: String,
        version: String,
    },
    /// `GET [base]/[type]/[id]/_history`.
    History { resource_type: String, id: String },
    /// `GET [base]/[type]?params`.
    Search { resource_type: String },
    /// `GET [base]/Patient/[id]/[type]?params`: a search within one patient's compartment.
    CompartmentSearch {
        patient: String,
        resource_type: String,
    },
    /// `POST [base]/[type]`: a new resource, its id chosen upstream.
    Create { resource_type: String },
    /// `PUT [base]/[type]/[id]`.
    Update { resource_type: String, id: String },
    /// `DELETE [base]/[type]/[id]`.
    Delete { resource_type: String, id: String },
}

impl Interaction {
    pub fn resource_type(&self) -> Option<&str> {
        match self {
            Interaction::Capabilities => None,
            Interaction::Read { resource_type, .. }
            | Interaction::VRead { resource_type, .. }
            | Interaction::History { resource_type, .. }
            | Interaction::Search { resource_type }
            | Interaction::CompartmentSearch { resource_type, .. }
            | Interaction::Create { resource_type }
            | Interaction::Update { resource_type, .. }
            | Interaction::Delete { resource_type, .. } => Some(resource_type),
        }
    }

    /// The SMART v2 permission letter the interaction needs.
    pub fn letter(&self) -> char {
        match self {
            Interaction::Search { .. } | Interaction::CompartmentSearch { .. } => 's',
            Interaction::Create { .. } => 'c',
            Interaction::Update { .. } => 'u',
            Interaction::Delete { .. } => 'd',
            _ => 'r',
        }
    }
}

/// Why a request is refused before it goes upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A method the gateway does not pass (writes, for now): 405.
    Method,
    /// A path or query the gateway does not pass: 400 with this reason.
    Unsupported(&'static str),
}

/// A FHIR logical id (R4 datatypes: `[A-Za-z0-9\-\.]{1,64}`).
fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Parses `method` and `path` (below the base, without the leading slash).
pub fn interaction(method: &str, path: &str) -> Result<Interaction, Refused> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let typed = |t: &str| {
        is_resource_type(t)
            .then(|| t.to_owned())
            .ok_or(Refused::Unsupported("not a FHIR resource type"))
    };
    let id = |i: &str| {
        is_id(i)
            .then(|| i.to_owned())
            .ok_or(Refused::Unsupported("not a FHIR id"))
    };
    if method != "GET" {
        return match (method, segments.as_slice()) {
            ("POST", [t]) => Ok(Interaction::Create {
                resource_type: typed(t)?,
            }),
            ("PUT", [t, i]) => Ok(Interaction::Update {
                resource_type: typed(t)?,
                id: id(i)?,
            }),
            ("DELETE", [t, i]) => Ok(Interaction::Delete {
                resource_type: typed(t)?,
                id: id(i)?,
            }),
            // Patch, conditional writes, batches and operations: not through the gateway.
            _ => Err(Refused::Method),
        };
    }
    match segments.as_slice() {
        ["metadata"] => Ok(Interaction::Capabilities),
        [t] => Ok(Interaction::Search {
            resource_type: typed(t)?,
        }),
        [t, i] => Ok(Interaction::Read {
            resource_type: typed(t)?,
            id: id(i)?,
        }),
        ["Patient", i, t] if *t != "_history" => Ok(Interaction::CompartmentSearch {
            patient: id(i)?,
            resource_type: typed(t)?,
        }),
        [t, i, "_history"] => Ok(Interaction::History {
            resource_type: typed(t)?,
            id: id(i)?,
        }),
        [t, i, "_history", v] => Ok(Interaction::VRead {
            resource_type: typed(t)?,
            id: id(i)?,
            version: id(v)?,
        }),
        _ => Err(Refused::Unsupported(
            "this interaction is not available through the gateway",
        )),
    }
}

/// Search parameters that would let data or counts leak past the per-resource checks
/// (resource-server reference §5): reverse chaining, chaining, `_filter`, element subsetting
/// (the upstream may drop `meta.security`), contained searches, exact totals, and formats
/// other than JSON.
pub fn check_search(query: &Params) -> Result<(), Refused> {
    if query.too_many() {
        return Err(Refused::Unsupported("too many search parameters"));
    }
    for (name, value) in query.pairs() {
        let base = name.split(':').next().unwrap_or_default();
        let refused = match base {
            "_has" => Some("_has (reverse chaining) is not available"),
            "_filter" | "_query" => Some("_filter and _query are not available"),
            "_elements" | "_contained" | "_containedType" => {
                Some("_elements and contained searches are not available")
            }
            "_summary" if value.as_str() != "false" => Some("_summary is not available"),
            "_total" if value.as_str() != "none" => Some("_total is not available"),
            "_format" if !value.contains("json") => Some("only JSON is available"),
            _ if name.contains('.') => Some("chained search parameters are not available"),
            _ => None,
        };
        if let Some(reason) = refused {
            return Err(Refused::Unsupported(reason));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::params::MAX_PROTOCOL_PARAMETERS;

    #[test]
    fn interactions_are_recognised_and_the_rest_refused() {
        assert_eq!(
            interaction("GET", "metadata"),
            Ok(Interaction::Capabilities)
        );
        assert_eq!(
            interaction("GET", "Observation/abc-1"),
            Ok(Interaction::Read {
                resource_type: "Observation".into(),
                id: "abc-1".into()
            })
        );
        assert!(matches!(
            interaction("GET", "Observation/1/_history/2"),
            Ok(Interaction::VRead { .. })
        ));
        assert!(matches!(
            interaction("GET", "Observation"),
            Ok(Interaction::Search { .. })
        ));
        assert_eq!(
            interaction("GET", "Patient/alice/Observation"),
            Ok(Interaction::CompartmentSearch {
                patient: "alice".into(),
                resource_type: "Observation".into()
            })
        );
        assert!(matches!(
            interaction("POST", "Observation"),
            Ok(Interaction::Create { .. })
        ));
        assert!(matches!(
            interaction("PUT", "Observation/1"),
            Ok(Interaction::Update { .. })
        ));
        assert!(matches!(
            interaction("DELETE", "Observation/1"),
            Ok(Interaction::Delete { .. })
        ));
        let cases = [
            ("batch", "POST", ""),
            ("patch", "PATCH", "Observation/1"),
            ("conditional delete", "DELETE", "Observation"),
            ("operation by POST", "POST", "Patient/1/$everything"),
            ("lower-case type", "GET", "observation/1"),
            ("bad id", "GET", "Observation/a_b"),
            ("operation", "GET", "Patient/1/$everything"),
            (
                "compartment search of a non-type",
                "GET",
                "Patient/1/observation",
            ),
            ("system search", "GET", ""),
            ("dot segments", "GET", "Observation/../Patient"),
        ];
        for (label, method, path) in cases {
            assert!(interaction(method, path).is_err(), "{label}");
        }
    }

    #[test]
    fn leaky_search_parameters_are_refused() {
        let check = |q: &str| check_search(&Params::parse(q.as_bytes(), MAX_PROTOCOL_PARAMETERS));
        assert!(check("subject=Patient/1&category=laboratory&_count=10").is_ok());
        assert!(check("_include=Observation:subject&_summary=false").is_ok());
        for q in [
            "_has:Observation:subject:code=1",
            "subject.name=x",
            "subject:Patient.name=x",
            "_elements=id",
            "_summary=count",
            "_total=accurate",
            "_filter=x",
            "_format=xml",
        ] {
            assert!(check(q).is_err(), "{q}");
        }
    }
}

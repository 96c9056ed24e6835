//! The SMART App Launch scope grammar (scopes-and-launch-context):
//! `( patient | user | system ) "/" ( ResourceType | "*" ) "." permissions [ "?" param=value *( "&" param=value ) ]`
//! where permissions are v2 letters `c r u d s` (a subset, in that order) or v1 `read`,
//! `write`, `*`. v1 maps to v2 (`read` = `rs`, `write` = `cud`, `*` = `cruds`), and a scope
//! prints in the form it was written.

use std::fmt;

/// Who the access is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Patient,
    User,
    System,
}

impl Context {
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Patient => "patient",
            Context::User => "user",
            Context::System => "system",
        }
    }
}

/// The v2 permission letters as a set, in `cruds` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions {
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
    pub search: bool,
}

impl Permissions {
    pub const ALL: Permissions = Permissions {
        create: true,
        read: true,
        update: true,
        delete: true,
        search: true,
    };

    fn flags(self) -> [(char, bool); 5] {
        [
            ('c', self.create),
            ('r', self.read),
            ('u', self.update),
            ('d', self.delete),
            ('s', self.search),
        ]
    }

    /// Parses v2 letters: a non-empty subset of `cruds`, in that order, none repeated.
    pub fn parse_v2(letters: &str) -> Option<Permissions> {
        if letters.is_empty() {
            return None;
        }
        let order = "cruds";
        let mut last: Option<usize> = None;
        let mut p = Permissions::default();
        for ch in letters.chars() {
            let index = order.find(ch)?;
            if last.is_some_and(|l| index <= l) {
                return None;
            }
            last = Some(index);
            match ch {
                'c' => p.create = true,
                'r' => p.read = true,
                'u' => p.update = true,
                'd' => p.delete = true,
                _ => p.search = true,
            }
        }
        Some(p)
    }

    pub fn letters(self) -> String {
        self.flags()
            .iter()
            .filter(|(_, on)| *on)
            .map(|(c, _)| *c)
            .collect()
    }

    /// Is every permission of `other` in `self`?
    pub fn covers(self, other: Permissions) -> bool {
        self.flags()
            .iter()
            .zip(other.flags())
            .all(|((_, mine), (_, theirs))| *mine || !theirs)
    }

    pub fn is_read_only(self) -> bool {
        !self.create && !self.update && !self.delete
    }
}

/// How the permissions were written, so a scope answers in the form it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    V1,
    V2,
}

/// A parsed SMART resource scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmartScope {
    pub context: Context,
    /// A FHIR resource type, or `None` for `*`.
    pub resource_type: Option<String>,
    pub permissions: Permissions,
    pub syntax: Syntax,
    /// Granular constraints (`?category=...`), in the order written.
    pub constraints: Vec<(String, String)>,
}

impl SmartScope {
    /// Parses a resource scope; `None` when the text is not one (malformed).
    pub fn parse(text: &str) -> Option<SmartScope> {
        let (context_text, rest) = text.split_once('/')?;
        let context = match context_text {
            "patient" => Context::Patient,
            "user" => Context::User,
            "system" => Context::System,
            _ => return None,
        };
        let (body, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let (type_text, permission_text) = body.split_once('.')?;
        let resource_type = match type_text {
            "*" => None,
            t if is_resource_type(t) => Some(t.to_owned()),
            _ => return None,
        };
        let (permissions, syntax) = match permission_text {
            "read" => (
                Permissions {
                    read: true,
                    search: true,
                    ..Permissions::default()
                },
                Syntax::V1,
            ),
            "write" => (
                Permissions {
                    create: true,
                    update: true,
                    delete: true,
                    ..Permissions::default()
                },
                Syntax::V1,
            ),
            "*" => (Permissions::ALL, Syntax::V1),
            letters => (Permissions::parse_v2(letters)?, Syntax::V2),
        };
        let mut constraints = Vec::new();
        if let Some(query) = query {
            if syntax == Syntax::V1 {
                return None; // granular constraints are a v2 feature
            }
            for pair in query.split('&') {
                let (name, value) = pair.split_once('=')?;
                let name_ok = !name.is_empty()
                    && name.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.')
                    });
                if !name_ok || value.is_empty() {
                    return None;
                }
                constraints.push((name.to_owned(), value.to_owned()));
            }
        }
        Some(SmartScope {
            context,
            resource_type,
            permissions,
            syntax,
            constraints,
        })
    }

    /// Does `self` allow everything `other` asks? Same context; `*` covers every type; the
    /// permissions of `other` are a subset; every constraint of `self` also constrains
    /// `other` (an unconstrained scope covers constrained ones, not the reverse).
    pub fn contains(&self, other: &SmartScope) -> bool {
        self.context == other.context
            && (self.resource_type.is_none() || self.resource_type == other.resource_type)
            && self.permissions.covers(other.permissions)
            && self
                .constraints
                .iter()
                .all(|c| other.constraints.contains(c))
    }

    /// The same scope written in v2 form.
    pub fn as_v2(&self) -> SmartScope {
        SmartScope {
            syntax: Syntax::V2,
            ..self.clone()
        }
    }
}

impl fmt::Display for SmartScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.resource_type.as_deref().unwrap_or("*");
        let permissions = match self.syntax {
            Syntax::V2 => self.permissions.letters(),
            Syntax::V1 => match self.permissions {
                p if p == Permissions::ALL => "*".to_owned(),
                p if p.read && p.search && p.is_read_only() => "read".to_owned(),
                p if p.create && p.update && p.delete && !p.read && !p.search => "write".to_owned(),
                p => p.letters(),
            },
        };
        write!(f, "{}/{kind}.{permissions}", self.context.as_str())?;
        for (i, (name, value)) in self.constraints.iter().enumerate() {
            write!(f, "{}{name}={value}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// A FHIR resource type name: an upper-case letter, then letters.
pub fn is_resource_type(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphabetic())
        && text.len() <= 64
}

/// The `launch/...` context scopes Clearance answers.
pub fn is_launch_scope(scope: &str) -> bool {
    matches!(scope, "launch" | "launch/patient" | "launch/encounter")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(text: &str) -> SmartScope {
        SmartScope::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn v2_and_v1_forms() {
        let v2 = s("patient/Observation.rs");
        assert_eq!(
            v2.permissions,
            Permissions {
                read: true,
                search: true,
                ..Default::default()
            }
        );
        assert_eq!(v2.to_string(), "patient/Observation.rs");
        let v1 = s("patient/Observation.read");
        assert_eq!(v1.permissions, v2.permissions, "read = rs");
        assert_eq!(
            v1.to_string(),
            "patient/Observation.read",
            "answered in the form requested"
        );
        assert_eq!(v1.as_v2().to_string(), "patient/Observation.rs");
        assert_eq!(s("user/*.write").as_v2().to_string(), "user/*.cud");
        assert_eq!(s("patient/*.*").as_v2().to_string(), "patient/*.cruds");
        assert_eq!(s("system/Patient.cruds").permissions, Permissions::ALL);
    }

    #[test]
    fn malformed_scopes_are_refused() {
        for bad in [
            "patient/Observation.dus",
            "patient/Observation.rr",
            "patient/Observation.",
            "patient/.rs",
            "patient/observation.rs",
            "practitioner/Observation.rs",
            "patient/Observation",
            "patient/Observation.x",
            "patient/Observation.rs?category",
            "patient/Observation.rs?=x",
            "patient/Observation.read?category=x",
            "patient/Obs-ervation.rs",
        ] {
            assert!(SmartScope::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn granular_constraints() {
        let lab = s(
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        );
        assert_eq!(lab.constraints.len(), 1);
        assert!(s("patient/Observation.rs").contains(&lab));
        assert!(!lab.contains(&s("patient/Observation.rs")));
        assert!(s("patient/*.cruds").contains(&lab));
        assert!(!s("user/*.cruds").contains(&lab), "another context");
        assert!(
            !s("patient/Observation.r").contains(&lab),
            "search is missing"
        );
    }

    fn any_scope() -> impl Strategy<Value = SmartScope> {
        let context = prop::sample::select(vec![Context::Patient, Context::User, Context::System]);
        let kind = prop::option::of(prop::sample::select(vec![
            "Observation".to_owned(),
            "Condition".to_owned(),
            "Patient".to_owned(),
        ]));
        let perms = (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(c, r, u, d, s)| Permissions {
                create: c,
                read: r,
                update: u,
                delete: d,
                search: s,
            })
            .prop_filter("non-empty", |p| *p != Permissions::default());
        let constraints = prop::collection::vec(
            (
                prop::sample::select(vec!["category".to_owned(), "code".to_owned()]),
                prop::sample::select(vec!["a|1".to_owned(), "b|2".to_owned()]),
            ),
            0..3,
        );
        (context, kind, perms, constraints).prop_map(
            |(context, resource_type, permissions, constraints)| SmartScope {
                context,
                resource_type,
                permissions,
                syntax: Syntax::V2,
                constraints,
            },
        )
    }

    proptest! {
        #[test]
        fn print_then_parse_is_the_identity(scope in any_scope()) {
            prop_assert_eq!(SmartScope::parse(&scope.to_string()), Some(scope));
        }

        #[test]
        fn v1_forms_round_trip_too(kind in prop::sample::select(vec!["Observation", "*"]), perm in prop::sample::select(vec!["read", "write", "*"])) {
            let text = format!("patient/{kind}.{perm}");
            prop_assert_eq!(SmartScope::parse(&text).unwrap().to_string(), text);
        }

        #[test]
        fn containment_is_reflexive_and_transitive(a in any_scope(), b in any_scope(), c in any_scope()) {
            prop_assert!(a.contains(&a));
            if a.contains(&b) && b.contains(&c) {
                prop_assert!(a.contains(&c));
            }
        }

        #[test]
        fn wildcards_contain_every_type(a in any_scope()) {
            let all = SmartScope { context: a.context, resource_type: None, permissions: Permissions::ALL, syntax: Syntax::V2, constraints: vec![] };
            prop_assert!(all.contains(&a));
        }
    }
}

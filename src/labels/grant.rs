//! The `security` claim and where it comes from: the intersection of what the patient chose,
//! the ceiling the client is registered with, and (for a practitioner) the user's clearance.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::categories::Category;
use super::vocab::{self, Confidentiality};

/// The claim in access tokens, ID tokens and introspection (PRODUCT.md shape). Codes are bare
/// codes of the fixed systems named in the discovery documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityClaim {
    pub confidentiality: Confidentiality,
    /// ActCode sensitivity codes, minimal (no code covered by another) and sorted.
    pub sensitivity: Vec<String>,
    pub purpose_of_use: String,
}

/// A set of sensitivity codes, each standing for itself and its descendants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Sensitivity {
    /// No restriction (an unrestricted client, a patient's own clearance).
    All,
    Codes(BTreeSet<String>),
}

impl Sensitivity {
    pub fn codes<I: IntoIterator<Item = S>, S: Into<String>>(codes: I) -> Sensitivity {
        Sensitivity::Codes(codes.into_iter().map(Into::into).collect())
    }

    pub fn none() -> Sensitivity {
        Sensitivity::Codes(BTreeSet::new())
    }

    /// Is `code` (with its descendants) within this set?
    pub fn covers(&self, code: &str) -> bool {
        match self {
            Sensitivity::All => vocab::is_sensitivity(code),
            Sensitivity::Codes(set) => set.iter().any(|s| vocab::sensitivity_covers(s, code)),
        }
    }

    /// The codes both sets cover, minimal: `{SUD} ∩ {ETHUD, HIV} = {ETHUD}`.
    pub fn intersect(&self, other: &Sensitivity) -> Sensitivity {
        match (self, other) {
            (Sensitivity::All, x) | (x, Sensitivity::All) => x.clone().minimal(),
            (Sensitivity::Codes(a), Sensitivity::Codes(b)) => {
                let both: BTreeSet<String> = a
                    .iter()
                    .filter(|code| other.covers(code))
                    .chain(b.iter().filter(|code| self.covers(code)))
                    .cloned()
                    .collect();
                Sensitivity::Codes(both).minimal()
            }
        }
    }

    /// Drops unknown codes and codes covered by another code of the set.
    fn minimal(self) -> Sensitivity {
        match self {
            Sensitivity::All => Sensitivity::All,
            Sensitivity::Codes(set) => Sensitivity::Codes(
                set.iter()
                    .filter(|code| vocab::is_sensitivity(code))
                    .filter(|code| {
                        !set.iter()
                            .any(|other| other != *code && vocab::sensitivity_covers(other, code))
                    })
                    .cloned()
                    .collect(),
            ),
        }
    }
}

/// A limit on what a grant may carry: a client's registered ceiling or a user's clearance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceiling {
    pub confidentiality: Confidentiality,
    pub sensitivity: Sensitivity,
}

impl Ceiling {
    /// No limit at all.
    pub fn unrestricted() -> Ceiling {
        Ceiling {
            confidentiality: Confidentiality::V,
            sensitivity: Sensitivity::All,
        }
    }

    pub fn intersect(&self, other: &Ceiling) -> Ceiling {
        Ceiling {
            confidentiality: self.confidentiality.min(other.confidentiality),
            sensitivity: self.sensitivity.intersect(&other.sensitivity),
        }
    }

    /// Does this ceiling allow a category (all of its codes)?
    pub fn allows(&self, category: &Category) -> bool {
        self.confidentiality >= Confidentiality::R
            && category.codes.iter().all(|c| self.sensitivity.covers(c))
    }
}

/// What the patient chose on the consent page, as a ceiling: only normal records gives `N`
/// and no sensitivity; any sensitive category gives `R` and the codes of the chosen
/// categories. `V` is never granted from the page.
pub fn patient_choice(chosen: &[&Category]) -> Ceiling {
    if chosen.is_empty() {
        return Ceiling {
            confidentiality: Confidentiality::N,
            sensitivity: Sensitivity::none(),
        };
    }
    Ceiling {
        confidentiality: Confidentiality::R,
        sensitivity: Sensitivity::codes(chosen.iter().flat_map(|c| c.codes.iter().cloned())),
    }
}

/// The effective claim: patient choice ∩ client ceiling ∩ user clearance, with the purpose
/// of use of the user's role.
pub fn effective_claim(
    choice: &Ceiling,
    client: &Ceiling,
    user: &Ceiling,
    purpose_of_use: &str,
) -> SecurityClaim {
    let effective = choice.intersect(client).intersect(user);
    let sensitivity = match effective.sensitivity {
        // Only reachable when every part is unrestricted; the page never produces it.
        Sensitivity::All => vec![vocab::SENSITIVITY_ROOT.to_owned()],
        Sensitivity::Codes(set) => set.into_iter().collect(),
    };
    SecurityClaim {
        confidentiality: effective.confidentiality,
        sensitivity,
        purpose_of_use: purpose_of_use.to_owned(),
    }
}

impl SecurityClaim {
    /// As a ceiling, to intersect again (narrowing an existing grant).
    pub fn as_ceiling(&self) -> Ceiling {
        Ceiling {
            confidentiality: self.confidentiality,
            sensitivity: Sensitivity::codes(self.sensitivity.iter().cloned()),
        }
    }

    /// Is every resource releasable under `self` also releasable under `wider`?
    pub fn is_within(&self, wider: &SecurityClaim) -> bool {
        self.confidentiality <= wider.confidentiality
            && self.sensitivity.iter().all(|code| {
                wider
                    .sensitivity
                    .iter()
                    .any(|w| vocab::sensitivity_covers(w, code))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::categories::default_categories;
    use crate::labels::release::{Label, may_release};
    use crate::labels::vocab::{ACT_CODE_SYSTEM, CONFIDENTIALITY_SYSTEM, SENSITIVITY};
    use proptest::prelude::*;

    fn category(id: &str) -> Category {
        default_categories()
            .into_iter()
            .find(|c| c.id == id)
            .unwrap()
    }

    #[test]
    fn choice_gives_n_or_r_never_v() {
        let none = patient_choice(&[]);
        assert_eq!(none.confidentiality, Confidentiality::N);
        let mental = category("mental-health");
        let some = patient_choice(&[&mental]);
        assert_eq!(some.confidentiality, Confidentiality::R);
        let claim = effective_claim(
            &some,
            &Ceiling::unrestricted(),
            &Ceiling::unrestricted(),
            "PATRQT",
        );
        assert_eq!(claim.sensitivity, ["BH", "MH", "PSY"]);
        assert_eq!(claim.confidentiality, Confidentiality::R);
    }

    #[test]
    fn client_ceiling_and_user_clearance_narrow_the_choice() {
        let mental = category("mental-health");
        let sud = category("substance-use");
        let choice = patient_choice(&[&mental, &sud]);
        let wellness = Ceiling {
            confidentiality: Confidentiality::N,
            sensitivity: Sensitivity::none(),
        };
        let capped = effective_claim(&choice, &wellness, &Ceiling::unrestricted(), "PATRQT");
        assert_eq!(
            (capped.confidentiality, capped.sensitivity.len()),
            (Confidentiality::N, 0)
        );

        let only_alcohol = Ceiling {
            confidentiality: Confidentiality::R,
            sensitivity: Sensitivity::codes(["ETHUD"]),
        };
        let claim = effective_claim(&choice, &Ceiling::unrestricted(), &only_alcohol, "TREAT");
        assert_eq!(claim.sensitivity, ["ETHUD"], "SUD ∩ ETHUD = ETHUD");
        assert_eq!(claim.purpose_of_use, "TREAT");
        assert!(!only_alcohol.allows(&category("hiv")));
    }

    #[test]
    fn claim_serializes_in_the_product_shape() {
        let claim = SecurityClaim {
            confidentiality: Confidentiality::R,
            sensitivity: vec!["PSY".into(), "SUD".into()],
            purpose_of_use: "PATRQT".into(),
        };
        assert_eq!(
            serde_json::to_value(&claim).unwrap(),
            serde_json::json!({"confidentiality": "R", "sensitivity": ["PSY", "SUD"], "purpose_of_use": "PATRQT"})
        );
    }

    fn any_code() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(
                SENSITIVITY
                    .iter()
                    .map(|(c, _, _)| (*c).to_owned())
                    .collect::<Vec<_>>()
            ),
            Just("SUBSTANCE".to_owned()),
            Just("NOT-A-CODE".to_owned()),
        ]
    }

    fn any_confidentiality() -> impl Strategy<Value = Confidentiality> {
        prop::sample::select(Confidentiality::ALL.to_vec())
    }

    fn any_ceiling() -> impl Strategy<Value = Ceiling> {
        (
            any_confidentiality(),
            prop::option::of(prop::collection::btree_set(any_code(), 0..5)),
        )
            .prop_map(|(c, s)| Ceiling {
                confidentiality: c,
                sensitivity: s.map(Sensitivity::Codes).unwrap_or(Sensitivity::All),
            })
    }

    /// A resource's labels: maybe a confidentiality code and some sensitivity codes.
    fn any_resource() -> impl Strategy<Value = (Option<Confidentiality>, Vec<String>)> {
        (
            prop::option::of(any_confidentiality()),
            prop::collection::vec(any_code(), 0..3),
        )
    }

    fn releasable(
        resource: &(Option<Confidentiality>, Vec<String>),
        claim: &SecurityClaim,
    ) -> bool {
        let conf = resource.0.map(|c| Label {
            system: CONFIDENTIALITY_SYSTEM,
            code: c.code(),
        });
        let sens = resource.1.iter().map(|code| Label {
            system: ACT_CODE_SYSTEM,
            code,
        });
        may_release(conf.into_iter().chain(sens), claim)
    }

    proptest! {
        #[test]
        fn narrowing_a_grant_never_releases_more(choice in any_ceiling(), client in any_ceiling(), user in any_ceiling(), narrower in any_ceiling(), resource in any_resource()) {
            let wide = effective_claim(&choice, &client, &user, "PATRQT");
            let narrow = effective_claim(&choice.intersect(&narrower), &client, &user, "PATRQT");
            prop_assert!(narrow.is_within(&wide));
            if releasable(&resource, &narrow) {
                prop_assert!(releasable(&resource, &wide));
            }
        }

        #[test]
        fn the_intersection_is_within_each_part(choice in any_ceiling(), client in any_ceiling(), user in any_ceiling(), resource in any_resource()) {
            let claim = effective_claim(&choice, &client, &user, "PATRQT");
            if releasable(&resource, &claim) {
                for part in [&choice, &client, &user] {
                    let alone = effective_claim(part, &Ceiling::unrestricted(), &Ceiling::unrestricted(), "PATRQT");
                    prop_assert!(releasable(&resource, &alone));
                }
            }
        }

        #[test]
        fn every_child_code_is_covered_by_its_parent(index in 0..SENSITIVITY.len()) {
            let (child, parent, _) = SENSITIVITY[index];
            let claim = SecurityClaim { confidentiality: Confidentiality::R, sensitivity: vec![parent.to_owned()], purpose_of_use: "PATRQT".into() };
            prop_assert!(releasable(&(Some(Confidentiality::R), vec![child.to_owned()]), &claim));
        }

        /// Issue 11: `R` or `V` with no sensitivity code goes only to a claim covering every
        /// sensitivity, whatever else the claim holds.
        #[test]
        fn restricted_records_with_no_category_need_every_sensitivity(conf in any_confidentiality(), granted in prop::collection::vec(prop_oneof![any_code(), Just(crate::labels::vocab::SENSITIVITY_ROOT.to_owned())], 0..6), restricted in prop::bool::ANY) {
            let label = if restricted { Confidentiality::R } else { Confidentiality::V };
            let claim = SecurityClaim { confidentiality: conf, sensitivity: granted.clone(), purpose_of_use: "PATRQT".into() };
            let every = granted.iter().any(|c| c == crate::labels::vocab::SENSITIVITY_ROOT);
            let released = releasable(&(Some(label), Vec::new()), &claim);
            prop_assert_eq!(released, every && label <= conf);
        }

        #[test]
        fn unknown_codes_are_never_released(conf in any_confidentiality(), granted in prop::collection::vec(any_code(), 0..6)) {
            let claim = SecurityClaim { confidentiality: conf, sensitivity: granted, purpose_of_use: "PATRQT".into() };
            prop_assert!(!releasable(&(None, vec!["SUBSTANCE".to_owned()]), &claim));
            prop_assert!(!releasable(&(None, vec!["NOT-A-CODE".to_owned()]), &claim));
        }
    }
}

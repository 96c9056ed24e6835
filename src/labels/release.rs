//! The release rule: may a resource with these `meta.security` labels be released to a token
//! carrying this `security` claim? Deny by default.

use super::grant::SecurityClaim;
use super::vocab::{self, Confidentiality};

/// One `meta.security` coding: system and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<'a> {
    pub system: &'a str,
    pub code: &'a str,
}

/// Decides whether a resource labelled `labels` is releasable to a token with `claim`.
///
/// The rule (PRODUCT.md "The label model"):
/// 1. **Confidentiality**: the resource's highest v3-Confidentiality code (none = `N`) must not
///    rank above the claim's `confidentiality` (U < L < M < N < R < V).
/// 2. **Sensitivity**: every v3-ActCode sensitivity code on the resource must be covered, that
///    is equal to or a descendant of, a code in the claim's `sensitivity` (`SUD` covers `ETHUD`).
/// 3. **Deny by default**: a code Clearance does not know, in any system, withholds the
///    resource; so does a label of an unknown system or a compartment.
/// 4. **Restricted with no category**: a resource labelled `R` or `V` with no sensitivity code
///    names no kind of data the patient could have chosen, so it is released only to a claim
///    that covers every sensitivity (the root of the sensitivity hierarchy, which the
///    operator grants to clinicians and backend services and the consent page never does),
///    not to any claim that reaches `R`.
///
/// Not restricting (they travel with the data instead): ActCode handling caveats (obligations
/// such as `DELAU`, refrains such as `NOREUSE`), v3-ObservationValue integrity and provenance
/// codes, and v3-ActReason purpose-of-use codes recording why the data was collected.
pub fn may_release<'a>(labels: impl IntoIterator<Item = Label<'a>>, claim: &SecurityClaim) -> bool {
    let mut highest = Confidentiality::N;
    let mut labelled = false;
    let mut categorised = false;
    for label in labels {
        match label.system {
            vocab::CONFIDENTIALITY_SYSTEM => match Confidentiality::parse(label.code) {
                Some(c) => {
                    highest = if labelled { highest.max(c) } else { c };
                    labelled = true;
                }
                None => return false,
            },
            vocab::ACT_CODE_SYSTEM => {
                if vocab::is_sensitivity(label.code) {
                    categorised = true;
                    let covered = claim
                        .sensitivity
                        .iter()
                        .any(|granted| vocab::sensitivity_covers(granted, label.code));
                    if !covered {
                        return false;
                    }
                } else if !vocab::HANDLING_CAVEATS.contains(&label.code) {
                    return false;
                }
            }
            vocab::OBSERVATION_VALUE_SYSTEM | vocab::ACT_REASON_SYSTEM => {}
            _ => return false,
        }
    }
    if highest >= Confidentiality::R && !categorised && !covers_every_sensitivity(claim) {
        return false;
    }
    highest <= claim.confidentiality
}

/// Does the claim cover every sensitivity code (the hierarchy's root)?
fn covers_every_sensitivity(claim: &SecurityClaim) -> bool {
    claim
        .sensitivity
        .iter()
        .any(|code| code == vocab::SENSITIVITY_ROOT)
}

/// The same rule over a resource's `meta.security` JSON array (FHIR Coding objects). A
/// malformed array withholds the resource.
pub fn may_release_json(meta_security: &serde_json::Value, claim: &SecurityClaim) -> bool {
    let Some(codings) = meta_security.as_array() else {
        return meta_security.is_null() && may_release([], claim);
    };
    let mut labels = Vec::with_capacity(codings.len());
    for coding in codings {
        match (coding["system"].as_str(), coding["code"].as_str()) {
            (Some(system), Some(code)) => labels.push(Label { system, code }),
            _ => return false,
        }
    }
    may_release(labels, claim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::vocab::{ACT_CODE_SYSTEM as ACT, CONFIDENTIALITY_SYSTEM as CONF};
    use serde_json::json;

    fn claim(c: Confidentiality, sensitivity: &[&str]) -> SecurityClaim {
        SecurityClaim {
            confidentiality: c,
            sensitivity: sensitivity.iter().map(|s| (*s).to_owned()).collect(),
            purpose_of_use: "PATRQT".into(),
        }
    }

    fn l<'a>(system: &'a str, code: &'a str) -> Label<'a> {
        Label { system, code }
    }

    #[test]
    fn untagged_counts_as_normal() {
        assert!(may_release([], &claim(Confidentiality::N, &[])));
        assert!(!may_release([], &claim(Confidentiality::M, &[])));
    }

    #[test]
    fn confidentiality_rank_is_compared() {
        let normal = claim(Confidentiality::N, &[]);
        assert!(may_release([l(CONF, "N")], &normal));
        assert!(may_release([l(CONF, "L")], &normal));
        assert!(!may_release([l(CONF, "R")], &normal));
        assert!(
            !may_release([l(CONF, "N"), l(CONF, "R")], &normal),
            "the highest label counts"
        );
        let everything = claim(Confidentiality::R, &["_InformationSensitivityPolicy"]);
        assert!(may_release([l(CONF, "R")], &everything));
        assert!(!may_release(
            [l(CONF, "V")],
            &claim(Confidentiality::R, &["_InformationSensitivityPolicy"])
        ));
    }

    /// Issue 11: `R` or `V` with no sensitivity code names nothing a patient chose; only a
    /// claim that covers every sensitivity gets it, not any claim that reaches `R`.
    #[test]
    fn restricted_records_with_no_category_need_every_sensitivity() {
        let mental = claim(Confidentiality::R, &["PSY", "MH", "BH"]);
        assert!(!may_release([l(CONF, "R")], &mental));
        assert!(
            !may_release([l(CONF, "R"), l(ACT, "DELAU")], &mental),
            "a caveat is no category"
        );
        assert!(may_release([l(CONF, "R"), l(ACT, "PSY")], &mental));
        let everything = claim(Confidentiality::V, &["_InformationSensitivityPolicy"]);
        assert!(may_release([l(CONF, "R")], &everything));
        assert!(may_release([l(CONF, "V")], &everything));
        assert!(!may_release(
            [l(CONF, "V")],
            &claim(Confidentiality::V, &["PSY"])
        ));
        assert!(
            may_release([l(CONF, "M")], &mental),
            "below R a category is not needed"
        );
    }

    #[test]
    fn every_sensitivity_code_must_be_covered() {
        let mental = claim(Confidentiality::R, &["PSY", "MH", "BH"]);
        assert!(may_release([l(CONF, "R"), l(ACT, "PSY")], &mental));
        assert!(may_release([l(ACT, "COGN")], &mental), "BH covers COGN");
        assert!(!may_release(
            [l(CONF, "R"), l(ACT, "PSY"), l(ACT, "HIV")],
            &mental
        ));
        let sud = claim(Confidentiality::R, &["SUD"]);
        assert!(may_release([l(CONF, "R"), l(ACT, "ETHUD")], &sud));
        assert!(
            !may_release([l(CONF, "R"), l(ACT, "ETH")], &sud),
            "ETH is not under SUD"
        );
    }

    #[test]
    fn unknown_is_withheld_and_caveats_do_not_restrict() {
        let all = claim(Confidentiality::V, &["_InformationSensitivityPolicy"]);
        assert!(!may_release([l(ACT, "SUBSTANCE")], &all));
        assert!(!may_release([l(CONF, "X")], &all));
        assert!(!may_release(
            [l("http://example.org/local", "secret")],
            &all
        ));
        assert!(
            !may_release([l(ACT, "CTCOMPT")], &all),
            "compartments are never granted"
        );
        let normal = claim(Confidentiality::N, &[]);
        assert!(may_release([l(ACT, "DELAU"), l(ACT, "NOREUSE")], &normal));
        assert!(may_release(
            [l(vocab::OBSERVATION_VALUE_SYSTEM, "HRELIABLE")],
            &normal
        ));
    }

    #[test]
    fn json_form() {
        let claim = claim(Confidentiality::R, &["SUD"]);
        let ok = json!([{"system": CONF, "code": "R"}, {"system": ACT, "code": "OPIOIDUD", "display": "x"}]);
        assert!(may_release_json(&ok, &claim));
        assert!(may_release_json(&serde_json::Value::Null, &claim));
        assert!(!may_release_json(&json!([{"code": "R"}]), &claim));
        assert!(!may_release_json(&json!("R"), &claim));
    }
}

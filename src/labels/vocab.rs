//! The vocabularies (terminology.hl7.org), as data: confidentiality is a total order,
//! sensitivity and purpose of use are hierarchies in which a parent covers its descendants.

use serde::{Deserialize, Serialize};

pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
pub const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub const ACT_REASON_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
pub const OBSERVATION_VALUE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
/// The value set of sensitivity codes: ActCode is-a `_InformationSensitivityPolicy`.
pub const SENSITIVITY_VALUE_SET: &str =
    "http://terminology.hl7.org/ValueSet/v3-InformationSensitivityPolicy";

/// v3-Confidentiality, a total order: U < L < M < N < R < V.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Confidentiality {
    /// unrestricted
    U,
    /// low
    L,
    /// moderate
    M,
    /// normal: the default for health data, and for a resource with no confidentiality label
    N,
    /// restricted: sensitive, potentially stigmatizing data
    R,
    /// very restricted: never granted from the consent page
    V,
}

impl Confidentiality {
    pub const ALL: [Confidentiality; 6] = [
        Confidentiality::U,
        Confidentiality::L,
        Confidentiality::M,
        Confidentiality::N,
        Confidentiality::R,
        Confidentiality::V,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Confidentiality::U => "U",
            Confidentiality::L => "L",
            Confidentiality::M => "M",
            Confidentiality::N => "N",
            Confidentiality::R => "R",
            Confidentiality::V => "V",
        }
    }

    pub fn parse(code: &str) -> Option<Confidentiality> {
        Confidentiality::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn display(self) -> &'static str {
        match self {
            Confidentiality::U => "unrestricted",
            Confidentiality::L => "low",
            Confidentiality::M => "moderate",
            Confidentiality::N => "normal",
            Confidentiality::R => "restricted",
            Confidentiality::V => "very restricted",
        }
    }
}

/// The root of the sensitivity hierarchy.
pub const SENSITIVITY_ROOT: &str = "_InformationSensitivityPolicy";

/// ActCode `_InformationSensitivityPolicy` and its active descendants: (code, parent, display).
pub const SENSITIVITY: &[(&str, &str, &str)] = &[
    (
        "_ActInformationSensitivityPolicy",
        SENSITIVITY_ROOT,
        "act information sensitivity policy",
    ),
    (
        "ETH",
        "_ActInformationSensitivityPolicy",
        "substance abuse information sensitivity",
    ),
    (
        "GDIS",
        "_ActInformationSensitivityPolicy",
        "genetic disease information sensitivity",
    ),
    (
        "HIV",
        "_ActInformationSensitivityPolicy",
        "HIV/AIDS information sensitivity",
    ),
    (
        "MST",
        "_ActInformationSensitivityPolicy",
        "military sexual trauma information sensitivity",
    ),
    (
        "PREGNANT",
        "_ActInformationSensitivityPolicy",
        "pregnancy information sensitivity",
    ),
    (
        "SCA",
        "_ActInformationSensitivityPolicy",
        "sickle cell anemia information sensitivity",
    ),
    (
        "SDV",
        "_ActInformationSensitivityPolicy",
        "sexual assault, abuse, or domestic violence information sensitivity",
    ),
    (
        "SEX",
        "_ActInformationSensitivityPolicy",
        "sexuality and reproductive health information sensitivity",
    ),
    (
        "SPI",
        "_ActInformationSensitivityPolicy",
        "specially protected information sensitivity",
    ),
    ("BH", "SPI", "behavioral health information sensitivity"),
    ("COGN", "BH", "cognitive disability information sensitivity"),
    (
        "DVD",
        "BH",
        "developmental disability information sensitivity",
    ),
    (
        "EMOTDIS",
        "BH",
        "emotional disturbance information sensitivity",
    ),
    ("MH", "SPI", "mental health information sensitivity"),
    ("PSY", "SPI", "psychiatry disorder information sensitivity"),
    (
        "PSYTHPN",
        "SPI",
        "psychotherapy note information sensitivity",
    ),
    (
        "SUD",
        "SPI",
        "substance use disorder information sensitivity",
    ),
    (
        "ETHUD",
        "SUD",
        "alcohol use disorder information sensitivity",
    ),
    (
        "OPIOIDUD",
        "SUD",
        "opioid use disorder information sensitivity",
    ),
    (
        "STD",
        "_ActInformationSensitivityPolicy",
        "sexually transmitted disease information sensitivity",
    ),
    ("TBOO", "_ActInformationSensitivityPolicy", "taboo"),
    (
        "VIO",
        "_ActInformationSensitivityPolicy",
        "violence information sensitivity",
    ),
    (
        "IDS",
        "_ActInformationSensitivityPolicy",
        "identifier sensitivity",
    ),
    (
        "_EntitySensitivityPolicyType",
        SENSITIVITY_ROOT,
        "entity sensitivity policy type",
    ),
    (
        "DEMO",
        "_EntitySensitivityPolicyType",
        "all demographic information sensitivity",
    ),
    (
        "DOB",
        "_EntitySensitivityPolicyType",
        "date of birth information sensitivity",
    ),
    (
        "GENDER",
        "_EntitySensitivityPolicyType",
        "gender and sexual orientation information sensitivity",
    ),
    (
        "LIVARG",
        "_EntitySensitivityPolicyType",
        "living arrangement information sensitivity",
    ),
    (
        "MARST",
        "_EntitySensitivityPolicyType",
        "marital status information sensitivity",
    ),
    ("PATLOC", "_EntitySensitivityPolicyType", "patient location"),
    (
        "RACE",
        "_EntitySensitivityPolicyType",
        "race information sensitivity",
    ),
    (
        "REL",
        "_EntitySensitivityPolicyType",
        "religion information sensitivity",
    ),
    (
        "_RoleInformationSensitivityPolicy",
        SENSITIVITY_ROOT,
        "role information sensitivity policy",
    ),
    (
        "B",
        "_RoleInformationSensitivityPolicy",
        "business information sensitivity",
    ),
    (
        "EMPL",
        "_RoleInformationSensitivityPolicy",
        "employer information sensitivity",
    ),
    (
        "LOCIS",
        "_RoleInformationSensitivityPolicy",
        "location information sensitivity",
    ),
    (
        "SSP",
        "_RoleInformationSensitivityPolicy",
        "sensitive service provider information sensitivity",
    ),
    (
        "ADOL",
        SENSITIVITY_ROOT,
        "adolescent information sensitivity",
    ),
    ("CEL", SENSITIVITY_ROOT, "celebrity information sensitivity"),
    ("DIA", SENSITIVITY_ROOT, "diagnosis information sensitivity"),
    ("DRGIS", SENSITIVITY_ROOT, "drug information sensitivity"),
    ("EMP", SENSITIVITY_ROOT, "employee information sensitivity"),
    (
        "PDS",
        SENSITIVITY_ROOT,
        "patient default information sensitivity",
    ),
    (
        "PHY",
        SENSITIVITY_ROOT,
        "physician requested information sensitivity",
    ),
    (
        "PRS",
        SENSITIVITY_ROOT,
        "patient requested information sensitivity",
    ),
    ("VIP", SENSITIVITY_ROOT, "VIP information sensitivity"),
];

/// Is `code` in the sensitivity hierarchy (the root included)?
pub fn is_sensitivity(code: &str) -> bool {
    code == SENSITIVITY_ROOT || SENSITIVITY.iter().any(|(c, _, _)| *c == code)
}

fn sensitivity_parent(code: &str) -> Option<&'static str> {
    SENSITIVITY
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, p, _)| *p)
}

pub fn sensitivity_display(code: &str) -> Option<&'static str> {
    SENSITIVITY
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, _, d)| *d)
}

/// Does `ancestor` cover `code` (equal, or an ancestor in the hierarchy)? Unknown codes are
/// covered by nothing, not even themselves: they are never released.
pub fn sensitivity_covers(ancestor: &str, code: &str) -> bool {
    if !is_sensitivity(code) || !is_sensitivity(ancestor) {
        return false;
    }
    let mut current = Some(code);
    while let Some(c) = current {
        if c == ancestor {
            return true;
        }
        current = sensitivity_parent(c);
    }
    false
}

/// The parent -> children map of the sensitivity hierarchy, for the discovery document.
pub fn sensitivity_children(parent: &str) -> Vec<&'static str> {
    SENSITIVITY
        .iter()
        .filter(|(_, p, _)| *p == parent)
        .map(|(c, _, _)| *c)
        .collect()
}

/// v3-ActReason purposes of use Clearance issues.
pub const PATIENT_REQUESTED: &str = "PATRQT";
pub const TREATMENT: &str = "TREAT";

/// ActCode handling caveats (ObligationPolicy, RefrainPolicy): they travel with the data and
/// bind its recipient; they do not withhold a resource from a token.
pub const HANDLING_CAVEATS: &[&str] = &[
    "ANONY",
    "AOD",
    "AUDIT",
    "AUDTR",
    "CPLYPOL",
    "CPLYCC",
    "CPLYCD",
    "CPLYCUI",
    "CPLYJPP",
    "CPLYJSP",
    "CPLYOPP",
    "CPLYOSP",
    "DECLASSIFYLABEL",
    "DEID",
    "DELAU",
    "DOWNGRDLABEL",
    "DRIVLABEL",
    "ENCRYPT",
    "ENCRYPTR",
    "ENCRYPTT",
    "ENCRYPTU",
    "HUAPRV",
    "LABEL",
    "MASK",
    "MINEC",
    "PERSISTLABEL",
    "PRIVMARK",
    "CUIMark",
    "PSEUD",
    "REDACT",
    "UPGRDLABEL",
    "PROCESSINLINELABEL",
    "NOAUTH",
    "NOCOLLECT",
    "NODSCLCD",
    "NODSCLCDS",
    "NOINTEGRATE",
    "NOLIST",
    "NOMOU",
    "NOORGPOL",
    "NOPAT",
    "NOPERSISTP",
    "NORDSCLCD",
    "NORDSCLCDS",
    "NORDSCLW",
    "NORELINK",
    "NOREUSE",
    "NOVIP",
    "ORCON",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidentiality_is_a_total_order() {
        use Confidentiality::*;
        assert!(U < L && L < M && M < N && N < R && R < V);
        assert_eq!(Confidentiality::parse("R"), Some(R));
        assert_eq!(Confidentiality::parse("X"), None);
    }

    #[test]
    fn parents_cover_children_and_not_the_reverse() {
        assert!(sensitivity_covers("SUD", "ETHUD"));
        assert!(sensitivity_covers("SUD", "OPIOIDUD"));
        assert!(sensitivity_covers("BH", "COGN"));
        assert!(sensitivity_covers("SPI", "ETHUD"));
        assert!(sensitivity_covers(SENSITIVITY_ROOT, "HIV"));
        assert!(sensitivity_covers("HIV", "HIV"));
        assert!(!sensitivity_covers("ETHUD", "SUD"));
        assert!(!sensitivity_covers("PSY", "HIV"));
        assert!(
            !sensitivity_covers("SUBSTANCE", "SUBSTANCE"),
            "unknown codes are covered by nothing"
        );
    }

    #[test]
    fn every_code_has_a_known_parent() {
        for (code, parent, _) in SENSITIVITY {
            assert!(is_sensitivity(parent), "{code} has unknown parent {parent}");
            assert!(sensitivity_covers(parent, code));
        }
    }
}

//! The patient-facing sensitivity categories of the consent page: plain words mapped to
//! sensitivity codes. Configurable; these are the defaults.

use serde::{Deserialize, Serialize};

use super::vocab;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable identifier, used in forms and on the command line (`mental-health`).
    pub id: String,
    /// What the patient reads next to the checkbox ("Mental health").
    pub label: String,
    /// One line on what sharing it means.
    pub explanation: String,
    /// ActCode sensitivity codes the category stands for.
    pub codes: Vec<String>,
}

impl Category {
    /// The label inside a sentence: "mental health", but "HIV" stays as it is.
    pub fn in_sentence(&self) -> String {
        let first_word = self.label.split(' ').next().unwrap_or("");
        if first_word.len() > 1
            && first_word
                .chars()
                .all(|c| c.is_uppercase() || !c.is_alphabetic())
        {
            return self.label.clone();
        }
        let mut chars = self.label.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

/// "a", "a and b", "a, b and c".
pub fn join_in_sentence(items: &[String], last_joiner: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {last_joiner} {last}", rest.join(", ")),
    }
}

pub fn default_categories() -> Vec<Category> {
    let category = |id: &str, label: &str, explanation: &str, codes: &[&str]| Category {
        id: id.to_owned(),
        label: label.to_owned(),
        explanation: explanation.to_owned(),
        codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    };
    vec![
        category(
            "mental-health",
            "Mental health",
            "Diagnoses, treatment and notes about mental or behavioral health.",
            &["BH", "MH", "PSY"],
        ),
        category(
            "substance-use",
            "Substance use",
            "Records about alcohol or drug use and its treatment.",
            &["ETH", "SUD"],
        ),
        category(
            "hiv",
            "HIV",
            "HIV tests, diagnoses and treatment.",
            &["HIV"],
        ),
        category(
            "sexual-reproductive-health",
            "Sexual and reproductive health",
            "Sexual health, sexually transmitted infections and reproductive care.",
            &["SEX", "STD"],
        ),
        category(
            "genetic",
            "Genetic information",
            "Genetic tests and inherited conditions.",
            &["GDIS"],
        ),
        category(
            "abuse-violence",
            "Abuse and violence",
            "Records about abuse, sexual assault or domestic violence.",
            &["SDV", "VIO"],
        ),
    ]
}

/// Checks a configured category list: unique ids, known codes.
pub fn validate(categories: &[Category]) -> Result<(), String> {
    for (i, c) in categories.iter().enumerate() {
        if c.id.is_empty()
            || !c
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "category id {:?} must be lowercase letters, digits and dashes",
                c.id
            ));
        }
        if categories[..i].iter().any(|o| o.id == c.id) {
            return Err(format!("category id {:?} is repeated", c.id));
        }
        if c.codes.is_empty() {
            return Err(format!("category {:?} has no codes", c.id));
        }
        // The root stands for every sensitivity, which is the operator's to grant (to
        // clinicians and backend services), never a patient's choice on the consent page.
        if c.codes.iter().any(|code| code == vocab::SENSITIVITY_ROOT) {
            return Err(format!(
                "category {:?} may not grant {:?} (every sensitivity)",
                c.id,
                vocab::SENSITIVITY_ROOT
            ));
        }
        if let Some(bad) = c.codes.iter().find(|code| !vocab::is_sensitivity(code)) {
            return Err(format!(
                "category {:?}: {bad:?} is not a v3-ActCode sensitivity code",
                c.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_cover_the_product_set() {
        let defaults = default_categories();
        validate(&defaults).unwrap();
        let labels: Vec<&str> = defaults.iter().map(|c| c.label.as_str()).collect();
        for wanted in [
            "Mental health",
            "Substance use",
            "HIV",
            "Sexual and reproductive health",
            "Genetic information",
            "Abuse and violence",
        ] {
            assert!(labels.contains(&wanted), "{wanted}");
        }
    }

    #[test]
    fn labels_read_well_inside_a_sentence() {
        let defaults = default_categories();
        let words: Vec<String> = defaults.iter().map(Category::in_sentence).collect();
        assert_eq!(words[0], "mental health");
        assert_eq!(words[2], "HIV");
        assert_eq!(
            join_in_sentence(&words[..3], "or"),
            "mental health, substance use or HIV"
        );
        assert_eq!(join_in_sentence(&words[..1], "and"), "mental health");
    }

    #[test]
    fn unknown_codes_and_repeated_ids_are_refused() {
        let mut bad = default_categories();
        bad[0].codes.push("SUBSTANCE".into());
        assert!(validate(&bad).is_err());
        let mut twice = default_categories();
        twice[1].id = twice[0].id.clone();
        assert!(validate(&twice).is_err());
    }
}

//! What a consent decision grants: the scopes ticked, and the `security` claim that follows
//! from the sensitivity categories chosen, narrowed by the client's ceiling and the user's
//! clearance (PRODUCT.md "The label model").

use crate::config::Config;
use crate::labels::grant::{effective_claim, patient_choice};
use crate::labels::{Category, SecurityClaim};
use std::collections::HashSet;

use crate::scope::wording::granular_alternatives;
use crate::scope::{ScopeSet, SmartScope};
use crate::store::{Client, User};

/// A decision ready to be recorded in a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub scope: ScopeSet,
    /// Ids of the categories chosen and offered.
    pub categories: Vec<String>,
    pub security: SecurityClaim,
}

/// The categories the consent page offers (the client's ceiling and the user's clearance
/// allow every code of them) and those it cannot, in configured order.
pub fn offered_categories<'c>(
    config: &'c Config,
    client: &Client,
    user: &User,
) -> (Vec<&'c Category>, Vec<&'c Category>) {
    let limit = client.ceiling().intersect(&user.clearance());
    config.categories.iter().partition(|c| limit.allows(c))
}

/// The decision for `scope` and the chosen category ids. Ids that are unknown or not offered
/// are dropped: a form cannot add what the page did not offer.
pub fn decide(
    config: &Config,
    client: &Client,
    user: &User,
    scope: ScopeSet,
    chosen_ids: &[String],
) -> Decision {
    let (offered, _) = offered_categories(config, client, user);
    let chosen: Vec<&Category> = offered
        .into_iter()
        .filter(|c| chosen_ids.contains(&c.id))
        .collect();
    let security = effective_claim(
        &patient_choice(&chosen),
        &client.ceiling(),
        &user.clearance(),
        user.purpose_of_use(),
    );
    Decision {
        scope,
        categories: chosen.iter().map(|c| c.id.clone()).collect(),
        security,
    }
}

/// What the consent form grants: exactly the requested scopes that were ticked, plus the
/// category-level scopes ticked in place of an unticked resource-level one (the page offers
/// them as alternatives). A form cannot add anything else. Linear in the form's size.
pub fn granted_by_form<'a>(
    requested: &ScopeSet,
    ticked: impl Iterator<Item = &'a str>,
    granular: impl Iterator<Item = &'a str>,
) -> ScopeSet {
    let ticked: HashSet<&str> = ticked.collect();
    let mut granted: Vec<String> = requested
        .iter()
        .filter(|s| ticked.contains(s))
        .map(str::to_owned)
        .collect();
    let offered: HashSet<String> = requested
        .iter()
        .filter(|s| !ticked.contains(s))
        .filter_map(SmartScope::parse)
        .flat_map(|s| granular_alternatives(&s).into_iter().map(|(alt, _)| alt))
        .collect();
    let mut added = HashSet::new();
    for value in granular {
        if offered.contains(value) && added.insert(value) && !ticked.contains(value) {
            granted.push(value.to_owned());
        }
    }
    ScopeSet::parse(&granted.join(" ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_grants_only_what_was_asked_and_ticked_or_offered_instead() {
        let requested =
            ScopeSet::parse("openid patient/Observation.rs patient/Condition.rs").unwrap();
        let lab = granular_alternatives(&SmartScope::parse("patient/Observation.rs").unwrap())
            .remove(0)
            .0;
        let granted = granted_by_form(
            &requested,
            ["openid", "patient/Condition.rs", "patient/Patient.rs"].into_iter(),
            [lab.as_str(), "system/*.cruds"].into_iter(),
        );
        assert!(
            granted.contains(&lab),
            "offered instead of the unticked scope"
        );
        assert!(granted.contains("openid"));
        assert!(granted.contains("patient/Condition.rs"));
        assert!(!granted.contains("patient/Patient.rs"), "not requested");
        assert!(!granted.contains("system/*.cruds"), "not offered");
        assert!(!granted.contains("patient/Observation.rs"), "unticked");
    }
}

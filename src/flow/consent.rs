//! What a consent decision grants: the scopes ticked, and the `security` claim that follows
//! from the sensitivity categories chosen, narrowed by the client's ceiling and the user's
//! clearance (PRODUCT.md "The label model").

use crate::config::Config;
use crate::labels::grant::{effective_claim, patient_choice};
use crate::labels::{Category, SecurityClaim};
use crate::scope::ScopeSet;
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

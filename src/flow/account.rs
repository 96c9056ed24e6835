//! The patient's view of their grants: which apps may see what, revoking an app, narrowing
//! the labels an app was given. Labels only ever narrow here.

use crate::flow::consent;
use crate::labels::grant::effective_claim;
use crate::labels::{Ceiling, SecurityClaim};
use crate::scope::ScopeSet;
use crate::services::Services;
use crate::store::{Client, Grant, StoreResult, User};

/// One app the user has allowed, with its newest active grant.
#[derive(Debug)]
pub struct AppAccess {
    pub client: Client,
    pub grant: Grant,
}

/// The apps with at least one active grant (newest grant per app), and every grant for the
/// history, newest first.
pub async fn apps_of_user(
    services: &Services,
    user_id: &str,
) -> StoreResult<(Vec<AppAccess>, Vec<Grant>)> {
    let grants = services.store.grants_of_user(user_id).await?;
    let mut apps: Vec<AppAccess> = Vec::new();
    for grant in grants.iter().filter(|g| g.revoked_at.is_none()) {
        if apps.iter().any(|a| a.client.client_id == grant.client_id) {
            continue;
        }
        if let Some(client) = services.store.client_by_id(&grant.client_id).await? {
            apps.push(AppAccess {
                client,
                grant: grant.clone(),
            });
        }
    }
    Ok((apps, grants))
}

/// Ends every grant of the user for the app, with all its refresh tokens, at once.
pub async fn revoke(services: &Services, user_id: &str, client_id: &str) -> StoreResult<u64> {
    let revoked = services
        .store
        .revoke_client_grants(user_id, client_id, services.now())
        .await?;
    tracing::info!(target: "audit", event = "grant_revoked_by_user", user_id, client_id, grants = revoked);
    Ok(revoked)
}

/// Keeps only the categories in `keep` for every active grant of the app. Each grant's new
/// claim is intersected with its old one, so no grant can widen.
pub async fn narrow(
    services: &Services,
    user: &User,
    client_id: &str,
    keep: &[String],
) -> StoreResult<bool> {
    let Some(client) = services.store.client_by_id(client_id).await? else {
        return Ok(false);
    };
    let grants = services.store.grants_of_user(&user.id).await?;
    let mut narrowed = false;
    let mut remembered: Option<Vec<String>> = None;
    for grant in grants
        .iter()
        .filter(|g| g.revoked_at.is_none() && g.client_id == client_id)
    {
        let kept: Vec<String> = grant
            .category_ids()
            .into_iter()
            .filter(|id| keep.contains(id))
            .collect();
        let scope = ScopeSet::parse(&grant.scope).unwrap_or_default();
        let decided = consent::decide(&services.config, &client, user, scope, &kept);
        let old = grant.security();
        let security = within(&decided.security, &old);
        let security_json = serde_json::to_string(&security).unwrap_or_default();
        let categories_json =
            serde_json::to_string(&decided.categories).unwrap_or_else(|_| "[]".into());
        services
            .store
            .narrow_grant(&grant.id, &security_json, &categories_json)
            .await?;
        remembered.get_or_insert(decided.categories);
        narrowed = true;
    }
    if let Some(categories) = remembered {
        let json = serde_json::to_string(&categories).unwrap_or_else(|_| "[]".into());
        services
            .store
            .set_consent_categories(&user.id, client_id, &json, services.now())
            .await?;
        tracing::info!(target: "audit", event = "grant_narrowed_by_user", user_id = %user.id, client_id, categories = ?categories);
    }
    Ok(narrowed)
}

/// `new` limited to what `old` allowed.
fn within(new: &SecurityClaim, old: &SecurityClaim) -> SecurityClaim {
    let limit = new.as_ceiling().intersect(&old.as_ceiling());
    effective_claim(
        &limit,
        &Ceiling::unrestricted(),
        &Ceiling::unrestricted(),
        &old.purpose_of_use,
    )
}

/// A date and time in plain words (UTC), for pages.
pub fn when(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => unix.to_string(),
    }
}

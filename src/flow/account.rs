//! The patient's view of their grants: which apps may see what, revoking an app, narrowing
//! the labels an app was given. Labels only ever narrow here.

use std::collections::HashMap;

use crate::flow::audit::{self, Event, Kind};
use crate::flow::consent;
use crate::flow::consent_export::consent_resource;
use crate::labels::grant::effective_claim;
use crate::labels::{Ceiling, SecurityClaim};
use crate::services::Services;
use crate::store::{Client, Grant, StoreResult, StringList, User};

/// One app the user has allowed, with its newest active grant.
#[derive(Debug)]
pub struct AppAccess {
    pub client: Client,
    pub grant: Grant,
}

/// The apps with at least one active grant (newest grant per app).
pub async fn apps_of_user(services: &Services, user_id: &str) -> StoreResult<Vec<AppAccess>> {
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
    Ok(apps)
}

/// How many events the account page's access history shows.
pub const HISTORY_LENGTH: i64 = 50;

/// One line of the access history: when, and what happened in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub when: String,
    pub what: String,
}

/// The user's access history from the audit trail, newest first, in plain words. Events that
/// mean nothing to a patient (a code handed over between two steps) are left out.
pub async fn history_of_user(services: &Services, user_id: &str) -> StoreResult<Vec<HistoryLine>> {
    let events = services
        .store
        .audit_events(Some(user_id), HISTORY_LENGTH)
        .await?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut lines = Vec::new();
    for event in &events {
        let Some(kind) = Kind::parse(&event.event) else {
            continue;
        };
        let app = match &event.client_id {
            Some(id) => {
                if !names.contains_key(id) {
                    let name = services
                        .store
                        .client_by_id(id)
                        .await?
                        .map(|c| c.name)
                        .unwrap_or_else(|| "An app that no longer exists".to_owned());
                    names.insert(id.clone(), name);
                }
                names[id].clone()
            }
            None => "An app".to_owned(),
        };
        if let Some(what) = history_sentence(kind, &app, &event.detail) {
            lines.push(HistoryLine {
                when: when(event.at),
                what,
            });
        }
    }
    Ok(lines)
}

/// What an audit event means to the person it concerns, or `None` when it means nothing.
pub fn history_sentence(kind: Kind, app: &str, detail: &str) -> Option<String> {
    Some(match kind {
        Kind::SignIn => "You signed in.".to_owned(),
        Kind::SignInFailed => "Someone tried to sign in as you with a wrong password.".to_owned(),
        Kind::SignInThrottled => {
            "Signing in as you was paused for a while after repeated wrong passwords.".to_owned()
        }
        Kind::SignOut => "You signed out.".to_owned(),
        Kind::ConsentGiven => format!("You allowed {app} to see your record."),
        Kind::ConsentDenied => format!("You said no to {app}."),
        Kind::PatientPicked => format!("You chose {detail} for an app."),
        Kind::TokensIssued => format!("{app} received access to your record."),
        Kind::Refreshed => format!("{app} renewed its access."),
        Kind::CodeReused | Kind::RefreshTokenReused => {
            format!("Access for {app} was ended to protect you: a one-time pass was used twice.")
        }
        Kind::TokenRevoked => format!("{app} gave up its access."),
        Kind::GrantRevokedByUser => format!("You ended access for {app}."),
        Kind::GrantNarrowedByUser => format!("You shared less with {app}."),
        Kind::AuthorizationRefused
        | Kind::CodeIssued
        | Kind::TokenRefused
        | Kind::BackendTokenIssued
        | Kind::LaunchIssued
        | Kind::ClientRegistered
        | Kind::ClientDeleted
        | Kind::ClientAuthFailed
        | Kind::AssertionReplayed => return None,
    })
}

/// Ends every grant of the user for the app, with all its refresh tokens, at once.
pub async fn revoke(services: &Services, user_id: &str, client_id: &str) -> StoreResult<u64> {
    let revoked = services
        .store
        .revoke_client_grants(user_id, client_id, services.now())
        .await?;
    audit::record(
        services,
        Event::new(Kind::GrantRevokedByUser)
            .user(user_id)
            .client(client_id)
            .detail(format!("{revoked} grant(s)")),
    )
    .await;
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
            .iter()
            .filter(|id| keep.contains(id))
            .cloned()
            .collect();
        let decided = consent::decide(&services.config, &client, user, grant.scope.clone(), &kept);
        let security = within(&decided.security, &grant.security);
        let categories: StringList = decided.categories.iter().cloned().collect();
        services
            .store
            .narrow_grant(&grant.id, &security, &categories)
            .await?;
        remembered.get_or_insert(decided.categories);
        narrowed = true;
    }
    if let Some(categories) = remembered {
        services
            .store
            .set_consent_categories(
                &user.id,
                client_id,
                &categories.iter().cloned().collect(),
                services.now(),
            )
            .await?;
        audit::record(
            services,
            Event::new(Kind::GrantNarrowedByUser)
                .user(&user.id)
                .client(client_id)
                .detail(format!("categories: {}", categories.join(" "))),
        )
        .await;
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

/// One of the user's own grants as a FHIR `Consent` resource; None when the grant is not
/// theirs (or does not exist).
pub async fn consent_export(
    services: &Services,
    user: &User,
    grant_id: &str,
) -> StoreResult<Option<serde_json::Value>> {
    let Some(grant) = services
        .store
        .grant(grant_id)
        .await?
        .filter(|g| g.user_id == user.id)
    else {
        return Ok(None);
    };
    let Some(client) = services.store.client_by_id(&grant.client_id).await? else {
        return Ok(None);
    };
    Ok(Some(consent_resource(
        &services.config,
        &grant,
        user,
        &client,
    )))
}

//! RFC 6749 §6 with RFC 9700 §4.14.2: refresh tokens rotate on every use, a reused one
//! revokes the whole grant, and a refresh never widens scope.

use super::TokenRequest;
use super::issue::{TokenResponse, grant_scope, issue_tokens, refresh_allowed_now};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::error::{ErrorCode, OAuthError};
use crate::scope::ScopeSet;
use crate::secrets;
use crate::services::Services;
use crate::store::{Client, Redemption};

pub async fn exchange(
    services: &Services,
    client: &Client,
    request: &TokenRequest<'_>,
) -> Result<TokenResponse, OAuthError> {
    let presented = request
        .param("refresh_token")
        .ok_or(OAuthError::invalid_request("refresh_token is required"))?;
    let token_hash = secrets::hash_secret(presented);
    let now = services.now();

    // Check the request against the grant before spending the token, so that a request with
    // a bad `scope` leaves the client's token usable.
    let peeked = services
        .store
        .refresh_token(&token_hash)
        .await?
        .filter(|t| t.client_id == client.client_id)
        .ok_or(OAuthError::invalid_grant("the refresh token is invalid"))?;
    let grant = services
        .store
        .grant(&peeked.grant_id)
        .await?
        .ok_or(OAuthError::invalid_grant("the refresh token is invalid"))?;
    let granted = grant_scope(&grant)?;
    let scope = match request.param("scope") {
        None => granted.clone(),
        Some(text) => {
            let asked = ScopeSet::parse(text)
                .map_err(|_| OAuthError::new(ErrorCode::InvalidScope, "scope is malformed"))?;
            if !asked.is_subset_of(&granted) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "scope exceeds what was originally granted",
                ));
            }
            asked
        }
    };

    match services
        .store
        .redeem_refresh_token(&token_hash, &client.client_id, now)
        .await?
    {
        Redemption::Fresh(token) => {
            if token.expires_at <= now {
                return Err(OAuthError::invalid_grant("the refresh token has expired"));
            }
        }
        Redemption::Reused { grant_id } => {
            services.store.revoke_grant(&grant_id, now).await?;
            audit::record(
                services,
                Event::new(Kind::RefreshTokenReused)
                    .user(&grant.user_id)
                    .client(&client.client_id)
                    .grant(&grant_id),
            )
            .await;
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used",
            ));
        }
        Redemption::OtherClient | Redemption::Unknown => {
            return Err(OAuthError::invalid_grant("the refresh token is invalid"));
        }
    }
    if grant.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the authorization was revoked"));
    }
    // Checked after the token is spent, so that the reuse rule above always applies first; a
    // sign-in that has ended never comes back, so the spent token is no loss.
    if !refresh_allowed_now(services, &grant, now).await? {
        return Err(OAuthError::invalid_grant(
            "online_access: the user is no longer signed in",
        ));
    }
    let response = issue_tokens(services, client, &grant, &scope, None).await?;
    audit::record(
        services,
        Event::new(Kind::Refreshed)
            .user(&grant.user_id)
            .client(&client.client_id)
            .grant(&grant.id)
            .detail(response.scope.as_str()),
    )
    .await;
    Ok(response)
}

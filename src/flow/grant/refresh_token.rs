//! RFC 6749 §6 with RFC 9700 §4.14.2: refresh tokens rotate on every use, a reused one
//! revokes the whole grant, and a refresh never widens scope. The request is checked before
//! the token is spent, and the token is spent in the transaction that records its successor,
//! so a failure leaves the client's token usable instead of turning its retry into a "reuse".

use super::TokenRequest;
use super::issue::{TokenResponse, mint_tokens, refresh_allowed_now};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::error::{ErrorCode, OAuthError};
use crate::scope::ScopeSet;
use crate::secrets;
use crate::services::Services;
use crate::store::{Client, Grant, Redemption};

/// A refresh request that carries no client credentials: its client is the refresh token's,
/// if that client is public (SMART App Launch 2.2: public apps need not authenticate on
/// refresh). A confidential client must authenticate.
pub async fn public_client_of(
    services: &Services,
    request: &TokenRequest<'_>,
) -> Result<Client, OAuthError> {
    let presented = request
        .param("refresh_token")
        .ok_or(OAuthError::invalid_request("refresh_token is required"))?;
    let token = services
        .store
        .refresh_token(&secrets::hash_secret(presented))
        .await?
        .ok_or(OAuthError::invalid_grant("the refresh token is invalid"))?;
    match services.store.client_by_id(&token.client_id).await? {
        Some(client) if client.is_public() => Ok(client),
        _ => Err(OAuthError::invalid_client(
            "client authentication is required",
        )),
    }
}

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
    if peeked.used_at.is_some() {
        return Err(reused(services, client, &grant, now).await?);
    }
    if peeked.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    if grant.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the authorization was revoked"));
    }
    if !refresh_allowed_now(services, &grant, now).await? {
        return Err(OAuthError::invalid_grant(
            "online_access: the user is no longer signed in",
        ));
    }
    let granted = grant.scope.clone();
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

    let (response, issued) = mint_tokens(services, client, &grant, &scope, None).await?;
    match services
        .store
        .redeem_refresh_token(&token_hash, &client.client_id, now, &issued)
        .await?
    {
        Redemption::Fresh(_) => {}
        // Spent by a concurrent request between the check and now: a replay.
        Redemption::Reused { .. } => return Err(reused(services, client, &grant, now).await?),
        Redemption::OtherClient | Redemption::Unknown => {
            return Err(OAuthError::invalid_grant("the refresh token is invalid"));
        }
    }
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

/// RFC 9700 §4.14.2: a refresh token used twice revokes the whole grant.
async fn reused(
    services: &Services,
    client: &Client,
    grant: &Grant,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    services.store.revoke_grant(&grant.id, now).await?;
    audit::record(
        services,
        Event::new(Kind::RefreshTokenReused)
            .user(&grant.user_id)
            .client(&client.client_id)
            .grant(&grant.id),
    )
    .await;
    Ok(OAuthError::invalid_grant(
        "the refresh token was already used",
    ))
}

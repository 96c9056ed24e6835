//! RFC 6749 §4.1.3 with RFC 7636 §4.5-4.6: a code for tokens. Everything that can fail is
//! checked before the code is spent (a client bug does not burn a good code), and the code is
//! spent in the same transaction that records the tokens it buys (a failed write leaves it
//! unspent, so the client's retry is not taken for a replay).

use super::TokenRequest;
use super::issue::{TokenResponse, mint_tokens};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::error::OAuthError;
use crate::secrets;
use crate::services::Services;
use crate::store::{Client, Redemption};

pub async fn exchange(
    services: &Services,
    client: &Client,
    request: &TokenRequest<'_>,
) -> Result<TokenResponse, OAuthError> {
    let code = request
        .param("code")
        .ok_or(OAuthError::invalid_request("code is required"))?;
    let redirect_uri = request
        .param("redirect_uri")
        .ok_or(OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = request
        .param("code_verifier")
        .ok_or(OAuthError::invalid_request(
            "code_verifier is required (PKCE)",
        ))?;
    if !secrets::is_valid_verifier(verifier) {
        return Err(OAuthError::invalid_request(
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)",
        ));
    }

    let now = services.now();
    let code_hash = secrets::hash_secret(code);
    let Some(stored) = services.store.code(&code_hash).await? else {
        return Err(OAuthError::invalid_grant("the code is invalid"));
    };
    if stored.consumed_at.is_some() {
        return Err(replayed(services, client, &stored.grant_id, now).await?);
    }
    if stored.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("the code is invalid"));
    }
    if stored.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if stored.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !secrets::pkce_s256_matches(verifier, &stored.code_challenge) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    // A grant revoked before this redemption refuses it. A revocation at the same moment or
    // later comes from a concurrent replay of this very code: the redemption that spent the code
    // first still succeeds (exactly one does), and the replay has already ended its tokens.
    let grant = services
        .store
        .grant(&stored.grant_id)
        .await?
        .filter(|g| g.revoked_at.is_none_or(|revoked| revoked >= now))
        .ok_or(OAuthError::invalid_grant("the authorization was revoked"))?;
    let scope = grant.scope.clone();
    let (response, issued) =
        mint_tokens(services, client, &grant, &scope, stored.nonce.as_deref()).await?;
    match services
        .store
        .redeem_code(&code_hash, &client.client_id, now, &issued)
        .await?
    {
        Redemption::Fresh(_) => {}
        // Spent by a concurrent request between the check and now: a replay.
        Redemption::Reused { grant_id } => {
            return Err(replayed(services, client, &grant_id, now).await?);
        }
        Redemption::OtherClient | Redemption::Unknown => {
            return Err(OAuthError::invalid_grant("the code is invalid"));
        }
    }
    audit::record(
        services,
        Event::new(Kind::TokensIssued)
            .user(&grant.user_id)
            .client(&client.client_id)
            .grant(&grant.id)
            .detail(response.scope.as_str()),
    )
    .await;
    Ok(response)
}

/// RFC 6749 §4.1.2: a code used twice revokes what it produced.
async fn replayed(
    services: &Services,
    client: &Client,
    grant_id: &str,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    services.store.revoke_grant(grant_id, now).await?;
    let user_id = services
        .store
        .grant(grant_id)
        .await?
        .map(|g| g.user_id)
        .unwrap_or_default();
    audit::record(
        services,
        Event::new(Kind::CodeReused)
            .user(&user_id)
            .client(&client.client_id)
            .grant(grant_id),
    )
    .await;
    Ok(OAuthError::invalid_grant("the code was already used"))
}

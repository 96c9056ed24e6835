//! The authorization response (RFC 6749 §4.1.2, §4.1.2.1): the end of an authorization
//! request, either the grant and its single-use code, or the error sent back to the client.

use crate::flow::audit::{self, Event, Kind};
use crate::flow::authorize::{ErrorRedirect, redirect_url};
use crate::flow::consent::Decision;
use crate::flow::error::OAuthError;
use crate::flow::interaction::{Pending, Ready};
use crate::secrets;
use crate::services::Services;
use crate::store::{AuthorizationCode, Consent, Grant, StoreResult, StringList};

/// Records the grant and its code, remembers the consent, ends the pending request, and
/// returns the URL that carries the code back to the client.
pub async fn issue_code(
    services: &Services,
    pending: &Pending,
    ready: &Ready,
    decision: &Decision,
    remember: bool,
) -> StoreResult<String> {
    let (request_id, request) = (pending.id.as_str(), &pending.request);
    let (signed_in, context) = (&ready.signed_in, &ready.context);
    let now = services.now();
    let (user_id, auth_time) = (signed_in.user_id.as_str(), signed_in.auth_time);
    let granted = &decision.scope;
    let categories: StringList = decision.categories.iter().cloned().collect();
    let security = decision.security.clone();
    if remember {
        services
            .store
            .upsert_consent(&Consent {
                user_id: user_id.to_owned(),
                client_id: request.client_id.clone(),
                patient: ready.patient_key().to_owned(),
                scope: granted.clone(),
                updated_at: now,
                categories: categories.clone(),
                denied_at: None,
            })
            .await?;
    }
    let grant = Grant {
        id: secrets::random_id(),
        user_id: user_id.to_owned(),
        client_id: request.client_id.clone(),
        scope: granted.clone(),
        audience: request.audience.clone(),
        auth_time,
        created_at: now,
        revoked_at: None,
        security,
        categories,
        patient: context.patient.clone(),
        encounter: context.encounter.clone(),
        fhir_context: serde_json::to_string(&context.fhir_context).unwrap_or_else(|_| "[]".into()),
        need_patient_banner: context.need_patient_banner,
        intent: context.intent.clone(),
        sign_in_id: Some(signed_in.sign_in_id.clone()).filter(|id| !id.is_empty()),
    };
    let code = secrets::random_token();
    let row = AuthorizationCode {
        code_hash: secrets::hash_secret(&code),
        grant_id: grant.id.clone(),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        expires_at: now + services.config.code_ttl,
        consumed_at: None,
    };
    services.store.insert_grant_with_code(&grant, &row).await?;
    services
        .store
        .delete_authorization_request(request_id)
        .await?;
    audit::record(
        services,
        Event::new(Kind::CodeIssued)
            .user(user_id)
            .client(&request.client_id)
            .grant(&grant.id)
            .detail(granted.to_string()),
    )
    .await;

    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    Ok(redirect_url(
        &request.redirect_uri,
        &services.config.issuer,
        &params,
    ))
}

/// The user refused (or the request cannot be completed): the error goes back to the client.
pub async fn refuse(
    services: &Services,
    pending: &Pending,
    error: OAuthError,
) -> StoreResult<String> {
    let request = &pending.request;
    services
        .store
        .delete_authorization_request(&pending.id)
        .await?;
    audit::record(
        services,
        Event::new(Kind::AuthorizationRefused)
            .client(&request.client_id)
            .detail(error.code.as_str()),
    )
    .await;
    Ok(ErrorRedirect {
        redirect_uri: request.redirect_uri.clone(),
        error,
        state: request.state.clone(),
    }
    .url(&services.config.issuer))
}

//! Token introspection (RFC 7662, with SMART's fields) and revocation (RFC 7009).

use serde_json::{Map, Value, json};

use crate::flow::audit::{self, Event, Kind};
use crate::flow::grant::refresh_allowed_now;
use crate::flow::launch::LaunchContext;
use crate::secrets;
use crate::services::Services;
use crate::store::{Client, Grant, StoreResult};
use crate::tokens::claims::verify_access_token;

/// What a presented token turned out to be.
enum Found {
    Access {
        claims: Box<crate::tokens::AccessTokenClaims>,
        grant: Grant,
    },
    /// A backend service's token (client_credentials): no user, no grant.
    Backend {
        claims: Box<crate::tokens::AccessTokenClaims>,
    },
    Refresh {
        grant: Grant,
        expires_at: i64,
        created_at: i64,
    },
}

async fn find(services: &Services, token: &str) -> StoreResult<Option<Found>> {
    let now = services.now();
    let ring = services.keys.current();
    if let Ok(claims) = verify_access_token(&ring, token, &services.config.issuer, now) {
        let claims = Box::new(claims);
        if let Some(grant) = services
            .store
            .active_access_token_grant(&claims.jti, now)
            .await?
        {
            return Ok(Some(Found::Access { claims, grant }));
        }
        let backend = services.store.client_token_active(&claims.jti, now).await?;
        return Ok(backend
            .filter(|client_id| *client_id == claims.client_id)
            .map(|_| Found::Backend { claims }));
    }
    let Some(refresh) = services
        .store
        .refresh_token(&secrets::hash_secret(token))
        .await?
    else {
        return Ok(None);
    };
    if refresh.used_at.is_some() || refresh.expires_at <= now {
        return Ok(None);
    }
    let Some(grant) = services
        .store
        .grant(&refresh.grant_id)
        .await?
        .filter(|g| g.revoked_at.is_none())
    else {
        return Ok(None);
    };
    if !refresh_allowed_now(services, &grant, now).await? {
        return Ok(None);
    }
    Ok(Some(Found::Refresh {
        grant,
        expires_at: refresh.expires_at,
        created_at: refresh.created_at,
    }))
}

fn context_of(grant: &Grant) -> LaunchContext {
    LaunchContext {
        patient: grant.patient.clone(),
        encounter: grant.encounter.clone(),
        fhir_context: serde_json::from_str(&grant.fhir_context).unwrap_or_default(),
        need_patient_banner: None,
        intent: None,
    }
}

/// The RFC 7662 members that come straight from a JWT access token.
fn insert_access_claims(out: &mut Map<String, Value>, claims: &crate::tokens::AccessTokenClaims) {
    out.insert("token_type".into(), json!("Bearer"));
    out.insert("scope".into(), json!(claims.scope));
    out.insert("client_id".into(), json!(claims.client_id));
    out.insert("sub".into(), json!(claims.sub));
    out.insert("aud".into(), json!(claims.aud));
    out.insert("iss".into(), json!(claims.iss));
    out.insert("exp".into(), json!(claims.exp));
    out.insert("iat".into(), json!(claims.iat));
    out.insert("jti".into(), json!(claims.jti));
}

/// RFC 7662 §4: who may learn about a token. An access token: the client it was issued
/// to, or a resource server the operator registered for its audience. A refresh token: only
/// its own client. To anyone else the token is simply not active.
fn may_see(client: &Client, found: &Found) -> bool {
    match found {
        Found::Access { claims, .. } | Found::Backend { claims } => {
            claims.client_id == client.client_id || client.serves_audience(&claims.aud)
        }
        Found::Refresh { grant, .. } => grant.client_id == client.client_id,
    }
}

/// RFC 7662 §2.2: an active token's claims, or exactly `{"active": false}` for anything else
/// (expired, revoked, unknown, malformed, or not the asking client's to see).
pub async fn introspect(services: &Services, client: &Client, token: &str) -> StoreResult<Value> {
    let inactive = json!({ "active": false });
    let Some(found) = find(services, token)
        .await?
        .filter(|found| may_see(client, found))
    else {
        return Ok(inactive);
    };
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    let grant = match found {
        Found::Backend { claims } => {
            insert_access_claims(&mut out, &claims);
            out.insert(
                "security".into(),
                serde_json::to_value(&claims.security).unwrap_or(Value::Null),
            );
            return Ok(Value::Object(out));
        }
        Found::Access { claims, grant } => {
            insert_access_claims(&mut out, &claims);
            if let Some(f) = &claims.fhir_user {
                out.insert("fhirUser".into(), json!(f));
            }
            grant
        }
        Found::Refresh {
            grant,
            expires_at,
            created_at,
        } => {
            out.insert("token_type".into(), json!("refresh_token"));
            out.insert("scope".into(), json!(grant.scope));
            out.insert("client_id".into(), json!(grant.client_id));
            out.insert("sub".into(), json!(grant.user_id));
            out.insert("aud".into(), json!(grant.audience));
            out.insert("iss".into(), json!(services.config.issuer));
            out.insert("exp".into(), json!(expires_at));
            out.insert("iat".into(), json!(created_at));
            if grant.scope.contains(crate::scope::FHIR_USER)
                && let Some(user) = services.store.user_by_id(&grant.user_id).await?
                && let Some(f) = user.fhir_user
            {
                out.insert("fhirUser".into(), json!(f));
            }
            grant
        }
    };
    let context = context_of(&grant);
    if let Some(p) = context.patient {
        out.insert("patient".into(), json!(p));
    }
    if let Some(e) = context.encounter {
        out.insert("encounter".into(), json!(e));
    }
    if !context.fhir_context.is_empty() {
        out.insert("fhirContext".into(), json!(context.fhir_context));
    }
    // The label claim as it stands now: narrowed grants show their narrower claim.
    out.insert(
        "security".into(),
        serde_json::to_value(grant.security()).unwrap_or(Value::Null),
    );
    Ok(Value::Object(out))
}

/// RFC 7009: revokes the grant behind a token that belongs to `client`. Unknown tokens and
/// other clients' tokens are ignored (the answer is 200 either way, §2.2).
pub async fn revoke(services: &Services, client: &Client, token: &str) -> StoreResult<()> {
    let grant = match find(services, token).await? {
        Some(Found::Access { grant, .. }) | Some(Found::Refresh { grant, .. }) => grant,
        Some(Found::Backend { claims }) => {
            if claims.client_id == client.client_id {
                services
                    .store
                    .revoke_client_token(&claims.jti, services.now())
                    .await?;
            }
            return Ok(());
        }
        None => return Ok(()),
    };
    if grant.client_id == client.client_id {
        services
            .store
            .revoke_grant(&grant.id, services.now())
            .await?;
        audit::record(
            services,
            Event::new(Kind::TokenRevoked)
                .user(&grant.user_id)
                .client(&client.client_id)
                .grant(&grant.id),
        )
        .await;
    }
    Ok(())
}

//! OIDC Core §5.3 UserInfo: the claims of the user an access token was issued for.

use serde_json::{Map, Value, json};

use crate::flow::error::{ErrorCode, OAuthError};
use crate::scope::{self, ScopeSet};
use crate::services::Services;
use crate::tokens::claims::verify_access_token;

/// Validates the bearer token and returns the UserInfo claims; `sub` always, the rest by scope.
pub async fn userinfo(services: &Services, bearer: &str) -> Result<Value, OAuthError> {
    let invalid = || OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid");
    let now = services.now();
    let ring = services.keys.current();
    let claims =
        verify_access_token(&ring, bearer, &services.config.issuer, now).map_err(|_| invalid())?;
    if !services.store.access_token_active(&claims.jti, now).await? {
        return Err(invalid());
    }
    let scope = ScopeSet::parse(&claims.scope).map_err(|_| invalid())?;
    if !scope.contains(scope::OPENID) {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the access token was not issued with the openid scope",
        ));
    }
    let user = services
        .store
        .user_by_id(&claims.sub)
        .await?
        .ok_or_else(invalid)?;
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.id));
    if scope.contains(scope::PROFILE) {
        out.insert("preferred_username".into(), json!(user.username));
        if let Some(name) = &user.name {
            out.insert("name".into(), json!(name));
        }
    }
    if scope.contains(scope::EMAIL)
        && let Some(email) = &user.email
    {
        out.insert("email".into(), json!(email));
        out.insert("email_verified".into(), json!(false));
    }
    if scope.contains(scope::FHIR_USER)
        && let Some(f) = &user.fhir_user
    {
        out.insert("fhirUser".into(), json!(f));
    }
    Ok(Value::Object(out))
}

//! Registering clients (the operator's `clearance client add`).

use serde::Serialize;
use url::Url;

use crate::labels::Confidentiality;
use crate::secrets;
use crate::services::Services;
use crate::store::{AuthMethod, Client, Store, StoreError, StoreResult, StringList};
use crate::tokens::{Alg, client_keys as keys};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Default)]
pub struct NewClient<'a> {
    pub name: &'a str,
    pub redirect_uris: &'a [String],
    pub confidential: bool,
    /// Fixed id (demo data); a random one otherwise.
    pub client_id: Option<&'a str>,
    pub id_token_alg: Alg,
    /// The label ceiling: highest confidentiality (`None`: no limit) ...
    pub max_confidentiality: Option<Confidentiality>,
    /// ... and the sensitivity codes it may ever see (`None`: no limit).
    pub allowed_sensitivity: Option<Vec<String>>,
    /// An EHR that may request launch handles (`POST /launch`); confidential clients only.
    pub ehr_launcher: bool,
    /// Public keys for `private_key_jwt`: an inline JWKS (JSON text) ...
    pub jwks: Option<String>,
    /// ... or the URL where the client publishes it.
    pub jwks_uri: Option<String>,
    /// `system/` scopes the operator pre-authorizes for `client_credentials` (backend services).
    pub system_scopes: Vec<String>,
    /// Allow `client_credentials` for a client-secret client (non-SMART use).
    pub client_credentials: bool,
    /// The audiences this client serves as a resource server (introspection of their tokens).
    pub resource_server_for: Vec<String>,
}

/// What registration returns; the secret exists only here, never in the database.
#[derive(Serialize, Default)]
pub struct Registered {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub token_endpoint_auth_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_confidentiality: Option<Confidentiality>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_sensitivity: Option<Vec<String>>,
    pub grant_types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_scopes: Option<String>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// RFC 9700 §4.1.3 / RFC 8252: a redirect URI is absolute, has no fragment, and is https,
/// http on a loopback host, or a private-use scheme for native apps.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|e| format!("{uri:?} is not an absolute URI: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("{uri:?} must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if loopback {
                Ok(())
            } else {
                Err(format!(
                    "{uri:?} must use https (http is allowed only on loopback)"
                ))
            }
        }
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "{uri:?} must be https, http on loopback, or a private-use scheme such as com.example.app:/cb"
        )),
    }
}

pub async fn register(
    store: &dyn Store,
    new: NewClient<'_>,
    now: i64,
) -> Result<Registered, ClientError> {
    if new.ehr_launcher && !new.confidential {
        return Err(ClientError::Invalid(
            "an EHR launcher must be a confidential client".into(),
        ));
    }
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ClientError::Invalid(
            "name must be 1 to 200 characters".into(),
        ));
    }
    let asymmetric = new.jwks.is_some() || new.jwks_uri.is_some();
    if new.jwks.is_some() && new.jwks_uri.is_some() {
        return Err(ClientError::Invalid(
            "give --jwks-uri or --jwks-file, not both".into(),
        ));
    }
    if asymmetric && new.confidential {
        return Err(ClientError::Invalid(
            "a client authenticates with a secret or with keys, not both".into(),
        ));
    }
    if let Some(jwks) = &new.jwks {
        keys::validate_jwks_text(jwks).map_err(ClientError::Invalid)?;
    }
    if let Some(uri) = &new.jwks_uri {
        keys::validate_jwks_uri(uri).map_err(ClientError::Invalid)?;
    }
    validate_system_scopes(&new.system_scopes).map_err(ClientError::Invalid)?;
    if new.redirect_uris.is_empty() && new.system_scopes.is_empty() && !new.client_credentials {
        return Err(ClientError::Invalid(
            "at least one redirect URI is required (or system scopes for a backend service)".into(),
        ));
    }
    for uri in new.redirect_uris {
        validate_redirect_uri(uri).map_err(ClientError::Invalid)?;
    }
    let method = if asymmetric {
        AuthMethod::PrivateKeyJwt
    } else if new.confidential {
        AuthMethod::ClientSecretBasic
    } else {
        AuthMethod::None
    };
    if method == AuthMethod::None && (!new.system_scopes.is_empty() || new.client_credentials) {
        return Err(ClientError::Invalid(
            "backend services need a secret or keys; a public client cannot use client_credentials"
                .into(),
        ));
    }
    if !new.resource_server_for.is_empty() && method == AuthMethod::None {
        return Err(ClientError::Invalid(
            "a resource server authenticates (a secret or keys); it cannot be public".into(),
        ));
    }
    for audience in &new.resource_server_for {
        Url::parse(audience)
            .map_err(|e| ClientError::Invalid(format!("--resource-server {audience:?}: {e}")))?;
    }
    let client_id = new
        .client_id
        .map(str::to_owned)
        .unwrap_or_else(secrets::random_id);
    let secret = new.confidential.then(secrets::random_token);
    let grant_types = grant_types_for(
        new.redirect_uris,
        method,
        &new.system_scopes,
        new.client_credentials,
    );
    let system_scopes = (!new.system_scopes.is_empty()).then(|| new.system_scopes.join(" "));
    let client = Client {
        client_id: client_id.clone(),
        name: name.to_owned(),
        redirect_uris: new.redirect_uris.iter().cloned().collect(),
        secret_hash: secret.as_deref().map(secrets::hash_secret),
        token_endpoint_auth_method: method,
        id_token_signed_response_alg: new.id_token_alg.name().to_owned(),
        created_at: now,
        max_confidentiality: new.max_confidentiality.map(|c| c.code().to_owned()),
        allowed_sensitivity: new
            .allowed_sensitivity
            .as_ref()
            .map(|codes| serde_json::to_string(codes).unwrap_or_else(|_| "[]".into())),
        ehr_launcher: new.ehr_launcher,
        jwks: new.jwks.clone(),
        jwks_uri: new.jwks_uri.clone(),
        grant_types: grant_types.iter().cloned().collect(),
        system_scopes: system_scopes.clone(),
        registration_token_hash: None,
        metadata: "{}".into(),
        resource_server_for: new.resource_server_for.iter().cloned().collect(),
    };
    store.insert_client(&client).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ClientError::Invalid(format!("client {client_id:?} already exists"))
        }
        other => ClientError::Store(other),
    })?;
    Ok(Registered {
        client_id,
        client_secret: secret,
        client_name: client.name,
        redirect_uris: new.redirect_uris.to_vec(),
        token_endpoint_auth_method: method.as_str(),
        max_confidentiality: new.max_confidentiality,
        allowed_sensitivity: new.allowed_sensitivity,
        grant_types,
        jwks_uri: new.jwks_uri,
        system_scopes,
    })
}

/// The grant types a client gets from how it authenticates and what it was given.
fn grant_types_for(
    redirect_uris: &[String],
    method: AuthMethod,
    system_scopes: &[String],
    client_credentials: bool,
) -> Vec<String> {
    let mut grants = Vec::new();
    if !redirect_uris.is_empty() {
        grants.push("authorization_code".to_owned());
        grants.push("refresh_token".to_owned());
    }
    if method != AuthMethod::None && (!system_scopes.is_empty() || client_credentials) {
        grants.push("client_credentials".to_owned());
    }
    grants
}

/// `system/` scopes, each well formed.
pub fn validate_system_scopes(scopes: &[String]) -> Result<(), String> {
    for scope in scopes {
        match crate::scope::SmartScope::parse(scope) {
            Some(s) if s.context == crate::scope::smart::Context::System => {}
            _ => {
                return Err(format!(
                    "{scope:?} is not a system/ scope such as system/Observation.rs"
                ));
            }
        }
    }
    Ok(())
}

/// A new secret for a client-secret client; the old one stops working at once.
pub async fn rotate_secret(store: &dyn Store, client_id: &str) -> Result<String, ClientError> {
    let mut client = store
        .client_by_id(client_id)
        .await?
        .ok_or_else(|| ClientError::Invalid(format!("no client {client_id:?}")))?;
    if client.secret_hash.is_none() {
        return Err(ClientError::Invalid(
            "this client has no secret to rotate".into(),
        ));
    }
    let secret = secrets::random_token();
    client.secret_hash = Some(secrets::hash_secret(&secret));
    store.update_client(&client).await?;
    Ok(secret)
}

/// The operator pre-authorizes `system/` scopes for a client (backend services), which then
/// may use `client_credentials`. An empty list withdraws them.
pub async fn set_system_scopes(
    store: &dyn Store,
    client_id: &str,
    scopes: &[String],
) -> Result<(), ClientError> {
    validate_system_scopes(scopes).map_err(ClientError::Invalid)?;
    let mut client = store
        .client_by_id(client_id)
        .await?
        .ok_or_else(|| ClientError::Invalid(format!("no client {client_id:?}")))?;
    if client.auth_method() == AuthMethod::None && !scopes.is_empty() {
        return Err(ClientError::Invalid(
            "a public client cannot use client_credentials".into(),
        ));
    }
    let mut grants = client.grant_types.0.clone();
    grants.retain(|g| g != "client_credentials");
    if !scopes.is_empty() {
        grants.push("client_credentials".into());
    }
    client.grant_types = StringList(grants);
    client.system_scopes = (!scopes.is_empty()).then(|| scopes.join(" "));
    store.update_client(&client).await?;
    Ok(())
}

/// The client registered under `client_id`, if any.
pub async fn find(services: &Services, client_id: &str) -> StoreResult<Option<Client>> {
    services.store.client_by_id(client_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        assert!(validate_redirect_uri("https://app.example/cb").is_ok());
        assert!(validate_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(validate_redirect_uri("http://localhost/cb").is_ok());
        assert!(validate_redirect_uri("com.example.app:/oauth2redirect").is_ok());
        assert!(validate_redirect_uri("http://app.example/cb").is_err());
        assert!(validate_redirect_uri("https://app.example/cb#frag").is_err());
        assert!(validate_redirect_uri("/relative").is_err());
        assert!(validate_redirect_uri("javascript:alert(1)").is_err());
    }
}

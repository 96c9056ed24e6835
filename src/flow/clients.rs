//! Registering clients (the operator's `clearance client add`).

use serde::Serialize;
use url::Url;

use crate::labels::Confidentiality;
use crate::secrets;
use crate::store::{AuthMethod, Client, Store, StoreError};
use crate::tokens::Alg;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

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
}

/// What registration returns; the secret exists only here, never in the database.
#[derive(Serialize)]
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
    if new.redirect_uris.is_empty() {
        return Err(ClientError::Invalid(
            "at least one redirect URI is required".into(),
        ));
    }
    for uri in new.redirect_uris {
        validate_redirect_uri(uri).map_err(ClientError::Invalid)?;
    }
    let client_id = new
        .client_id
        .map(str::to_owned)
        .unwrap_or_else(secrets::random_id);
    let secret = new.confidential.then(secrets::random_token);
    let method = if new.confidential {
        AuthMethod::ClientSecretBasic
    } else {
        AuthMethod::None
    };
    let client = Client {
        client_id: client_id.clone(),
        name: name.to_owned(),
        redirect_uris: serde_json::to_string(new.redirect_uris).unwrap_or_else(|_| "[]".into()),
        secret_hash: secret.as_deref().map(secrets::hash_secret),
        token_endpoint_auth_method: method.as_str().to_owned(),
        id_token_signed_response_alg: new.id_token_alg.name().to_owned(),
        created_at: now,
        max_confidentiality: new.max_confidentiality.map(|c| c.code().to_owned()),
        allowed_sensitivity: new
            .allowed_sensitivity
            .as_ref()
            .map(|codes| serde_json::to_string(codes).unwrap_or_else(|_| "[]".into())),
        ehr_launcher: i64::from(new.ehr_launcher),
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
    })
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

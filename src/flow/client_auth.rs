//! Client authentication (RFC 6749 §2.3, RFC 7523 §2.2): `client_secret_basic`,
//! `client_secret_post`, `private_key_jwt`, or `none` for public clients, which send only
//! `client_id`. One chain for every endpoint that authenticates clients: the token endpoint,
//! introspection, revocation and the EHR's `/launch` ([`credentials`], then [`authenticate`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::flow::audit::{self, Event, Kind};
use crate::flow::client_assertion;
use crate::flow::error::OAuthError;
use crate::flow::params::Params;
use crate::secrets;
use crate::services::Services;
use crate::store::{AuthMethod, Client};

/// The client authentication methods of the token and revocation endpoints (RFC 8414 §2).
pub const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
/// Introspection needs a confidential client: every method but `none`.
pub const CONFIDENTIAL_AUTH_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];
/// SMART capabilities: public clients, shared secrets and `private_key_jwt`.
pub const CAPABILITIES: [&str; 3] = [
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
];

/// The credentials a token request carries.
#[derive(PartialEq, Eq)]
pub enum Credentials {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: String,
        secret: String,
    },
    /// A public client names itself and proves nothing (PKCE protects the code).
    ClientIdOnly {
        client_id: String,
    },
    /// RFC 7523 `private_key_jwt`: a JWT signed with the client's private key.
    Assertion {
        client_id: Option<String>,
        assertion_type: String,
        assertion: String,
    },
    Missing,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { client_id, .. } => write!(f, "Basic({client_id}, [redacted])"),
            Credentials::Post { client_id, .. } => write!(f, "Post({client_id}, [redacted])"),
            Credentials::ClientIdOnly { client_id } => write!(f, "ClientIdOnly({client_id})"),
            Credentials::Assertion { client_id, .. } => {
                write!(f, "Assertion({client_id:?}, [redacted])")
            }
            Credentials::Missing => f.write_str("Missing"),
        }
    }
}

/// Where an endpoint takes client credentials from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The `Authorization` header or the form (token, introspection, revocation).
    HeaderOrForm,
    /// HTTP Basic only: the EHR at `/launch`, whose form's `client_id` names the app.
    BasicOnly,
}

/// The client credentials of a form request: a bounded form without repeated parameters
/// (RFC 6749 §3.2), then one authentication method (RFC 6749 §2.3).
pub fn credentials(
    form: &Params,
    authorization: Option<&str>,
    accepted: Accepted,
) -> Result<Credentials, OAuthError> {
    if form.too_many() {
        return Err(OAuthError::invalid_request(
            "the request has too many parameters (at most 64)",
        ));
    }
    if form.repeated().is_some() {
        return Err(OAuthError::invalid_request("a parameter is repeated"));
    }
    match accepted {
        Accepted::HeaderOrForm => extract_all(
            authorization,
            form.get("client_id"),
            form.get("client_secret"),
            form.get("client_assertion_type"),
            form.get("client_assertion"),
        ),
        Accepted::BasicOnly => match extract(authorization, None, None)? {
            basic @ Credentials::Basic { .. } => Ok(basic),
            _ => Err(OAuthError::invalid_client(
                "an EHR authenticates with HTTP Basic",
            )),
        },
    }
}

/// Reads the credentials from the `Authorization` header and the form fields. Presenting
/// more than one method is an error (RFC 6749 §2.3).
pub fn extract(
    authorization: Option<&str>,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
) -> Result<Credentials, OAuthError> {
    extract_all(authorization, body_client_id, body_secret, None, None)
}

/// Like `extract`, with the RFC 7523 `client_assertion_type` and `client_assertion`.
pub fn extract_all(
    authorization: Option<&str>,
    body_client_id: Option<&str>,
    body_secret: Option<&str>,
    assertion_type: Option<&str>,
    assertion: Option<&str>,
) -> Result<Credentials, OAuthError> {
    if assertion.is_some() || assertion_type.is_some() {
        if authorization.is_some() || body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not several",
            ));
        }
        return Ok(Credentials::Assertion {
            client_id: body_client_id.map(str::to_owned),
            assertion_type: assertion_type.unwrap_or_default().to_owned(),
            assertion: assertion.unwrap_or_default().to_owned(),
        });
    }
    if let Some(header) = authorization {
        let basic = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(|| basic_error("only HTTP Basic client authentication is supported"))?;
        let (client_id, secret) = decode_basic(basic.trim())
            .ok_or_else(|| basic_error("the Basic credentials are malformed"))?;
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not several",
            ));
        }
        if body_client_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the authenticated client",
            ));
        }
        return Ok(Credentials::Basic { client_id, secret });
    }
    Ok(match (body_client_id, body_secret) {
        (Some(id), Some(secret)) => Credentials::Post {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
        },
        (Some(id), None) => Credentials::ClientIdOnly {
            client_id: id.to_owned(),
        },
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_secret was sent without client_id",
            ));
        }
        (None, None) => Credentials::Missing,
    })
}

fn basic_error(description: &'static str) -> OAuthError {
    OAuthError::invalid_client(description)
}

/// RFC 6749 §2.3.1: client id and secret are form-urlencoded, joined by a colon, then base64.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = form_decode(id)?;
    let secret = form_decode(secret)?;
    if id.is_empty() {
        return None;
    }
    Some((id, secret))
}

fn form_decode(part: &str) -> Option<String> {
    let plus_as_space = part.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Authenticates the client: a confidential client must prove its secret (compared as
/// SHA-256 hashes in constant time); a public client must not claim one.
pub async fn authenticate(
    services: &Services,
    credentials: &Credentials,
) -> Result<Client, OAuthError> {
    let failure = OAuthError::invalid_client;
    let (client_id, secret) = match credentials {
        Credentials::Basic { client_id, secret } | Credentials::Post { client_id, secret } => {
            (client_id, Some(secret))
        }
        Credentials::ClientIdOnly { client_id } => (client_id, None),
        Credentials::Assertion {
            client_id,
            assertion_type,
            assertion,
        } => {
            return client_assertion::authenticate(
                services,
                assertion_type,
                assertion,
                client_id.as_deref(),
            )
            .await;
        }
        Credentials::Missing => return Err(failure("client authentication is required")),
    };
    let client = services
        .store
        .client_by_id(client_id)
        .await?
        .ok_or_else(|| failure("client authentication failed"))?;
    if client.auth_method() == AuthMethod::PrivateKeyJwt {
        return Err(failure("this client authenticates with private_key_jwt"));
    }
    match (&client.secret_hash, secret) {
        (Some(stored), Some(given)) => {
            if !secrets::constant_time_eq(stored, &secrets::hash_secret(given)) {
                audit::record(
                    services,
                    Event::new(Kind::ClientAuthFailed).client(&client.client_id),
                )
                .await;
                return Err(failure("client authentication failed"));
            }
        }
        (Some(_), None) => return Err(failure("client authentication is required")),
        (None, Some(_)) => {
            return Err(failure("this is a public client; it has no secret"));
        }
        (None, None) => {}
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        let header = basic("my%3Aclient", "s%2Bcret+x");
        let c = extract(Some(&header), None, None).unwrap();
        assert_eq!(
            c,
            Credentials::Basic {
                client_id: "my:client".into(),
                secret: "s+cret x".into()
            }
        );
    }

    #[test]
    fn several_methods_or_malformed_basic_are_refused() {
        let header = basic("a", "b");
        assert!(extract(Some(&header), None, Some("b")).is_err());
        assert!(extract(Some(&header), Some("other"), None).is_err());
        let bad = extract(Some("Basic !!!"), None, None).unwrap_err();
        assert!(bad.is_invalid_client());
        assert!(extract(Some("Bearer x"), None, None).is_err());
        assert_eq!(extract(None, None, None).unwrap(), Credentials::Missing);
        assert!(extract(None, None, Some("s")).is_err());
    }

    #[test]
    fn post_and_public_credentials() {
        assert!(matches!(
            extract(None, Some("a"), Some("b")).unwrap(),
            Credentials::Post { .. }
        ));
        assert!(matches!(
            extract(None, Some("a"), None).unwrap(),
            Credentials::ClientIdOnly { .. }
        ));
    }
}

//! Dynamic client registration (RFC 7591) and its management (RFC 7592). Label ceilings and
//! pre-authorized `system/` scopes are never self-asserted: only the operator sets them.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::RegistrationPolicy;
use crate::flow::audit::{self, Event, Kind};
use crate::flow::clients::validate_redirect_uri;
use crate::flow::error::{ErrorCode, OAuthError};
use crate::scope::{self, ScopeSet};
use crate::secrets;
use crate::services::Services;
use crate::store::{AuthMethod, Client, StringList};
use crate::tokens::Alg;
use crate::tokens::client_keys::{validate_jwks, validate_jwks_uri};
use crate::tokens::jwks_fetch::validate_public_jwks_uri;

/// RFC 7591 §3.2.2 and RFC 7592 §2 errors are protocol errors like every other
/// (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_token`).
pub type RegistrationError = OAuthError;

fn invalid_redirect_uri(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRedirectUri, description.into())
}

/// RFC 7592 §2.1: a missing or wrong registration access token, or a client that no longer
/// exists, is 401 `invalid_token`.
fn invalid_token() -> OAuthError {
    OAuthError::invalid_token("a valid access token is required")
}

/// RFC 7591 §3: who may register. Closed: nobody but the operator (403 `access_denied`);
/// an initial access token, spent here; or open.
pub async fn admit(
    services: &Services,
    initial_access_token: Option<&str>,
) -> Result<(), OAuthError> {
    match services.config.registration {
        RegistrationPolicy::Closed => Err(OAuthError::access_denied(
            "dynamic registration is closed; ask the operator",
        )),
        RegistrationPolicy::InitialAccessToken => {
            let token = initial_access_token.ok_or_else(invalid_token)?;
            let spent = services
                .store
                .spend_initial_access_token(&secrets::hash_secret(token), services.now())
                .await?;
            if spent { Ok(()) } else { Err(invalid_token()) }
        }
        RegistrationPolicy::Open => Ok(()),
    }
}

/// The metadata Clearance reads; anything else is ignored (RFC 7591 §2).
#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    scope: Option<String>,
    id_token_signed_response_alg: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Descriptive fields echoed back as given, when they are strings or arrays of strings.
const ECHOED: [&str; 8] = [
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "contacts",
    "software_id",
    "software_version",
    "launch_uri",
];

fn bad(description: impl Into<String>) -> RegistrationError {
    OAuthError::invalid_client_metadata(description.into())
}

/// Metadata that passed validation: what was read, the method and grant types decided, and
/// the metadata to store and echo.
type Validated = (Metadata, AuthMethod, Vec<String>, Map<String, Value>);

/// The most redirect URIs a client may register.
pub const MAX_REDIRECT_URIS: usize = 20;
/// The largest registration document accepted (bytes of JSON).
pub const MAX_METADATA_BYTES: usize = 32 * 1024;

/// Validates metadata into the parts of a `Client`. `allow_private_jwks_uri`: the operator's
/// setting that lets a self-registered `jwks_uri` name internal addresses (development).
fn validate(body: &Value, allow_private_jwks_uri: bool) -> Result<Validated, RegistrationError> {
    if !body.is_object() {
        return Err(bad("the body must be a JSON object"));
    }
    if body.to_string().len() > MAX_METADATA_BYTES {
        return Err(bad("the metadata is larger than 32 KiB"));
    }
    let m: Metadata = serde_json::from_value(body.clone())
        .map_err(|e| bad(format!("malformed metadata: {e}")))?;
    let method = match m
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or("client_secret_basic")
    {
        "none" => AuthMethod::None,
        "client_secret_basic" => AuthMethod::ClientSecretBasic,
        "client_secret_post" => AuthMethod::ClientSecretPost,
        "private_key_jwt" => AuthMethod::PrivateKeyJwt,
        other => {
            return Err(bad(format!(
                "token_endpoint_auth_method {other:?} is not supported"
            )));
        }
    };
    let grant_types = m
        .grant_types
        .clone()
        .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
    for g in &grant_types {
        if !matches!(
            g.as_str(),
            "authorization_code" | "refresh_token" | "client_credentials"
        ) {
            return Err(bad(format!("grant type {g:?} is not supported")));
        }
    }
    let code_flow = grant_types.iter().any(|g| g == "authorization_code");
    let response_types = m.response_types.clone().unwrap_or_else(|| {
        if code_flow {
            vec!["code".to_owned()]
        } else {
            Vec::new()
        }
    });
    if response_types.iter().any(|r| r != "code") {
        return Err(bad("only the response type code is supported"));
    }
    if code_flow != response_types.iter().any(|r| r == "code") {
        return Err(bad(
            "grant_types and response_types disagree: authorization_code goes with code",
        ));
    }
    if grant_types.iter().any(|g| g == "refresh_token") && !code_flow {
        return Err(bad("refresh_token needs authorization_code"));
    }
    if grant_types.iter().any(|g| g == "client_credentials") && method == AuthMethod::None {
        return Err(bad(
            "client_credentials needs client authentication (not none)",
        ));
    }
    if code_flow && m.redirect_uris.is_empty() {
        return Err(invalid_redirect_uri(
            "redirect_uris is required for authorization_code",
        ));
    }
    if m.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid_redirect_uri(format!(
            "at most {MAX_REDIRECT_URIS} redirect_uris"
        )));
    }
    for uri in &m.redirect_uris {
        validate_redirect_uri(uri).map_err(invalid_redirect_uri)?;
    }
    match (&m.jwks, &m.jwks_uri) {
        (Some(_), Some(_)) => return Err(bad("give jwks or jwks_uri, not both")),
        (Some(jwks), None) => validate_jwks(jwks).map_err(bad)?,
        (None, Some(uri)) if allow_private_jwks_uri => validate_jwks_uri(uri).map_err(bad)?,
        (None, Some(uri)) => validate_public_jwks_uri(uri).map_err(bad)?,
        (None, None) if method == AuthMethod::PrivateKeyJwt => {
            return Err(bad("private_key_jwt needs jwks or jwks_uri"));
        }
        (None, None) => {}
    }
    if method != AuthMethod::PrivateKeyJwt && (m.jwks.is_some() || m.jwks_uri.is_some()) {
        return Err(bad(
            "jwks and jwks_uri go with token_endpoint_auth_method private_key_jwt",
        ));
    }
    if let Some(text) = &m.scope {
        let parsed = ScopeSet::parse(text).map_err(|_| bad("scope is malformed"))?;
        if parsed.iter().any(scope::is_malformed_smart) {
            return Err(bad("a SMART scope is malformed"));
        }
    }
    if let Some(alg) = &m.id_token_signed_response_alg
        && Alg::parse(alg).is_none()
    {
        return Err(bad(
            "id_token_signed_response_alg must be RS256, RS384, ES256 or ES384",
        ));
    }
    let name = m
        .client_name
        .clone()
        .unwrap_or_else(|| "Unnamed app".to_owned());
    if name.trim().is_empty() || name.len() > 200 {
        return Err(bad("client_name must be 1 to 200 characters"));
    }

    let mut stored = Map::new();
    stored.insert("client_name".into(), json!(name.trim()));
    stored.insert("redirect_uris".into(), json!(m.redirect_uris));
    stored.insert("token_endpoint_auth_method".into(), json!(method.as_str()));
    stored.insert("grant_types".into(), json!(grant_types));
    stored.insert("response_types".into(), json!(response_types));
    stored.insert(
        "id_token_signed_response_alg".into(),
        json!(m.id_token_signed_response_alg.as_deref().unwrap_or("RS256")),
    );
    if let Some(scope) = &m.scope {
        stored.insert("scope".into(), json!(scope));
    }
    if let Some(jwks) = &m.jwks {
        stored.insert("jwks".into(), jwks.clone());
    }
    if let Some(uri) = &m.jwks_uri {
        stored.insert("jwks_uri".into(), json!(uri));
    }
    for field in ECHOED {
        if let Some(v) = body.get(field)
            && (v.is_string() || v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
        {
            stored.insert(field.into(), v.clone());
        }
    }
    Ok((m, method, grant_types, stored))
}

/// Checks registration metadata as `POST /register` does, without storing anything (the
/// fuzz target `registration_metadata` drives it with arbitrary JSON).
pub fn check_metadata(body: &Value, allow_private_jwks_uri: bool) -> Result<(), RegistrationError> {
    validate(body, allow_private_jwks_uri).map(|_| ())
}

fn client_uri(services: &Services, client_id: &str) -> String {
    services.config.endpoint(&format!("/register/{client_id}"))
}

/// RFC 7591 §3: registers a client from its metadata; the response carries the secret (when
/// one is issued) and the RFC 7592 registration access token, both shown only here.
pub async fn register(services: &Services, body: &Value) -> Result<Value, RegistrationError> {
    let (m, method, grant_types, stored) = validate(body, services.config.jwks_uri_allow_private)?;
    let now = services.now();
    let client_id = secrets::random_id();
    let secret = matches!(
        method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    )
    .then(secrets::random_token);
    let registration_token = secrets::random_token();
    let client = Client {
        client_id: client_id.clone(),
        name: stored["client_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        redirect_uris: StringList(m.redirect_uris.clone()),
        secret_hash: secret.as_deref().map(secrets::hash_secret),
        token_endpoint_auth_method: method,
        id_token_signed_response_alg: stored["id_token_signed_response_alg"]
            .as_str()
            .unwrap_or("RS256")
            .to_owned(),
        created_at: now,
        max_confidentiality: None,
        allowed_sensitivity: None,
        ehr_launcher: false,
        jwks: m.jwks.as_ref().map(Value::to_string),
        jwks_uri: m.jwks_uri.clone(),
        grant_types: grant_types.iter().cloned().collect(),
        system_scopes: None,
        registration_token_hash: Some(secrets::hash_secret(&registration_token)),
        metadata: Value::Object(stored.clone()).to_string(),
        resource_server_for: StringList::default(),
    };
    services.store.insert_client(&client).await?;
    audit::record(
        services,
        Event::new(Kind::ClientRegistered)
            .client(&client_id)
            .detail(method.as_str()),
    )
    .await;
    let mut response = stored;
    response.insert("client_id".into(), json!(client_id));
    response.insert("client_id_issued_at".into(), json!(now));
    if let Some(secret) = secret {
        response.insert("client_secret".into(), json!(secret));
        response.insert("client_secret_expires_at".into(), json!(0));
    }
    response.insert(
        "registration_access_token".into(),
        json!(registration_token),
    );
    response.insert(
        "registration_client_uri".into(),
        json!(client_uri(services, &client.client_id)),
    );
    Ok(Value::Object(response))
}

/// The client named by the URL, if `token` is its registration access token.
async fn authorized(
    services: &Services,
    client_id: &str,
    token: Option<&str>,
) -> Result<Client, RegistrationError> {
    let token = token.ok_or_else(invalid_token)?;
    let client = services
        .store
        .client_by_id(client_id)
        .await?
        .ok_or_else(invalid_token)?;
    match &client.registration_token_hash {
        Some(hash) if secrets::constant_time_eq(hash, &secrets::hash_secret(token)) => Ok(client),
        _ => Err(invalid_token()),
    }
}

fn view(services: &Services, client: &Client) -> Value {
    let mut out: Map<String, Value> = serde_json::from_str(&client.metadata).unwrap_or_default();
    out.insert("client_id".into(), json!(client.client_id));
    out.insert("client_id_issued_at".into(), json!(client.created_at));
    if client.secret_hash.is_some() {
        // The secret itself is stored only as a hash; it is not shown again.
        out.insert("client_secret_expires_at".into(), json!(0));
    }
    out.insert(
        "registration_client_uri".into(),
        json!(client_uri(services, &client.client_id)),
    );
    Value::Object(out)
}

/// RFC 7592 §3: the registration access token rotates on every use; the answer carries the
/// new one and the old one stops working. Returns the updated client and the new token.
async fn rotate_registration_token(
    services: &Services,
    client: Client,
) -> Result<(Client, String), RegistrationError> {
    let token = secrets::random_token();
    let client = Client {
        registration_token_hash: Some(secrets::hash_secret(&token)),
        ..client
    };
    if !services.store.update_client(&client).await? {
        return Err(invalid_token());
    }
    Ok((client, token))
}

fn with_token(mut view: Value, token: String) -> Value {
    view["registration_access_token"] = json!(token);
    view
}

/// RFC 7592 §2.1.
pub async fn read(
    services: &Services,
    client_id: &str,
    token: Option<&str>,
) -> Result<Value, RegistrationError> {
    let client = authorized(services, client_id, token).await?;
    let (client, token) = rotate_registration_token(services, client).await?;
    Ok(with_token(view(services, &client), token))
}

/// RFC 7592 §2.2: the body replaces the registration (same client_id; a client_secret, if
/// sent, must be the current one). The authentication method cannot change to or from
/// having a secret; register a new client for that.
pub async fn update(
    services: &Services,
    client_id: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, RegistrationError> {
    let client = authorized(services, client_id, token).await?;
    let (m, method, grant_types, stored) = validate(body, services.config.jwks_uri_allow_private)?;
    if m.client_id.as_deref() != Some(client_id) {
        return Err(bad("the body's client_id must be the registration's"));
    }
    if let Some(secret) = &m.client_secret
        && !client
            .secret_hash
            .as_deref()
            .is_some_and(|h| secrets::constant_time_eq(h, &secrets::hash_secret(secret)))
    {
        return Err(bad("client_secret does not match"));
    }
    let has_secret = matches!(
        method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    );
    if has_secret != client.secret_hash.is_some() {
        return Err(bad(
            "token_endpoint_auth_method cannot move between secret and non-secret methods",
        ));
    }
    let updated = Client {
        name: stored["client_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        redirect_uris: StringList(m.redirect_uris.clone()),
        token_endpoint_auth_method: method,
        id_token_signed_response_alg: stored["id_token_signed_response_alg"]
            .as_str()
            .unwrap_or("RS256")
            .to_owned(),
        jwks: m.jwks.as_ref().map(Value::to_string),
        jwks_uri: m.jwks_uri.clone(),
        grant_types: grant_types.iter().cloned().collect(),
        metadata: Value::Object(stored).to_string(),
        ..client
    };
    let (updated, token) = rotate_registration_token(services, updated).await?;
    Ok(with_token(view(services, &updated), token))
}

/// RFC 7592 §2.3: deletes the client; its grants and tokens go with it.
pub async fn delete(
    services: &Services,
    client_id: &str,
    token: Option<&str>,
) -> Result<(), RegistrationError> {
    authorized(services, client_id, token).await?;
    services.store.delete_client(client_id).await?;
    audit::record(services, Event::new(Kind::ClientDeleted).client(client_id)).await;
    Ok(())
}

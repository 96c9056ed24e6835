//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, SMART App Launch
//! §"Obtain authorization code"): validation into a typed request. What the user must do
//! next is decided in `interaction`.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::Config;
use crate::flow::error::{ErrorCode, OAuthError};
use crate::flow::launch::{self, LaunchContext};
use crate::flow::params::Params;
use crate::scope::{self, InvalidScope, ScopeSet};
use crate::secrets;
use crate::services::Services;
use crate::store::{Client, StoreError};
use crate::tokens::claims::verify_id_token_hint;

/// A request that passed validation. Kept in the database while the user signs in and
/// consents, so any instance can continue it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The `sub` of a valid `id_token_hint`: only that user may finish the request.
    pub hinted_subject: Option<String>,
    /// The user an EHR launch is bound to: only that user may finish the request.
    #[serde(default)]
    pub bound_user: Option<String>,
    /// The audience of the tokens: the FHIR base URL named by `aud`/`resource` (in its
    /// configured spelling), or the issuer.
    pub audience: String,
    /// The context of an EHR launch (`launch` parameter), resolved and spent at validation.
    #[serde(default)]
    pub launch: Option<LaunchContext>,
    /// The patient a practitioner picked for this request (standalone launch).
    #[serde(default)]
    pub picked_patient: Option<String>,
}

impl AuthorizationRequest {
    /// May `user_id` finish this request? Not when an `id_token_hint` or an EHR launch
    /// names someone else (OIDC Core §3.1.2.1; SMART EHR launch bound to a user).
    pub fn allows_user(&self, user_id: &str) -> bool {
        [&self.hinted_subject, &self.bound_user]
            .into_iter()
            .flatten()
            .all(|required| required == user_id)
    }
}

/// OIDC Core §3.1.2.1 `prompt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// Why a request cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI could not be verified, or the client registered itself
    /// and its redirect URI is not trusted: show an error page and never redirect
    /// (RFC 6749 §4.1.2.1, RFC 9700 §4.11 no open redirectors).
    Page(String),
    /// Redirect to the verified redirect URI with an error (RFC 6749 §4.1.2.1).
    Redirect(ErrorRedirect),
    /// The database failed: an error page, no redirect.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: OAuthError,
    pub state: Option<String>,
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = ?e, "storage failure during authorization");
        AuthorizeError::Unavailable
    }
}

/// What discovery says of this endpoint (OIDC Discovery §3): the code flow only
/// (RFC 9700 §2.1.2), answered in the query, PKCE with S256 only (RFC 7636 §4.2), and the
/// `prompt` values acted on.
pub const RESPONSE_TYPES: [&str; 1] = ["code"];
pub const RESPONSE_MODES: [&str; 1] = ["query"];
pub const CODE_CHALLENGE_METHODS: [&str; 1] = ["S256"];
pub const PROMPT_VALUES: [&str; 3] = ["none", "login", "consent"];
/// SMART capabilities of this endpoint: POST as well as GET, and OpenID Connect sign-in.
pub const CAPABILITIES: [&str; 2] = ["authorize-post", "sso-openid-connect"];

/// Longest value accepted for any single parameter: generous for SMART scope lists, small
/// enough that a stored request stays small.
const MAX_PARAMETER_LENGTH: usize = 4096;

/// An error to send back to the client.
type Refusal = OAuthError;

/// Validates raw parameters (from the query of a GET or the form of a POST): first the
/// client and redirect URI, then the parameters alone ([`check_parameters`], no storage),
/// then the `id_token_hint`, and last the single-use EHR `launch` handle, so that nothing
/// spends it unless everything else is right.
pub async fn validate(
    services: &Services,
    params: &Params,
) -> Result<(AuthorizationRequest, Client), AuthorizeError> {
    // 1. Client and redirect URI: until both are verified, errors are pages.
    if params.is_repeated("client_id") || params.is_repeated("redirect_uri") {
        return Err(AuthorizeError::Page(
            "The request repeats client_id or redirect_uri.".into(),
        ));
    }
    let client_id = params
        .get("client_id")
        .ok_or(AuthorizeError::Page("The request has no client_id.".into()))?;
    let client = services
        .store
        .client_by_id(client_id)
        .await?
        .ok_or(AuthorizeError::Page(
            "The application is not registered here.".into(),
        ))?;
    let redirect_uri = params.get("redirect_uri").ok_or(AuthorizeError::Page(
        "The request has no redirect_uri; it is required.".into(),
    ))?;
    // RFC 9700 §4.1.3: exact string comparison with a registered value.
    if !client.redirect_uris().iter().any(|r| r == redirect_uri) {
        return Err(AuthorizeError::Page(
            "The redirect_uri is not registered for this application.".into(),
        ));
    }

    // 2. From here on, errors go back to the client, unless anyone could have registered
    // that redirect URI (RFC 9700 §4.11.2): then the person sees the error instead.
    let state = params.get("state").map(str::to_owned);
    let fail = |error: Refusal| {
        if client.is_dynamically_registered() {
            return AuthorizeError::Page(format!(
                "The app's request cannot be completed ({error})."
            ));
        }
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.to_owned(),
            error,
            state: state.clone(),
        })
    };
    let mut request = check_parameters(params, &client, &services.config).map_err(&fail)?;

    // 3. The hint is checked with our keys (OIDC Core §3.1.2.1: an expired one still hints).
    if let Some(hint) = params.get("id_token_hint") {
        let ring = services.keys.current();
        request.hinted_subject = Some(
            verify_id_token_hint(&ring, hint, &services.config.issuer).map_err(|_| {
                fail(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "id_token_hint is not valid",
                ))
            })?,
        );
    }

    // 4. Last: the single-use EHR launch handle, for this client only.
    if let Some(handle) = params.get("launch") {
        match launch::resolve(services, handle, &client.client_id).await? {
            Some((context, user)) => {
                request.bound_user = user;
                request.launch = Some(context);
            }
            None => {
                return Err(fail(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "launch is unknown, expired or already used",
                )));
            }
        }
    }
    Ok((request, client))
}

/// The checks that need nothing but the parameters, the client and the configuration
/// (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1, SMART §"Obtain authorization code").
pub fn check_parameters(
    params: &Params,
    client: &Client,
    config: &Config,
) -> Result<AuthorizationRequest, Refusal> {
    if params.too_many() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the request has too many parameters (at most 64)",
        ));
    }
    if params.repeated().is_some() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "a parameter is repeated",
        ));
    }
    if params
        .pairs()
        .iter()
        .any(|(_, v)| v.len() > MAX_PARAMETER_LENGTH)
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "a parameter is too long",
        ));
    }
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        None => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "response_type is required",
            ));
        }
        Some(t) if RESPONSE_TYPES.contains(&t) => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only the authorization code flow (response_type=code) is supported",
            ));
        }
    }
    if let Some(mode) = params.get("response_mode")
        && !RESPONSE_MODES.contains(&mode)
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }

    // Scope: unsupported values are left out of the grant (RFC 6749 §3.3 lets the server
    // grant less); nothing left is an error.
    let requested = match params.get("scope").map(ScopeSet::parse).transpose() {
        Ok(scope) => scope.unwrap_or_default(),
        Err(InvalidScope::TooMany) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "scope has too many values (at most 256)",
            ));
        }
        Err(InvalidScope::Character) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope is malformed",
            ));
        }
    };
    if requested.iter().any(scope::is_malformed_smart) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "a SMART scope is malformed (expected context/Type.cruds, letters in that order)",
        ));
    }
    // A refresh token (offline_access, online_access) only for a client allowed to use it.
    let refreshes = client.may_use_grant("refresh_token");
    let scope = requested.filter(|s| {
        scope::is_supported(s)
            && (refreshes || (s != scope::OFFLINE_ACCESS && s != scope::ONLINE_ACCESS))
    });
    if scope.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "no requested scope is supported",
        ));
    }

    // PKCE S256, required of every client (RFC 9700 §2.1.1, SMART: S256 only, never plain).
    let code_challenge = params.get("code_challenge").ok_or(OAuthError::new(
        ErrorCode::InvalidRequest,
        "code_challenge is required (PKCE with S256)",
    ))?;
    if !params
        .get("code_challenge_method")
        .is_some_and(|m| CODE_CHALLENGE_METHODS.contains(&m))
    {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "code_challenge_method must be S256; plain is not supported",
        ));
    }
    if !secrets::is_valid_s256_challenge(code_challenge) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "code_challenge is not a valid S256 challenge",
        ));
    }

    let prompt = parse_prompt(params.get("prompt"))
        .map_err(|d| OAuthError::new(ErrorCode::InvalidRequest, d))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };

    // SMART: `aud` (or RFC 8707 `resource`) names the FHIR server; required when FHIR
    // access is asked, and it must be one this server issues tokens for. The token carries
    // the configured spelling, which resource servers compare exactly.
    let audience = match (params.get("aud"), params.get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "aud and resource name different servers",
            ));
        }
        (Some(a), _) | (None, Some(a)) => config
            .fhir_base(a)
            .ok_or(OAuthError::new(
                ErrorCode::InvalidRequest,
                "aud is not a FHIR server this authorization server issues tokens for",
            ))?
            .to_owned(),
        (None, None) => {
            if scope.iter().any(scope::is_fhir_scope) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "aud is required when FHIR access is requested",
                ));
            }
            config.issuer.clone()
        }
    };
    // SMART EHR launch: the `launch` handle pairs with the `launch` scope.
    if params.get("launch").is_none() && scope.contains("launch") {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "the launch scope needs the launch parameter of an EHR launch",
        ));
    }

    // `display`, `ui_locales`, `claims_locales` and `acr_values` are accepted and have no
    // effect (OIDC Core §15.1 minimum); any other unknown parameter is ignored (RFC 6749 §3.1).
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: params.get("redirect_uri").unwrap_or_default().to_owned(),
        scope,
        state: params.get("state").map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        hinted_subject: None,
        bound_user: None,
        audience,
        launch: None,
        picked_patient: None,
    })
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    for v in value.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        match v {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // `select_account`, `create` and future values: nothing to do here.
            _ => {}
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err("prompt=none cannot be combined with other values");
    }
    Ok(prompt)
}

/// Who is signed in in this browser session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub user_id: String,
    pub auth_time: i64,
    /// The authorization request for which the user last typed their password, so that
    /// `prompt=login` and `max_age` are satisfied by that sign-in and do not loop.
    pub signed_in_for: Option<String>,
    /// The `sign_ins` row of this sign-in (empty in sessions from before it existed).
    #[serde(default)]
    pub sign_in_id: String,
}

impl SignedIn {
    /// Did the user type their password for this very request?
    pub fn is_for(&self, request_id: &str) -> bool {
        self.signed_in_for.as_deref() == Some(request_id)
    }
}

/// The URL to send the browser back to: the verified redirect URI with `params` added to its
/// query (keeping any query it has), and `iss` (RFC 9207) always.
pub fn redirect_url(redirect_uri: &str, issuer: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
                query.append_pair("iss", issuer);
            }
            url.to_string()
        }
        // Registered URIs are validated when registered; this cannot happen for them.
        Err(_) => redirect_uri.to_owned(),
    }
}

impl ErrorRedirect {
    pub fn url(&self, issuer: &str) -> String {
        let mut params = vec![
            ("error", self.error.code.as_str()),
            ("error_description", &self.error.description),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        redirect_url(&self.redirect_uri, issuer, &params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::store::{AuthMethod, StringList};

    fn client(grant_types: &str) -> Client {
        Client {
            client_id: "c".into(),
            name: "App".into(),
            redirect_uris: ["https://app.example/cb"].into_iter().collect(),
            secret_hash: None,
            token_endpoint_auth_method: AuthMethod::None,
            id_token_signed_response_alg: "RS256".into(),
            created_at: 0,
            max_confidentiality: None,
            allowed_sensitivity: None,
            ehr_launcher: false,
            jwks: None,
            jwks_uri: None,
            grant_types: StringList::try_from(grant_types.to_owned()).unwrap(),
            system_scopes: None,
            registration_token_hash: None,
            metadata: "{}".into(),
            resource_server_for: StringList::default(),
        }
    }

    fn config() -> Config {
        Config::from_settings(Settings {
            issuer: Some("https://as.example".into()),
            fhir_base_urls: Some(vec!["https://as.example/fhir".into()]),
            ..Settings::default()
        })
        .unwrap()
    }

    fn params(extra: &str) -> Params {
        let base = format!(
            "response_type=code&client_id=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge={}&code_challenge_method=S256&{extra}",
            "a".repeat(43)
        );
        Params::parse(
            base.as_bytes(),
            crate::flow::params::MAX_PROTOCOL_PARAMETERS,
        )
    }

    fn check(extra: &str) -> Result<AuthorizationRequest, Refusal> {
        check_parameters(
            &params(extra),
            &client(r#"["authorization_code","refresh_token"]"#),
            &config(),
        )
    }

    #[test]
    fn a_plain_openid_request_passes_with_the_issuer_as_audience() {
        let r = check("scope=openid+profile&state=s").unwrap();
        assert_eq!(r.audience, "https://as.example");
        assert_eq!(r.scope.to_string(), "openid profile");
        assert_eq!(r.state.as_deref(), Some("s"));
    }

    #[test]
    fn parameter_errors_are_named_as_the_rfcs_name_them() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "repeated parameter",
                "scope=openid&scope=openid",
                "invalid_request",
            ),
            ("no scope left", "scope=admin", "invalid_scope"),
            (
                "malformed SMART scope",
                "scope=patient/Observation.dus",
                "invalid_scope",
            ),
            (
                "request object",
                "scope=openid&request=x",
                "request_not_supported",
            ),
            (
                "FHIR scope without aud",
                "scope=patient/*.rs",
                "invalid_request",
            ),
            (
                "unknown aud",
                "scope=openid&aud=https://evil.example/fhir",
                "invalid_request",
            ),
            (
                "launch scope without launch",
                "scope=launch+openid&aud=https://as.example/fhir",
                "invalid_request",
            ),
            ("bad max_age", "scope=openid&max_age=-1", "invalid_request"),
            (
                "prompt none with login",
                "scope=openid&prompt=none+login",
                "invalid_request",
            ),
        ];
        for (label, extra, error) in cases {
            assert_eq!(check(extra).unwrap_err().code.as_str(), *error, "{label}");
        }
    }

    #[test]
    fn too_many_parameters_or_scope_values_are_invalid_request() {
        let many: String = (0..100).map(|i| format!("x{i}=1&")).collect();
        assert_eq!(
            check(&format!("scope=openid&{many}"))
                .unwrap_err()
                .code
                .as_str(),
            "invalid_request"
        );
        let scopes: Vec<String> = (0..300).map(|i| format!("s{i}")).collect();
        assert_eq!(
            check(&format!("scope={}", scopes.join("+")))
                .unwrap_err()
                .description,
            "scope has too many values (at most 256)"
        );
    }

    #[test]
    fn the_token_audience_is_the_configured_spelling_of_the_fhir_base() {
        let r = check("scope=patient/*.rs&aud=https%3A%2F%2Fas.example%2Ffhir%2F").unwrap();
        assert_eq!(r.audience, "https://as.example/fhir");
    }

    #[test]
    fn clients_without_the_refresh_grant_are_not_given_offline_access() {
        let no_refresh = client(r#"["authorization_code"]"#);
        let r = check_parameters(
            &params("scope=openid+offline_access+online_access"),
            &no_refresh,
            &config(),
        )
        .unwrap();
        assert_eq!(r.scope.to_string(), "openid");
    }

    #[test]
    fn prompt_values() {
        assert_eq!(
            parse_prompt(Some("login consent")).unwrap(),
            Prompt {
                none: false,
                login: true,
                consent: true
            }
        );
        assert!(parse_prompt(Some("none login")).is_err());
        assert_eq!(
            parse_prompt(Some("select_account")).unwrap(),
            Prompt::default()
        );
    }

    #[test]
    fn redirect_keeps_the_registered_query_and_adds_iss() {
        let url = redirect_url(
            "https://app.example/cb?x=1",
            "https://as.example",
            &[("code", "abc"), ("state", "s p")],
        );
        assert_eq!(
            url,
            "https://app.example/cb?x=1&code=abc&state=s+p&iss=https%3A%2F%2Fas.example"
        );
    }
}

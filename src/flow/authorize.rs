//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, SMART App Launch
//! §"Obtain authorization code"): validation into a typed request, and the decision of what
//! the user must do next.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::flow::launch::{self, LaunchContext};
use crate::scope::{self, ScopeSet};
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
    /// The `sub` of a valid `id_token_hint`.
    pub hinted_subject: Option<String>,
    /// The audience of the tokens: the FHIR base URL named by `aud`/`resource`, or the issuer.
    pub audience: String,
    /// The context of an EHR launch (`launch` parameter), resolved and spent at validation.
    #[serde(default)]
    pub launch: Option<LaunchContext>,
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
    /// The client or redirect URI could not be verified: show an error page and never
    /// redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.11 no open redirectors).
    Page(&'static str),
    /// Redirect to the verified redirect URI with an error (RFC 6749 §4.1.2.1).
    Redirect(ErrorRedirect),
    /// The database failed: an error page, no redirect.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: &'static str,
    pub description: &'static str,
    pub state: Option<String>,
}

impl From<StoreError> for AuthorizeError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = ?e, "storage failure during authorization");
        AuthorizeError::Unavailable
    }
}

/// Longest value accepted for any single parameter: generous for SMART scope lists, small
/// enough that a stored request stays small.
const MAX_PARAMETER_LENGTH: usize = 4096;

/// Validates raw parameters (from the query of a GET or the form of a POST).
pub async fn validate(
    services: &Services,
    params: &[(String, String)],
) -> Result<(AuthorizationRequest, Client), AuthorizeError> {
    let get = |name: &str| -> Option<&str> {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let repeated = |name: &str| params.iter().filter(|(k, _)| k == name).count() > 1;

    // 1. Client and redirect URI: until both are verified, errors are pages.
    if repeated("client_id") || repeated("redirect_uri") {
        return Err(AuthorizeError::Page(
            "The request repeats client_id or redirect_uri.",
        ));
    }
    let client_id =
        get("client_id").ok_or(AuthorizeError::Page("The request has no client_id."))?;
    let client = services
        .store
        .client_by_id(client_id)
        .await?
        .ok_or(AuthorizeError::Page(
            "The application is not registered here.",
        ))?;
    let redirect_uri = get("redirect_uri").ok_or(AuthorizeError::Page(
        "The request has no redirect_uri; it is required.",
    ))?;
    // RFC 9700 §4.1.3: exact string comparison with a registered value.
    if !client.redirect_uris().iter().any(|r| r == redirect_uri) {
        return Err(AuthorizeError::Page(
            "The redirect_uri is not registered for this application.",
        ));
    }

    // 2. From here on, errors go back to the client.
    let state = get("state").map(str::to_owned);
    let fail = |error: &'static str, description: &'static str| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.to_owned(),
            error,
            description,
            state: state.clone(),
        })
    };
    if params.iter().any(|(k, _)| repeated(k)) {
        return Err(fail("invalid_request", "a parameter is repeated"));
    }
    if params.iter().any(|(_, v)| v.len() > MAX_PARAMETER_LENGTH) {
        return Err(fail("invalid_request", "a parameter is too long"));
    }
    if get("request").is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match get("response_type") {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only the authorization code flow (response_type=code) is supported",
            ));
        }
    }
    if let Some(mode) = get("response_mode")
        && mode != "query"
    {
        return Err(fail(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }

    // Scope: unsupported values are left out of the grant (RFC 6749 §3.3 lets the server
    // grant less); nothing left is an error.
    let requested = get("scope")
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|_| fail("invalid_scope", "scope is malformed"))?
        .unwrap_or_default();
    if requested.iter().any(scope::is_malformed_smart) {
        return Err(fail(
            "invalid_scope",
            "a SMART scope is malformed (expected context/Type.cruds, letters in that order)",
        ));
    }
    let scope = requested.filter(scope::is_supported);
    if scope.is_empty() {
        return Err(fail("invalid_scope", "no requested scope is supported"));
    }

    // PKCE S256, required of every client (RFC 9700 §2.1.1, SMART: S256 only, never plain).
    let code_challenge = get("code_challenge").ok_or_else(|| {
        fail(
            "invalid_request",
            "code_challenge is required (PKCE with S256)",
        )
    })?;
    if get("code_challenge_method") != Some("S256") {
        return Err(fail(
            "invalid_request",
            "code_challenge_method must be S256; plain is not supported",
        ));
    }
    if !secrets::is_valid_s256_challenge(code_challenge) {
        return Err(fail(
            "invalid_request",
            "code_challenge is not a valid S256 challenge",
        ));
    }

    let prompt = parse_prompt(get("prompt")).map_err(|d| fail("invalid_request", d))?;
    let max_age = match get("max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    "invalid_request",
                    "max_age must be a non-negative integer",
                ));
            }
        },
    };

    // SMART: `aud` (or RFC 8707 `resource`) names the FHIR server; required when FHIR
    // access is asked, and it must be one this server issues tokens for.
    let audience = match (get("aud"), get("resource")) {
        (Some(a), Some(r)) if a != r => {
            return Err(fail(
                "invalid_request",
                "aud and resource name different servers",
            ));
        }
        (Some(a), _) | (None, Some(a)) => {
            if !services.config.is_fhir_base(a) {
                return Err(fail(
                    "invalid_request",
                    "aud is not a FHIR server this authorization server issues tokens for",
                ));
            }
            a.to_owned()
        }
        (None, None) => {
            if scope.iter().any(scope::is_fhir_scope) {
                return Err(fail(
                    "invalid_request",
                    "aud is required when FHIR access is requested",
                ));
            }
            services.config.issuer.clone()
        }
    };

    // SMART EHR launch: the `launch` handle pairs with the `launch` scope, is single use, and
    // may be bound to a user, who must then be the one signed in.
    let mut bound_user = None;
    let launch = match get("launch") {
        None if scope.contains("launch") => {
            return Err(fail(
                "invalid_request",
                "the launch scope needs the launch parameter of an EHR launch",
            ));
        }
        None => None,
        Some(handle) => match launch::resolve(services, handle, &client.client_id).await? {
            Some((context, user)) => {
                bound_user = user;
                Some(context)
            }
            None => {
                return Err(fail(
                    "invalid_request",
                    "launch is unknown, expired or already used",
                ));
            }
        },
    };

    let hinted_subject = match get("id_token_hint") {
        None => None,
        Some(hint) => {
            let ring = services.keys.current();
            Some(
                verify_id_token_hint(&ring, hint, &services.config.issuer)
                    .map_err(|_| fail("invalid_request", "id_token_hint is not valid"))?,
            )
        }
    };

    // `display`, `ui_locales`, `claims_locales` and `acr_values` are accepted and have no
    // effect (OIDC Core §15.1 minimum); any other unknown parameter is ignored (RFC 6749 §3.1).
    let request = AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state,
        nonce: get("nonce").map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        prompt,
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        hinted_subject: hinted_subject.or(bound_user),
        audience,
        launch,
    };
    Ok((request, client))
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

/// What the user must do before a code can be issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    SignIn,
    Consent,
    /// Everything asked for is covered by remembered consent.
    IssueCode,
    Fail(&'static str, &'static str),
}

/// OIDC Core §3.1.2.3-§3.1.2.6: decides between sign-in, consent and issuing the code.
pub fn next_step(
    request_id: &str,
    request: &AuthorizationRequest,
    signed_in: Option<&SignedIn>,
    remembered: Option<&ScopeSet>,
    now: i64,
) -> Next {
    let fresh = |s: &SignedIn| s.signed_in_for.as_deref() == Some(request_id);
    let needs_sign_in = match signed_in {
        None => true,
        Some(s) => {
            let too_old = request.max_age.is_some_and(|max| now - s.auth_time > max);
            let wrong_user = request
                .hinted_subject
                .as_deref()
                .is_some_and(|sub| sub != s.user_id);
            !fresh(s) && (request.prompt.login || too_old || wrong_user)
        }
    };
    if needs_sign_in {
        return if request.prompt.none {
            Next::Fail("login_required", "the user must sign in")
        } else {
            Next::SignIn
        };
    }
    let covered = remembered.is_some_and(|r| request.scope.is_subset_of(r));
    if request.prompt.consent || !covered {
        return if request.prompt.none {
            Next::Fail("consent_required", "the user must consent")
        } else {
            Next::Consent
        };
    }
    Next::IssueCode
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
            ("error", self.error),
            ("error_description", self.description),
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

    fn request(prompt: Prompt, max_age: Option<i64>) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: ScopeSet::parse("openid profile").unwrap(),
            state: None,
            nonce: None,
            code_challenge: "x".repeat(43),
            prompt,
            max_age,
            login_hint: None,
            hinted_subject: None,
            audience: "https://as.example".into(),
            launch: None,
        }
    }

    fn signed_in(auth_time: i64, for_request: Option<&str>) -> SignedIn {
        SignedIn {
            user_id: "u".into(),
            auth_time,
            signed_in_for: for_request.map(str::to_owned),
            sign_in_id: "s".into(),
        }
    }

    #[test]
    fn no_session_means_sign_in_or_login_required() {
        let r = request(Prompt::default(), None);
        assert_eq!(next_step("r1", &r, None, None, 0), Next::SignIn);
        let none = request(
            Prompt {
                none: true,
                ..Prompt::default()
            },
            None,
        );
        assert_eq!(
            next_step("r1", &none, None, None, 0),
            Next::Fail("login_required", "the user must sign in")
        );
    }

    #[test]
    fn remembered_consent_skips_the_consent_page_unless_prompted_or_more_is_asked() {
        let r = request(Prompt::default(), None);
        let s = signed_in(0, None);
        let all = ScopeSet::parse("openid profile email").unwrap();
        let less = ScopeSet::parse("openid").unwrap();
        assert_eq!(
            next_step("r1", &r, Some(&s), Some(&all), 10),
            Next::IssueCode
        );
        assert_eq!(
            next_step("r1", &r, Some(&s), Some(&less), 10),
            Next::Consent
        );
        assert_eq!(next_step("r1", &r, Some(&s), None, 10), Next::Consent);
        let again = request(
            Prompt {
                consent: true,
                ..Prompt::default()
            },
            None,
        );
        assert_eq!(
            next_step("r1", &again, Some(&s), Some(&all), 10),
            Next::Consent
        );
        let silent = request(
            Prompt {
                none: true,
                ..Prompt::default()
            },
            None,
        );
        assert!(matches!(
            next_step("r1", &silent, Some(&s), Some(&less), 10),
            Next::Fail("consent_required", _)
        ));
    }

    #[test]
    fn prompt_login_and_max_age_need_a_sign_in_for_this_request() {
        let all = ScopeSet::parse("openid profile").unwrap();
        let login = request(
            Prompt {
                login: true,
                ..Prompt::default()
            },
            None,
        );
        assert_eq!(
            next_step("r1", &login, Some(&signed_in(0, None)), Some(&all), 10),
            Next::SignIn
        );
        assert_eq!(
            next_step(
                "r1",
                &login,
                Some(&signed_in(0, Some("r1"))),
                Some(&all),
                10
            ),
            Next::IssueCode
        );
        let aged = request(Prompt::default(), Some(5));
        assert_eq!(
            next_step("r1", &aged, Some(&signed_in(0, None)), Some(&all), 10),
            Next::SignIn
        );
        assert_eq!(
            next_step("r1", &aged, Some(&signed_in(8, None)), Some(&all), 10),
            Next::IssueCode
        );
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

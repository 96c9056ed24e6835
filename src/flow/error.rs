//! Protocol errors, named as the RFCs name them: one vocabulary for every endpoint. The HTTP
//! layer maps a code to its status in one place (`http::error`), and adds the
//! `WWW-Authenticate` challenge that fits how the request authenticated.

use std::borrow::Cow;

use crate::store::StoreError;
use crate::tokens::TokenError;

/// Every `error` code Clearance sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    // RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token endpoint).
    /// The request is missing a required parameter, includes an unsupported parameter value,
    /// repeats a parameter, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (unknown client, no client authentication included, or
    /// unsupported authentication method).
    InvalidClient,
    /// The provided authorization grant or refresh token is invalid, expired, revoked, does
    /// not match the redirection URI, or was issued to another client.
    InvalidGrant,
    /// The client is not authorized to use this grant type.
    UnauthorizedClient,
    /// The authorization grant type is not supported by the authorization server.
    UnsupportedGrantType,
    /// The authorization server does not support this `response_type`.
    UnsupportedResponseType,
    /// The requested scope is invalid, unknown, malformed, or exceeds the scope granted.
    InvalidScope,
    /// The resource owner or the authorization server denied the request.
    AccessDenied,
    /// The server met an unexpected condition.
    ServerError,
    /// The server cannot handle the request now (its database is unreachable).
    TemporarilyUnavailable,
    // OIDC Core §3.1.2.6 (authorization endpoint, `prompt=none`).
    /// The user must sign in.
    LoginRequired,
    /// The user must consent.
    ConsentRequired,
    /// Some other interaction with the user is needed.
    InteractionRequired,
    /// The `request` parameter (a request object) is not supported.
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    RequestUriNotSupported,
    // RFC 6750 §3.1 (bearer-protected endpoints).
    /// The access token is expired, revoked, malformed, or invalid.
    InvalidToken,
    /// The request requires higher privileges than the access token provides.
    InsufficientScope,
    // RFC 7591 §3.2.2 (registration).
    /// A redirect URI in the metadata is not acceptable.
    InvalidRedirectUri,
    /// A metadata field is not acceptable.
    InvalidClientMetadata,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error: its code and a description that is safe to show (never a secret, never
/// an internal detail). The same type serves the authorization endpoint's redirects, the
/// JSON endpoints and registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidScope, description)
    }

    pub fn access_denied(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::AccessDenied, description)
    }

    pub fn invalid_token(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidToken, description)
    }

    pub fn invalid_client_metadata(description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidClientMetadata, description)
    }

    pub fn is_invalid_client(&self) -> bool {
        self.code == ErrorCode::InvalidClient
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

/// A storage failure, logged here once, becomes `temporarily_unavailable` (the database is
/// unreachable or busy) or `server_error`.
impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "the service is temporarily unavailable, try again",
                )
            }
            other => {
                tracing::error!(error = ?other, "storage failure");
                OAuthError::new(ErrorCode::ServerError, "internal error")
            }
        }
    }
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        tracing::error!(error = %e, "token signing failure");
        OAuthError::new(ErrorCode::ServerError, "internal error")
    }
}

//! Protocol errors, named as the RFCs name them. The HTTP layer turns them into responses.

use crate::store::StoreError;
use crate::tokens::TokenError;

/// RFC 6749 §5.2 token endpoint error codes (and RFC 6750 §3.1 for bearer-protected ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a required parameter, includes an unsupported parameter value,
    /// repeats a parameter, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (unknown client, no client authentication included, or
    /// unsupported authentication method).
    InvalidClient,
    /// The provided authorization grant or refresh token is invalid, expired, revoked, does
    /// not match the redirection URI, or was issued to another client.
    InvalidGrant,
    /// The authenticated client is not authorized to use this authorization grant type.
    UnauthorizedClient,
    /// The authorization grant type is not supported by the authorization server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, malformed, or exceeds the scope granted.
    InvalidScope,
    /// RFC 6750 §3.1: the access token is expired, revoked, malformed, or invalid.
    InvalidToken,
    /// RFC 6750 §3.1: the request requires higher privileges than the access token provides.
    InsufficientScope,
    /// The server met an unexpected condition.
    ServerError,
    /// The server cannot handle the request now (its database is unreachable).
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An error for the token, UserInfo and other JSON endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Human-readable, safe to show: never a secret, never an internal detail.
    pub description: &'static str,
    /// The client tried HTTP Basic authentication: an `invalid_client` answer is then 401
    /// with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub used_basic_auth: bool,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: &'static str) -> OAuthError {
        OAuthError {
            code,
            description,
            used_basic_auth: false,
        }
    }

    pub fn invalid_request(description: &'static str) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: &'static str) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(description: &'static str) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidClient, description)
    }
}

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

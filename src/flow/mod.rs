//! The protocol, free of HTTP: plain values in, results out.

pub mod account;
pub mod audit;
pub mod authorization_response;
pub mod authorize;
pub mod client_assertion;
pub mod client_auth;
pub mod clients;
pub mod consent;
pub mod consent_export;
pub mod error;
pub mod grant;
pub mod interaction;
pub mod introspect;
pub mod launch;
pub mod metadata;
pub mod params;
pub mod patients;
pub mod registration;
pub mod userinfo;
pub mod users;

pub use error::{ErrorCode, OAuthError};

//! Token minting and verification. The only module that touches the JOSE library.

pub mod claims;
pub mod client_keys;
pub mod jwks_fetch;
pub mod keys;

pub use claims::{AccessTokenClaims, IdTokenClaims};
pub use keys::{Alg, KeyRing, Keys};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("no active signing key for {0}")]
    NoKey(&'static str),
    #[error("JOSE failure: {0}")]
    Jose(#[from] josekit::JoseError),
    #[error("token is invalid: {0}")]
    Invalid(&'static str),
}

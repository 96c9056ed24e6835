//! Storage: a trait per aggregate (users, patients, clients, keys, authorizations, tokens,
//! launches, audit; one file each, with its SQL beside the binds), `Store` as their sum, and
//! one implementation of each for both pools: SQLite (embedded, the default) and PostgreSQL.
//!
//! Invariants the methods encode (ARCHITECTURE habit 9):
//! - bearer secrets (codes, refresh tokens, client secrets) are stored only as SHA-256 hashes;
//! - a code or refresh token is spent by one atomic `UPDATE ... WHERE spent IS NULL RETURNING`,
//!   so two concurrent redemptions cannot both succeed, and a spent one is remembered so that
//!   reuse can be detected (RFC 6749 §4.1.2, RFC 9700 §4.14.2).

mod audit;
mod authorizations;
mod clients;
mod keys;
mod launches;
mod macros;
mod patients;
pub mod postgres;
mod rows;
pub mod sqlite;
mod tokens;
mod users;

use async_trait::async_trait;

pub use crate::labels::SecurityClaim;
pub use audit::AuditStore;
pub use authorizations::AuthorizationStore;
pub use clients::ClientStore;
pub use keys::KeyStore;
pub use launches::LaunchStore;
pub use patients::PatientStore;
pub use rows::*;
pub use tokens::TokenStore;
pub use users::UserStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (username, client id) is already taken.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database cannot be reached right now; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            // SQLSTATE class 08 (connection exception) and 57P01-57P03 (the server is shutting
            // down or starting): the database went away; the request may be retried.
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| {
                    c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
                }) =>
            {
                StoreError::Unavailable(e)
            }
            // SQLite busy or locked (primary codes 5 and 6, with their extended codes): another
            // writer held the database past the busy timeout. The request may be retried.
            sqlx::Error::Database(db)
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && db
                        .code()
                        .and_then(|c| c.parse::<i64>().ok())
                        .is_some_and(|c| matches!(c & 0xff, 5 | 6)) =>
            {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            _ => StoreError::Database(e),
        }
    }
}

/// What became of a code or refresh token presented for redemption.
#[derive(Debug)]
pub enum Redemption<T> {
    /// It was unspent and is now spent by this call.
    Fresh(T),
    /// It was spent before: a replay. The grant it belongs to is named so it can be revoked.
    Reused { grant_id: String },
    /// It exists, unspent, but belongs to another client: refused without spending it.
    OtherClient,
    /// Never issued (or already purged).
    Unknown,
}

/// The whole store: the sum of the per-aggregate stores, one implementation per back end
/// (`sqlite.rs`, `postgres.rs`). Code that needs one aggregate names its trait.
#[async_trait]
pub trait Store:
    UserStore
    + PatientStore
    + ClientStore
    + KeyStore
    + AuthorizationStore
    + TokenStore
    + LaunchStore
    + AuditStore
    + Send
    + Sync
    + 'static
{
    /// Cheap liveness query for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

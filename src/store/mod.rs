//! Storage: one `Store` trait, with a SQLite implementation (embedded, the default). The
//! PostgreSQL implementation follows the same trait, so nothing above this module changes.
//!
//! Invariants the methods encode (ARCHITECTURE habit 9):
//! - bearer secrets (codes, refresh tokens, client secrets) are stored only as SHA-256 hashes;
//! - a code or refresh token is spent by one atomic `UPDATE ... WHERE spent IS NULL RETURNING`,
//!   so two concurrent redemptions cannot both succeed, and a spent one is remembered so that
//!   reuse can be detected (RFC 6749 §4.1.2, RFC 9700 §4.14.2).

mod macros;
pub mod postgres;
mod rows;
mod sql;
pub mod sqlite;

use async_trait::async_trait;

pub use rows::*;

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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap liveness query for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    // Users.
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn delete_user(&self, username: &str) -> StoreResult<bool>;

    // Clients.
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    async fn client_by_id(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
    /// Replaces a client's registration (all but id and creation time); false if unknown.
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;

    // Client assertions and registration.
    /// Records a client assertion's `jti` until `expires_at`; false if it was seen before.
    async fn record_assertion_jti(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> StoreResult<bool>;
    async fn insert_initial_access_token(
        &self,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Spends an unexpired, unused initial access token; false if it cannot be used.
    async fn spend_initial_access_token(&self, token_hash: &str, now: i64) -> StoreResult<bool>;

    // Signing keys.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>>;
    /// Adds `key` as the newest key of its algorithm and marks the older active keys of that
    /// algorithm retired at `now`, in one transaction.
    async fn rotate_signing_key(&self, key: &SigningKeyRow, now: i64) -> StoreResult<()>;
    /// Inserts `key` only when no active key of its algorithm exists; returns whether it did.
    /// Two instances starting together on an empty database thus agree on one key.
    async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> StoreResult<bool>;
    /// Removes retired keys whose retirement is older than `before`.
    async fn delete_retired_keys(&self, before: i64) -> StoreResult<u64>;

    // Pending authorization requests (between /authorize and the code).
    async fn insert_authorization_request(&self, request: &PendingRequest) -> StoreResult<()>;
    async fn authorization_request(
        &self,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<PendingRequest>>;
    /// Replaces the stored request (the patient a practitioner picked is kept in it).
    async fn update_authorization_request(&self, id: &str, request: &str) -> StoreResult<()>;
    async fn delete_authorization_request(&self, id: &str) -> StoreResult<()>;

    // Remembered consent, per user, client and patient in context ('' when none).
    async fn consent(
        &self,
        user_id: &str,
        client_id: &str,
        patient: &str,
    ) -> StoreResult<Option<Consent>>;
    /// Records an Allow (and forgets an earlier Deny).
    async fn upsert_consent(&self, consent: &Consent) -> StoreResult<()>;
    /// Records that the user pressed Deny; the remembered choice is no longer pre-ticked.
    async fn deny_consent(
        &self,
        user_id: &str,
        client_id: &str,
        patient: &str,
        now: i64,
    ) -> StoreResult<()>;

    // Grants, codes, refresh tokens, access token records.
    /// Records a new grant and the code that starts it, in one transaction.
    async fn insert_grant_with_code(
        &self,
        grant: &Grant,
        code: &AuthorizationCode,
    ) -> StoreResult<()>;
    async fn grant(&self, id: &str) -> StoreResult<Option<Grant>>;
    /// Marks the grant revoked; its refresh tokens and access tokens stop working with it.
    async fn revoke_grant(&self, id: &str, now: i64) -> StoreResult<()>;
    /// Reads a code without spending it (to check a request before redeeming).
    async fn code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>>;
    /// Spends the code and writes the rows of the tokens it buys, in one transaction: when
    /// anything fails, the code stays unspent and the client may retry.
    async fn redeem_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: i64,
        issued: &IssuedTokens,
    ) -> StoreResult<Redemption<AuthorizationCode>>;
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Reads a refresh token without spending it (to check a request before redeeming).
    async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
    /// Spends the refresh token and writes the rows of the new tokens in one transaction.
    async fn redeem_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
        issued: &IssuedTokens,
    ) -> StoreResult<Redemption<RefreshToken>>;
    async fn insert_access_token(&self, record: &AccessTokenRecord) -> StoreResult<()>;
    /// The grant of an access token that is recorded, unexpired, and whose grant is not
    /// revoked (what `access_token_active` checks, with the grant in one query).
    async fn active_access_token_grant(&self, jti: &str, now: i64) -> StoreResult<Option<Grant>>;
    /// Is the access token with this `jti` recorded, unexpired, and its grant not revoked?
    async fn access_token_active(&self, jti: &str, now: i64) -> StoreResult<bool>;

    /// The user's grants, revoked ones included, newest first (at most 200).
    async fn grants_of_user(&self, user_id: &str) -> StoreResult<Vec<Grant>>;
    /// Every grant, newest first (at most 1000), for the operator.
    async fn list_grants(&self) -> StoreResult<Vec<Grant>>;
    /// Ends every grant of the user for the client and forgets the consent, in one
    /// transaction: its refresh tokens and recorded access tokens stop working at once.
    async fn revoke_client_grants(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<u64>;
    /// Replaces the `security` claim (and its categories) of an active grant. The caller
    /// guarantees the new claim is within the old one: labels only narrow.
    async fn narrow_grant(
        &self,
        grant_id: &str,
        security: &str,
        categories: &str,
    ) -> StoreResult<()>;
    /// Replaces the remembered category choice of a consent.
    async fn set_consent_categories(
        &self,
        user_id: &str,
        client_id: &str,
        categories: &str,
        now: i64,
    ) -> StoreResult<()>;

    // The patient directory (for the practitioner's patient picker).
    async fn upsert_patient(&self, patient: &Patient) -> StoreResult<()>;
    async fn patient(&self, id: &str) -> StoreResult<Option<Patient>>;
    /// Patients whose name contains `name` (case-insensitive), by name, at most `limit`.
    async fn search_patients(&self, name: &str, limit: i64) -> StoreResult<Vec<Patient>>;
    async fn count_patients(&self) -> StoreResult<i64>;

    // EHR launch handles.
    async fn insert_launch(&self, launch: &Launch) -> StoreResult<()>;
    /// Spends an unexpired, unused launch handle atomically, if it is for `client_id` (or
    /// for any app); `None` if it cannot be used, and then it stays unspent.
    async fn spend_launch(
        &self,
        launch_hash: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<Launch>>;

    // Backend-service access tokens (client_credentials).
    /// Records a backend token and then its audit event; an error from either means the token
    /// must not be handed out, so no backend token is issued without its entry in the trail.
    async fn insert_client_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The client of an unexpired, unrevoked backend token.
    async fn client_token_active(&self, jti: &str, now: i64) -> StoreResult<Option<String>>;
    async fn revoke_client_token(&self, jti: &str, now: i64) -> StoreResult<()>;

    /// Deletes rows that can no longer be used: expired requests, codes, tokens.
    async fn purge_expired(&self, now: i64) -> StoreResult<u64>;

    // Sign-ins, for SMART `online_access`: usable from the password until sign-out or expiry.
    async fn insert_sign_in(
        &self,
        id: &str,
        user_id: &str,
        created_at: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    async fn end_sign_in(&self, id: &str, now: i64) -> StoreResult<()>;
    /// Has the sign-in neither ended nor expired?
    async fn sign_in_active(&self, id: &str, now: i64) -> StoreResult<bool>;

    // The audit trail.
    async fn record_audit_event(&self, event: &AuditEvent) -> StoreResult<()>;
    /// The newest `limit` events, of one user when `user_id` is given, newest first.
    async fn audit_events(&self, user_id: Option<&str>, limit: i64)
    -> StoreResult<Vec<AuditEvent>>;
    /// Reserves one password check for the account, atomically across instances: false
    /// when `max_attempts` were made within the last `window` seconds (the account pauses).
    async fn reserve_sign_in_attempt(
        &self,
        user_id: &str,
        now: i64,
        window: i64,
        max_attempts: i64,
    ) -> StoreResult<bool>;
    /// A right password: the account's count starts again.
    async fn clear_sign_in_attempts(&self, user_id: &str) -> StoreResult<()>;
    /// Deletes the events older than `before` (the retention period has passed).
    async fn purge_audit_events(&self, before: i64) -> StoreResult<u64>;
}

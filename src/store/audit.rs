//! The audit trail.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit_event(&self, event: &AuditEvent) -> StoreResult<()>;
    /// The newest `limit` events, of one user when `user_id` is given, newest first.
    async fn audit_events(&self, user_id: Option<&str>, limit: i64)
    -> StoreResult<Vec<AuditEvent>>;
    /// Deletes the events older than `before` (the retention period has passed).
    async fn purge_audit_events(&self, before: i64) -> StoreResult<u64>;
}

/// `AuditStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! audit_impl {
    ($store:ty, $db:ty) => {
        /// One audit row, on the pool or inside a transaction.
        async fn insert_audit_event<'e, E>(executor: E, e: &'e AuditEvent) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query("INSERT INTO audit_events (at, event, user_id, client_id, grant_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(e.at)
                .bind(&e.event)
                .bind(&e.user_id)
                .bind(&e.client_id)
                .bind(&e.grant_id)
                .bind(&e.detail)
                .execute(executor)
                .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::store::AuditStore for $store {
            async fn record_audit_event(&self, e: &AuditEvent) -> StoreResult<()> {
                insert_audit_event(&self.pool, e).await
            }

            async fn audit_events(
                &self,
                user_id: Option<&str>,
                limit: i64,
            ) -> StoreResult<Vec<AuditEvent>> {
                let query = match user_id {
                    Some(user_id) => sqlx::query_as("SELECT at, event, user_id, client_id, grant_id, detail FROM audit_events WHERE user_id = $1 ORDER BY id DESC LIMIT $2").bind(user_id),
                    None => sqlx::query_as("SELECT at, event, user_id, client_id, grant_id, detail FROM audit_events ORDER BY id DESC LIMIT $1"),
                };
                Ok(query.bind(limit).fetch_all(&self.pool).await?)
            }

            async fn purge_audit_events(&self, before: i64) -> StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM audit_events WHERE at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }
        }
    };
}

pub(crate) use audit_impl;

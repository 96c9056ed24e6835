//! EHR launch handles (SMART EHR launch): issued once, spent once.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait LaunchStore: Send + Sync {
    async fn insert_launch(&self, launch: &Launch) -> StoreResult<()>;
    /// Spends an unexpired, unused launch handle atomically, if it is for `client_id` (or
    /// for any app); `None` if it cannot be used, and then it stays unspent.
    async fn spend_launch(
        &self,
        launch_hash: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<Launch>>;
}

/// `LaunchStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! launches_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::LaunchStore for $store {
            async fn insert_launch(&self, l: &Launch) -> StoreResult<()> {
                sqlx::query("INSERT INTO launches (launch_hash, issued_to, client_id, patient, encounter, user_id, fhir_context, need_patient_banner, intent, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)")
                    .bind(&l.launch_hash)
                    .bind(&l.issued_to)
                    .bind(&l.client_id)
                    .bind(&l.patient)
                    .bind(&l.encounter)
                    .bind(&l.user_id)
                    .bind(&l.fhir_context)
                    .bind(l.need_patient_banner)
                    .bind(&l.intent)
                    .bind(l.created_at)
                    .bind(l.expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn spend_launch(
                &self,
                launch_hash: &str,
                client_id: &str,
                now: i64,
            ) -> StoreResult<Option<Launch>> {
                Ok(sqlx::query_as("UPDATE launches SET used_at = $2 WHERE launch_hash = $1 AND used_at IS NULL AND expires_at > $2 AND (client_id IS NULL OR client_id = $3) RETURNING *")
                    .bind(launch_hash)
                    .bind(now)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }
        }
    };
}

pub(crate) use launches_impl;

//! The patient directory (for the practitioner's patient picker).

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait PatientStore: Send + Sync {
    async fn upsert_patient(&self, patient: &Patient) -> StoreResult<()>;
    async fn patient(&self, id: &str) -> StoreResult<Option<Patient>>;
    /// Patients whose name contains `name` (case-insensitive), by name, at most `limit`.
    async fn search_patients(&self, name: &str, limit: i64) -> StoreResult<Vec<Patient>>;
    async fn count_patients(&self) -> StoreResult<i64>;
}

/// `PatientStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! patients_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::PatientStore for $store {
            async fn upsert_patient(&self, p: &Patient) -> StoreResult<()> {
                sqlx::query("INSERT INTO patients (id, name, birth_date, gender, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, birth_date = excluded.birth_date, gender = excluded.gender")
                    .bind(&p.id)
                    .bind(&p.name)
                    .bind(&p.birth_date)
                    .bind(&p.gender)
                    .bind(p.created_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn patient(&self, id: &str) -> StoreResult<Option<Patient>> {
                Ok(sqlx::query_as("SELECT * FROM patients WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn search_patients(&self, name: &str, limit: i64) -> StoreResult<Vec<Patient>> {
                let escaped = name.to_lowercase().replace(['%', '_'], "");
                Ok(sqlx::query_as("SELECT * FROM patients WHERE LOWER(name) LIKE $1 ORDER BY name, id LIMIT $2")
                    .bind(format!("%{escaped}%"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn count_patients(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM patients")
                    .fetch_one(&self.pool)
                    .await?)
            }
        }
    };
}

pub(crate) use patients_impl;

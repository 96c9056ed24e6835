//! Users, their sign-ins (SMART `online_access` lasts as long as one) and the sign-in attempts that pause an account.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn delete_user(&self, username: &str) -> StoreResult<bool>;
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
}

/// `UserStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! users_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::UserStore for $store {
            async fn insert_user(&self, u: &User) -> StoreResult<()> {
                sqlx::query("INSERT INTO users (id, username, password_hash, role, fhir_user, name, email, created_at, clearance_confidentiality, clearance_sensitivity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                    .bind(&u.id)
                    .bind(&u.username)
                    .bind(&u.password_hash)
                    .bind(u.role.as_str())
                    .bind(&u.fhir_user)
                    .bind(&u.name)
                    .bind(&u.email)
                    .bind(u.created_at)
                    .bind(&u.clearance_confidentiality)
                    .bind(&u.clearance_sensitivity)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
                Ok(sqlx::query_as("SELECT * FROM users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
                Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_users(&self) -> StoreResult<Vec<User>> {
                Ok(sqlx::query_as("SELECT * FROM users ORDER BY username")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn delete_user(&self, username: &str) -> StoreResult<bool> {
                let r = sqlx::query("DELETE FROM users WHERE username = $1")
                    .bind(username)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_sign_in(
                &self,
                id: &str,
                user_id: &str,
                created_at: i64,
                expires_at: i64,
            ) -> StoreResult<()> {
                sqlx::query("INSERT INTO sign_ins (id, user_id, created_at, expires_at, ended_at) VALUES ($1, $2, $3, $4, NULL)")
                    .bind(id)
                    .bind(user_id)
                    .bind(created_at)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn end_sign_in(&self, id: &str, now: i64) -> StoreResult<()> {
                sqlx::query("UPDATE sign_ins SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn sign_in_active(&self, id: &str, now: i64) -> StoreResult<bool> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sign_ins WHERE id = $1 AND ended_at IS NULL AND expires_at > $2")
                    .bind(id)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(count > 0)
            }

            async fn reserve_sign_in_attempt(
                &self,
                user_id: &str,
                now: i64,
                window: i64,
                max_attempts: i64,
            ) -> StoreResult<bool> {
                let reserved: Option<i64> = sqlx::query_scalar("INSERT INTO sign_in_guard (user_id, window_start, attempts) VALUES ($1, $2, 1) ON CONFLICT (user_id) DO UPDATE SET window_start = CASE WHEN sign_in_guard.window_start <= $3 THEN excluded.window_start ELSE sign_in_guard.window_start END, attempts = CASE WHEN sign_in_guard.window_start <= $3 THEN 1 ELSE sign_in_guard.attempts + 1 END WHERE sign_in_guard.window_start <= $3 OR sign_in_guard.attempts < $4 RETURNING attempts")
                    .bind(user_id)
                    .bind(now)
                    .bind(now - window)
                    .bind(max_attempts)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(reserved.is_some())
            }

            async fn clear_sign_in_attempts(&self, user_id: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sign_in_guard WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use users_impl;

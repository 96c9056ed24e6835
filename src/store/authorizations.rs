//! What the user decided: pending authorization requests, remembered consent (per user, client and patient in context, '' when none), grants and the codes that start them.

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait AuthorizationStore: Send + Sync {
    async fn insert_authorization_request(&self, request: &PendingRequest) -> StoreResult<()>;
    async fn authorization_request(
        &self,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<PendingRequest>>;
    /// Replaces the stored request (the patient a practitioner picked is kept in it).
    async fn update_authorization_request(&self, id: &str, request: &str) -> StoreResult<()>;
    async fn delete_authorization_request(&self, id: &str) -> StoreResult<()>;
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
        security: &SecurityClaim,
        categories: &StringList,
    ) -> StoreResult<()>;
    /// Replaces the remembered category choice of a consent.
    async fn set_consent_categories(
        &self,
        user_id: &str,
        client_id: &str,
        categories: &StringList,
        now: i64,
    ) -> StoreResult<()>;
}

/// `AuthorizationStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! authorizations_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::AuthorizationStore for $store {
            async fn insert_authorization_request(&self, r: &PendingRequest) -> StoreResult<()> {
                sqlx::query("INSERT INTO authorization_requests (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&r.id)
                    .bind(&r.client_id)
                    .bind(&r.request)
                    .bind(r.created_at)
                    .bind(r.expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn authorization_request(
                &self,
                id: &str,
                now: i64,
            ) -> StoreResult<Option<PendingRequest>> {
                Ok(sqlx::query_as("SELECT * FROM authorization_requests WHERE id = $1 AND expires_at > $2")
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn update_authorization_request(
                &self,
                id: &str,
                request: &str,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE authorization_requests SET request = $2 WHERE id = $1")
                    .bind(id)
                    .bind(request)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_authorization_request(&self, id: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM authorization_requests WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn consent(
                &self,
                user_id: &str,
                client_id: &str,
                patient: &str,
            ) -> StoreResult<Option<Consent>> {
                Ok(sqlx::query_as("SELECT * FROM consents WHERE user_id = $1 AND client_id = $2 AND patient = $3")
                    .bind(user_id)
                    .bind(client_id)
                    .bind(patient)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn upsert_consent(&self, c: &Consent) -> StoreResult<()> {
                sqlx::query("INSERT INTO consents (user_id, client_id, patient, scope, updated_at, categories, denied_at) VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (user_id, client_id, patient) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at, categories = excluded.categories, denied_at = NULL")
                    .bind(&c.user_id)
                    .bind(&c.client_id)
                    .bind(&c.patient)
                    .bind(c.scope.to_string())
                    .bind(c.updated_at)
                    .bind(c.categories.to_json())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn deny_consent(
                &self,
                user_id: &str,
                client_id: &str,
                patient: &str,
                now: i64,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE consents SET denied_at = $4 WHERE user_id = $1 AND client_id = $2 AND patient = $3")
                    .bind(user_id)
                    .bind(client_id)
                    .bind(patient)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn insert_grant_with_code(
                &self,
                g: &Grant,
                c: &AuthorizationCode,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("INSERT INTO grants (id, user_id, client_id, scope, audience, auth_time, created_at, revoked_at, security, categories, patient, encounter, fhir_context, need_patient_banner, intent, sign_in_id) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $13, $14, $15)")
                    .bind(&g.id)
                    .bind(&g.user_id)
                    .bind(&g.client_id)
                    .bind(g.scope.to_string())
                    .bind(&g.audience)
                    .bind(g.auth_time)
                    .bind(g.created_at)
                    .bind(serde_json::to_string(&g.security).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                    .bind(g.categories.to_json())
                    .bind(&g.patient)
                    .bind(&g.encounter)
                    .bind(&g.fhir_context)
                    .bind(g.need_patient_banner)
                    .bind(&g.intent)
                    .bind(&g.sign_in_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, nonce, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)")
                    .bind(&c.code_hash)
                    .bind(&c.grant_id)
                    .bind(&c.client_id)
                    .bind(&c.redirect_uri)
                    .bind(&c.code_challenge)
                    .bind(&c.nonce)
                    .bind(c.expires_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn grant(&self, id: &str) -> StoreResult<Option<Grant>> {
                Ok(sqlx::query_as("SELECT * FROM grants WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn revoke_grant(&self, id: &str, now: i64) -> StoreResult<()> {
                sqlx::query("UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
                Ok(sqlx::query_as("SELECT * FROM authorization_codes WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn grants_of_user(&self, user_id: &str) -> StoreResult<Vec<Grant>> {
                Ok(sqlx::query_as("SELECT * FROM grants WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 200")
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn list_grants(&self) -> StoreResult<Vec<Grant>> {
                Ok(sqlx::query_as("SELECT * FROM grants ORDER BY created_at DESC, id LIMIT 1000")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn revoke_client_grants(
                &self,
                user_id: &str,
                client_id: &str,
                now: i64,
            ) -> StoreResult<u64> {
                let mut tx = self.pool.begin().await?;
                let revoked = sqlx::query("UPDATE grants SET revoked_at = $3 WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL")
                    .bind(user_id)
                    .bind(client_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(revoked)
            }

            async fn narrow_grant(
                &self,
                grant_id: &str,
                security: &SecurityClaim,
                categories: &StringList,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE grants SET security = $2, categories = $3 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(grant_id)
                    .bind(
                        serde_json::to_string(security)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    )
                    .bind(categories.to_json())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_consent_categories(
                &self,
                user_id: &str,
                client_id: &str,
                categories: &StringList,
                now: i64,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE consents SET categories = $3, updated_at = $4 WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .bind(categories.to_json())
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use authorizations_impl;

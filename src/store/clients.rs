//! Registered clients, the `jti`s of their assertions (RFC 7523 §3 replay) and initial access tokens (RFC 7591 §3).

use async_trait::async_trait;

use super::*;

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    async fn client_by_id(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;
    /// Replaces a client's registration (all but id and creation time); false if unknown.
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
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
}

/// `ClientStore` over an sqlx pool, expanded for each back end (`sqlite.rs`, `postgres.rs`):
/// each query's SQL sits beside its binds.
macro_rules! clients_impl {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ClientStore for $store {
            async fn insert_client(&self, c: &Client) -> StoreResult<()> {
                sqlx::query("INSERT INTO clients (client_id, name, redirect_uris, secret_hash, token_endpoint_auth_method, id_token_signed_response_alg, created_at, max_confidentiality, allowed_sensitivity, ehr_launcher, jwks, jwks_uri, grant_types, system_scopes, registration_token_hash, metadata, resource_server_for) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)")
                    .bind(&c.client_id)
                    .bind(&c.name)
                    .bind(c.redirect_uris.to_json())
                    .bind(&c.secret_hash)
                    .bind(c.token_endpoint_auth_method.as_str())
                    .bind(&c.id_token_signed_response_alg)
                    .bind(c.created_at)
                    .bind(&c.max_confidentiality)
                    .bind(&c.allowed_sensitivity)
                    .bind(c.ehr_launcher)
                    .bind(&c.jwks)
                    .bind(&c.jwks_uri)
                    .bind(c.grant_types.to_json())
                    .bind(&c.system_scopes)
                    .bind(&c.registration_token_hash)
                    .bind(&c.metadata)
                    .bind(c.resource_server_for.to_json_or_null())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn client_by_id(&self, client_id: &str) -> StoreResult<Option<Client>> {
                Ok(sqlx::query_as("SELECT * FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_clients(&self) -> StoreResult<Vec<Client>> {
                Ok(sqlx::query_as("SELECT * FROM clients ORDER BY created_at, client_id")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
                let r = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn update_client(&self, c: &Client) -> StoreResult<bool> {
                let r = sqlx::query("UPDATE clients SET name = $2, redirect_uris = $3, secret_hash = $4, token_endpoint_auth_method = $5, id_token_signed_response_alg = $6, max_confidentiality = $7, allowed_sensitivity = $8, ehr_launcher = $9, jwks = $10, jwks_uri = $11, grant_types = $12, system_scopes = $13, registration_token_hash = $14, metadata = $15, resource_server_for = $16 WHERE client_id = $1")
                    .bind(&c.client_id)
                    .bind(&c.name)
                    .bind(c.redirect_uris.to_json())
                    .bind(&c.secret_hash)
                    .bind(c.token_endpoint_auth_method.as_str())
                    .bind(&c.id_token_signed_response_alg)
                    .bind(&c.max_confidentiality)
                    .bind(&c.allowed_sensitivity)
                    .bind(c.ehr_launcher)
                    .bind(&c.jwks)
                    .bind(&c.jwks_uri)
                    .bind(c.grant_types.to_json())
                    .bind(&c.system_scopes)
                    .bind(&c.registration_token_hash)
                    .bind(&c.metadata)
                    .bind(c.resource_server_for.to_json_or_null())
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn record_assertion_jti(
                &self,
                client_id: &str,
                jti: &str,
                expires_at: i64,
            ) -> StoreResult<bool> {
                let r = sqlx::query("INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(client_id)
                    .bind(jti)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_initial_access_token(
                &self,
                token_hash: &str,
                now: i64,
                expires_at: i64,
            ) -> StoreResult<()> {
                sqlx::query("INSERT INTO initial_access_tokens (token_hash, created_at, expires_at, used_at) VALUES ($1, $2, $3, NULL)")
                    .bind(token_hash)
                    .bind(now)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn spend_initial_access_token(
                &self,
                token_hash: &str,
                now: i64,
            ) -> StoreResult<bool> {
                let r = sqlx::query("UPDATE initial_access_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
                    .bind(token_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use clients_impl;

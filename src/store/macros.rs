//! The one implementation of `Store` over an sqlx pool, expanded for each back end. The SQL
//! text is shared (`sql.rs`); the row types derive `FromRow` generically; only the pool type
//! differs, which sqlx's generic executors cannot abstract without a wall of trait bounds.

macro_rules! sql_store_impl {
    ($store:ty, $db:ty) => {
        /// One audit row, on the pool or inside a transaction.
        async fn insert_audit_event<'e, E>(executor: E, e: &'e AuditEvent) -> StoreResult<()>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            sqlx::query(sql::INSERT_AUDIT_EVENT)
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

        /// The rows of a token response, inside the transaction that spends its code or
        /// refresh token: all are written, or none and the code or token stays unspent.
        async fn insert_issued(
            tx: &mut sqlx::Transaction<'static, $db>,
            issued: &IssuedTokens,
        ) -> StoreResult<()> {
            sqlx::query(sql::INSERT_ACCESS)
                .bind(&issued.access.jti)
                .bind(&issued.access.grant_id)
                .bind(issued.access.expires_at)
                .execute(&mut **tx)
                .await?;
            if let Some(t) = &issued.refresh {
                sqlx::query(sql::INSERT_REFRESH)
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
        impl $crate::store::Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query(sql::PING).execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_user(&self, u: &User) -> StoreResult<()> {
                sqlx::query(sql::INSERT_USER)
                    .bind(&u.id)
                    .bind(&u.username)
                    .bind(&u.password_hash)
                    .bind(&u.role)
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
                Ok(sqlx::query_as(sql::USER_BY_USERNAME)
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
                Ok(sqlx::query_as(sql::USER_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_users(&self) -> StoreResult<Vec<User>> {
                Ok(sqlx::query_as(sql::LIST_USERS)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn delete_user(&self, username: &str) -> StoreResult<bool> {
                let r = sqlx::query(sql::DELETE_USER)
                    .bind(username)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn insert_client(&self, c: &Client) -> StoreResult<()> {
                sqlx::query(sql::INSERT_CLIENT)
                    .bind(&c.client_id)
                    .bind(&c.name)
                    .bind(&c.redirect_uris)
                    .bind(&c.secret_hash)
                    .bind(&c.token_endpoint_auth_method)
                    .bind(&c.id_token_signed_response_alg)
                    .bind(c.created_at)
                    .bind(&c.max_confidentiality)
                    .bind(&c.allowed_sensitivity)
                    .bind(c.ehr_launcher)
                    .bind(&c.jwks)
                    .bind(&c.jwks_uri)
                    .bind(&c.grant_types)
                    .bind(&c.system_scopes)
                    .bind(&c.registration_token_hash)
                    .bind(&c.metadata)
                    .bind(&c.resource_server_for)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn client_by_id(&self, client_id: &str) -> StoreResult<Option<Client>> {
                Ok(sqlx::query_as(sql::CLIENT_BY_ID)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list_clients(&self) -> StoreResult<Vec<Client>> {
                Ok(sqlx::query_as(sql::LIST_CLIENTS)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
                let r = sqlx::query(sql::DELETE_CLIENT)
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>> {
                Ok(sqlx::query_as(sql::SIGNING_KEYS)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn rotate_signing_key(&self, key: &SigningKeyRow, now: i64) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                // The old key keeps signing until the new one activates, then retires.
                sqlx::query(sql::RETIRE_ACTIVE_KEYS)
                    .bind(&key.alg)
                    .bind(key.activates_at.max(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql::INSERT_KEY)
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
                let r = sqlx::query(sql::INSERT_FIRST_KEY)
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
                let r = sqlx::query(sql::DELETE_RETIRED_KEYS)
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected())
            }

            async fn insert_authorization_request(&self, r: &PendingRequest) -> StoreResult<()> {
                sqlx::query(sql::INSERT_REQUEST)
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
                Ok(sqlx::query_as(sql::REQUEST_BY_ID)
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
                sqlx::query(sql::UPDATE_REQUEST)
                    .bind(id)
                    .bind(request)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn delete_authorization_request(&self, id: &str) -> StoreResult<()> {
                sqlx::query(sql::DELETE_REQUEST)
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
                Ok(sqlx::query_as(sql::CONSENT)
                    .bind(user_id)
                    .bind(client_id)
                    .bind(patient)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn deny_consent(
                &self,
                user_id: &str,
                client_id: &str,
                patient: &str,
                now: i64,
            ) -> StoreResult<()> {
                sqlx::query(sql::DENY_CONSENT)
                    .bind(user_id)
                    .bind(client_id)
                    .bind(patient)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn upsert_consent(&self, c: &Consent) -> StoreResult<()> {
                sqlx::query(sql::UPSERT_CONSENT)
                    .bind(&c.user_id)
                    .bind(&c.client_id)
                    .bind(&c.patient)
                    .bind(&c.scope)
                    .bind(c.updated_at)
                    .bind(&c.categories)
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
                sqlx::query(sql::INSERT_GRANT)
                    .bind(&g.id)
                    .bind(&g.user_id)
                    .bind(&g.client_id)
                    .bind(&g.scope)
                    .bind(&g.audience)
                    .bind(g.auth_time)
                    .bind(g.created_at)
                    .bind(&g.security)
                    .bind(&g.categories)
                    .bind(&g.patient)
                    .bind(&g.encounter)
                    .bind(&g.fhir_context)
                    .bind(g.need_patient_banner)
                    .bind(&g.intent)
                    .bind(&g.sign_in_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql::INSERT_CODE)
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
                Ok(sqlx::query_as(sql::GRANT_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn revoke_grant(&self, id: &str, now: i64) -> StoreResult<()> {
                sqlx::query(sql::REVOKE_GRANT)
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn code(&self, code_hash: &str) -> StoreResult<Option<AuthorizationCode>> {
                Ok(sqlx::query_as(sql::CODE_BY_HASH)
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn redeem_code(
                &self,
                code_hash: &str,
                client_id: &str,
                now: i64,
                issued: &IssuedTokens,
            ) -> StoreResult<Redemption<AuthorizationCode>> {
                let mut tx = self.pool.begin().await?;
                let spent: Option<AuthorizationCode> = sqlx::query_as(sql::SPEND_CODE)
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
                let existing: Option<AuthorizationCode> = sqlx::query_as(sql::CODE_BY_HASH)
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
                sqlx::query(sql::INSERT_REFRESH)
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
                Ok(sqlx::query_as(sql::REFRESH_BY_HASH)
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
                let spent: Option<RefreshToken> = sqlx::query_as(sql::SPEND_REFRESH)
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
                let existing: Option<RefreshToken> = sqlx::query_as(sql::REFRESH_BY_HASH)
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
                sqlx::query(sql::INSERT_ACCESS)
                    .bind(&r.jti)
                    .bind(&r.grant_id)
                    .bind(r.expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn access_token_active(&self, jti: &str, now: i64) -> StoreResult<bool> {
                let n: i64 = sqlx::query_scalar(sql::ACCESS_ACTIVE)
                    .bind(jti)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n > 0)
            }

            async fn grants_of_user(&self, user_id: &str) -> StoreResult<Vec<Grant>> {
                Ok(sqlx::query_as(sql::GRANTS_OF_USER)
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn list_grants(&self) -> StoreResult<Vec<Grant>> {
                Ok(sqlx::query_as(sql::LIST_GRANTS)
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
                let revoked = sqlx::query(sql::REVOKE_CLIENT_GRANTS)
                    .bind(user_id)
                    .bind(client_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(sql::DELETE_CONSENT)
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
                security: &str,
                categories: &str,
            ) -> StoreResult<()> {
                sqlx::query(sql::NARROW_GRANT)
                    .bind(grant_id)
                    .bind(security)
                    .bind(categories)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn set_consent_categories(
                &self,
                user_id: &str,
                client_id: &str,
                categories: &str,
                now: i64,
            ) -> StoreResult<()> {
                sqlx::query(sql::NARROW_CONSENT)
                    .bind(user_id)
                    .bind(client_id)
                    .bind(categories)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn upsert_patient(&self, p: &Patient) -> StoreResult<()> {
                sqlx::query(sql::UPSERT_PATIENT)
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
                Ok(sqlx::query_as(sql::PATIENT_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn search_patients(&self, name: &str, limit: i64) -> StoreResult<Vec<Patient>> {
                let escaped = name.to_lowercase().replace(['%', '_'], "");
                Ok(sqlx::query_as(sql::SEARCH_PATIENTS)
                    .bind(format!("%{escaped}%"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn count_patients(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar(sql::COUNT_PATIENTS)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn insert_launch(&self, l: &Launch) -> StoreResult<()> {
                sqlx::query(sql::INSERT_LAUNCH)
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
                Ok(sqlx::query_as(sql::SPEND_LAUNCH)
                    .bind(launch_hash)
                    .bind(now)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn active_access_token_grant(
                &self,
                jti: &str,
                now: i64,
            ) -> StoreResult<Option<Grant>> {
                Ok(sqlx::query_as(sql::ACTIVE_ACCESS_GRANT)
                    .bind(jti)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn update_client(&self, c: &Client) -> StoreResult<bool> {
                let r = sqlx::query(sql::UPDATE_CLIENT)
                    .bind(&c.client_id)
                    .bind(&c.name)
                    .bind(&c.redirect_uris)
                    .bind(&c.secret_hash)
                    .bind(&c.token_endpoint_auth_method)
                    .bind(&c.id_token_signed_response_alg)
                    .bind(&c.max_confidentiality)
                    .bind(&c.allowed_sensitivity)
                    .bind(c.ehr_launcher)
                    .bind(&c.jwks)
                    .bind(&c.jwks_uri)
                    .bind(&c.grant_types)
                    .bind(&c.system_scopes)
                    .bind(&c.registration_token_hash)
                    .bind(&c.metadata)
                    .bind(&c.resource_server_for)
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
                let r = sqlx::query(sql::RECORD_JTI)
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
                sqlx::query(sql::INSERT_INITIAL_TOKEN)
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
                let r = sqlx::query(sql::SPEND_INITIAL_TOKEN)
                    .bind(token_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(r.rows_affected() > 0)
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
                sqlx::query(sql::INSERT_CLIENT_TOKEN)
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
                Ok(sqlx::query_scalar(sql::CLIENT_TOKEN_ACTIVE)
                    .bind(jti)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn revoke_client_token(&self, jti: &str, now: i64) -> StoreResult<()> {
                sqlx::query(sql::REVOKE_CLIENT_TOKEN)
                    .bind(jti)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
                let mut total = sqlx::query(sql::PURGE_LAUNCHES)
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                for statement in sql::PURGE.iter().chain(sql::PURGE_MORE.iter()) {
                    total += sqlx::query(statement)
                        .bind(now)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                }
                Ok(total)
            }

            async fn record_audit_event(&self, e: &AuditEvent) -> StoreResult<()> {
                insert_audit_event(&self.pool, e).await
            }

            async fn audit_events(
                &self,
                user_id: Option<&str>,
                limit: i64,
            ) -> StoreResult<Vec<AuditEvent>> {
                let query = match user_id {
                    Some(user_id) => sqlx::query_as(sql::AUDIT_EVENTS_OF_USER).bind(user_id),
                    None => sqlx::query_as(sql::AUDIT_EVENTS),
                };
                Ok(query.bind(limit).fetch_all(&self.pool).await?)
            }

            async fn reserve_sign_in_attempt(
                &self,
                user_id: &str,
                now: i64,
                window: i64,
                max_attempts: i64,
            ) -> StoreResult<bool> {
                let reserved: Option<i64> = sqlx::query_scalar(sql::RESERVE_SIGN_IN)
                    .bind(user_id)
                    .bind(now)
                    .bind(now - window)
                    .bind(max_attempts)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(reserved.is_some())
            }

            async fn clear_sign_in_attempts(&self, user_id: &str) -> StoreResult<()> {
                sqlx::query(sql::CLEAR_SIGN_IN)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn insert_sign_in(
                &self,
                id: &str,
                user_id: &str,
                created_at: i64,
                expires_at: i64,
            ) -> StoreResult<()> {
                sqlx::query(sql::INSERT_SIGN_IN)
                    .bind(id)
                    .bind(user_id)
                    .bind(created_at)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn end_sign_in(&self, id: &str, now: i64) -> StoreResult<()> {
                sqlx::query(sql::END_SIGN_IN)
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn sign_in_active(&self, id: &str, now: i64) -> StoreResult<bool> {
                let count: i64 = sqlx::query_scalar(sql::SIGN_IN_ACTIVE)
                    .bind(id)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(count > 0)
            }

            async fn purge_audit_events(&self, before: i64) -> StoreResult<u64> {
                Ok(sqlx::query(sql::PURGE_AUDIT_EVENTS)
                    .bind(before)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }
        }
    };
}

pub(crate) use sql_store_impl;

//! The one implementation of `Store` over an sqlx pool, expanded for each back end: every
//! aggregate's implementation (its SQL is shared; `$n` placeholders work on SQLite and
//! PostgreSQL alike), then `ping`. Only the pool type differs, which sqlx's generic executors
//! cannot abstract without a wall of trait bounds.

macro_rules! sql_store_impl {
    ($store:ty, $db:ty) => {
        $crate::store::users::users_impl!($store, $db);
        $crate::store::patients::patients_impl!($store, $db);
        $crate::store::clients::clients_impl!($store, $db);
        $crate::store::keys::keys_impl!($store, $db);
        $crate::store::authorizations::authorizations_impl!($store, $db);
        $crate::store::tokens::tokens_impl!($store, $db);
        $crate::store::launches::launches_impl!($store, $db);
        $crate::store::audit::audit_impl!($store, $db);

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

pub(crate) use sql_store_impl;

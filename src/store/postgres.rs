//! The PostgreSQL back end, for several stateless instances sharing one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::macros::sql_store_impl;
use super::*;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How to reach the database and how long to wait for it.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails with 503.
    pub acquire_timeout: Duration,
    /// How many times the start tries to reach the database, with doubling pauses.
    pub connect_attempts: u32,
}

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects (retrying with backoff while the database is unreachable) and migrates.
    /// Migrations take PostgreSQL's advisory lock, so instances starting together are safe.
    pub async fn open(url: &str, settings: &PoolSettings) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::Database)?;
        let pool_options = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .test_before_acquire(true);
        let mut pause = Duration::from_millis(500);
        let mut attempt = 1;
        let pool = loop {
            match pool_options.clone().connect_with(options.clone()).await {
                Ok(pool) => break pool,
                Err(e) => {
                    let error = StoreError::from(e);
                    if !matches!(error, StoreError::Unavailable(_))
                        || attempt >= settings.connect_attempts
                    {
                        return Err(error);
                    }
                    tracing::warn!(
                        attempt,
                        of = settings.connect_attempts,
                        retry_in_ms = pause.as_millis() as u64,
                        "PostgreSQL is unreachable; retrying"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                    attempt += 1;
                }
            }
        };
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(e.into()))?;
        Ok(PostgresStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

sql_store_impl!(PostgresStore, sqlx::Postgres);

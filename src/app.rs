//! Building and running the server: storage, migrations, keys, state, router. Tests boot
//! exactly what production boots (`App::build`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::http;
use crate::services::{MetadataCache, Services};
use crate::store::postgres::{PoolSettings, PostgresStore};
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};
use crate::tokens::jwks_fetch::JwksFetcher;
use crate::tokens::keys::generate_key;
use crate::tokens::{Alg, KeyRing, Keys, TokenError};
use tower_sessions_sqlx_store::{
    PostgresStore as PostgresSessionStore, SqliteStore as SqliteSessionStore,
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open the database: {0}")]
    Database(#[from] StoreError),
    #[error("signing keys: {0}")]
    Keys(#[from] TokenError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("{0}")]
    Unsupported(String),
}

/// The session store that matches the database back end.
pub enum SessionBackend {
    Sqlite(SqliteSessionStore),
    Postgres(PostgresSessionStore),
}

/// The opened database: the `Store` and the session store on the same database.
pub struct Database {
    pub store: Arc<dyn Store>,
    pub sessions: SessionBackend,
}

/// Opens the configured database and applies migrations.
pub async fn open_database(config: &Config) -> Result<Database, AppError> {
    if config.database_url.starts_with("sqlite:") {
        let store = SqliteStore::open(
            &config.database_url,
            config.database_max_connections,
            Duration::from_secs(config.database_acquire_timeout),
        )
        .await?;
        let sessions = SqliteSessionStore::new(store.pool().clone())
            .with_table_name("http_sessions")
            .map_err(AppError::Unsupported)?;
        sessions.migrate().await.map_err(StoreError::from)?;
        Ok(Database {
            store: Arc::new(store),
            sessions: SessionBackend::Sqlite(sessions),
        })
    } else {
        let settings = PoolSettings {
            max_connections: config.database_max_connections,
            acquire_timeout: Duration::from_secs(config.database_acquire_timeout),
            connect_attempts: config.database_connect_attempts,
        };
        let store = PostgresStore::open(&config.database_url, &settings).await?;
        let sessions = PostgresSessionStore::new(store.pool().clone())
            .with_schema_name("public")
            .and_then(|s| s.with_table_name("http_sessions"))
            .map_err(AppError::Unsupported)?;
        sessions.migrate().await.map_err(StoreError::from)?;
        Ok(Database {
            store: Arc::new(store),
            sessions: SessionBackend::Postgres(sessions),
        })
    }
}

/// Makes sure an active key exists for every algorithm (first start), then loads the ring.
pub async fn load_keys(store: &dyn Store, config: &Config, now: i64) -> Result<KeyRing, AppError> {
    let rows = store.signing_keys().await?;
    for alg in Alg::ALL {
        let has_active = rows
            .iter()
            .any(|r| r.alg == alg.name() && r.retired_at.is_none());
        if !has_active {
            let key = tokio::task::spawn_blocking(move || generate_key(alg, now))
                .await
                .map_err(|e| AppError::Unsupported(e.to_string()))??;
            if store.insert_first_signing_key(&key).await? {
                tracing::info!(kid = %key.kid, alg = alg.name(), "generated signing key");
            }
        }
    }
    let rows = store.signing_keys().await?;
    Ok(KeyRing::from_rows(
        &rows,
        now,
        config.longest_token_lifetime(),
    )?)
}

pub struct App {
    listener: TcpListener,
    router: Router,
    pub services: Arc<Services>,
    sessions_cleanup: Option<tokio::task::JoinHandle<()>>,
}

impl App {
    pub async fn build(config: Config) -> Result<App, AppError> {
        App::build_with_clock(config, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<App, AppError> {
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| AppError::Listen(config.listen, e))?;
        App::build_on(config, clock, listener).await
    }

    /// Builds on a listener bound by the caller: tests bind port 0 first so that the issuer
    /// can name the real port.
    pub async fn build_on(
        config: Config,
        clock: Arc<dyn Clock>,
        listener: TcpListener,
    ) -> Result<App, AppError> {
        let database = open_database(&config).await?;
        let ring = load_keys(database.store.as_ref(), &config, clock.now()).await?;
        let gateways = crate::gateway::Gateway::beside(&config);
        let services = Arc::new(Services {
            config,
            store: database.store,
            keys: Keys::new(ring),
            clock,
            jwks_fetcher: JwksFetcher::new(),
            metadata: MetadataCache::default(),
            metrics: Default::default(),
            password_checks: crate::services::password_gate(),
            gateways,
        });
        let router = http::router(services.clone());
        let (router, cleanup) = match database.sessions {
            SessionBackend::Sqlite(store) => with_sessions(router, store, &services.config),
            SessionBackend::Postgres(store) => with_sessions(router, store, &services.config),
        };
        Ok(App {
            listener,
            router,
            services,
            sessions_cleanup: Some(cleanup),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.services.config.listen)
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        mut self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let maintenance = tokio::spawn(maintain(self.services.clone()));
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stop)
            .await;
        maintenance.abort();
        if let Some(cleanup) = self.sessions_cleanup.take() {
            cleanup.abort();
        }
        result
    }
}

/// `clearance gateway`: the FHIR gateway alone on `listener`, until Ctrl-C or SIGTERM.
pub async fn run_gateway(
    listener: TcpListener,
    standalone: crate::http::fhir::Standalone,
) -> std::io::Result<()> {
    let router = http::fhir::standalone_router(Arc::new(standalone));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Adds the session layer and starts the cleanup of expired sessions.
fn with_sessions<S: SessionStore + ExpiredDeletion + Clone>(
    router: Router,
    store: S,
    config: &Config,
) -> (Router, tokio::task::JoinHandle<()>) {
    let cleanup = tokio::spawn(delete_expired_sessions(store.clone()));
    (router.layer(session_layer(store, config)), cleanup)
}

fn session_layer<S: SessionStore + Clone>(store: S, config: &Config) -> SessionManagerLayer<S> {
    SessionManagerLayer::new(store)
        .with_name("clearance_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.session_ttl,
        )))
}

async fn delete_expired_sessions<S: ExpiredDeletion + Clone>(store: S) {
    if let Err(e) = store
        .continuously_delete_expired(Duration::from_secs(300))
        .await
    {
        tracing::warn!(error = %e, "expired-session cleanup stopped");
    }
}

/// Reloads the key ring from the database (so a rotation made anywhere is used here within
/// `key_reload_seconds`), and purges expired rows.
async fn maintain(services: Arc<Services>) {
    let period = Duration::from_secs(services.config.key_reload_seconds);
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(period).await;
        ticks += 1;
        let now = services.now();
        match load_keys(services.store.as_ref(), &services.config, now).await {
            Ok(ring) => services.keys.replace(ring),
            Err(e) => {
                tracing::warn!(error = %e, "cannot reload signing keys; keeping the current ones")
            }
        }
        if ticks.is_multiple_of(10) {
            if let Err(e) = services.store.purge_expired(now).await {
                tracing::warn!(error = %e, "purge of expired rows failed");
            }
            let audit_cutoff = now - services.config.audit_retention_days * 86_400;
            if let Err(e) = services.store.purge_audit_events(audit_cutoff).await {
                tracing::warn!(error = %e, "purge of old audit events failed");
            }
            let keep_after = now - services.config.longest_token_lifetime();
            if let Err(e) = services.store.delete_retired_keys(keep_after).await {
                tracing::warn!(error = %e, "removal of retired keys failed");
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

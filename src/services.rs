//! What every request needs: configuration, storage, keys and the clock. Built once by
//! `App::build`; shared by reference.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::clock::Clock;
use crate::config::Config;
use crate::gate::Gate;
use crate::store::Store;
use crate::tokens::Keys;
use crate::tokens::jwks_fetch::JwksFetcher;

pub struct Services {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
    /// Clients' `jwks_uri` documents, cached as their headers allow.
    pub jwks_fetcher: JwksFetcher,
    /// The discovery documents, rendered once: they depend on the configuration only.
    pub metadata: MetadataCache,
    /// Request counters for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Password verifications running at once (argon2id holds 19 MiB each).
    pub password_checks: Gate,
    /// The FHIR gateways beside this server, one per FHIR base with an upstream.
    pub gateways: Vec<crate::gateway::Gateway>,
}

#[derive(Default)]
pub struct MetadataCache {
    pub openid: OnceLock<Bytes>,
    pub smart: OnceLock<Bytes>,
}

impl Services {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Can this instance reach its database (`/readyz`)?
    pub async fn database_ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }
}

/// At most two argon2 verifications per core at once, 64 more waiting up to three seconds:
/// about 80 MiB of argon2 memory on this project's 2-core machines, whatever the load.
pub fn password_gate() -> Gate {
    Gate::new(
        2 * crate::gate::cores(),
        64,
        std::time::Duration::from_secs(3),
    )
}

//! What every request needs: configuration, storage, keys and the clock. Built once by
//! `App::build`; shared by reference.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::clock::Clock;
use crate::config::Config;
use crate::flow::jwks_fetch::JwksFetcher;
use crate::store::Store;
use crate::tokens::Keys;

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
}

//! What every request needs: configuration, storage, keys and the clock. Built once by
//! `App::build`; shared by reference.

use std::sync::Arc;

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
}

impl Services {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

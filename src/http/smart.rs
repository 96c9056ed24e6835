//! `/.well-known/smart-configuration` (SMART App Launch 2.2, conformance.html), at the root
//! and under the path of each configured FHIR base served from this host. Always JSON,
//! absolute URLs, open CORS; `capabilities` lists exactly what works.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use url::Url;

use super::AppState;
use crate::config::Config;
use crate::flow::metadata;

pub fn router(config: &Config) -> Router<AppState> {
    let mut router =
        Router::new().route("/.well-known/smart-configuration", get(smart_configuration));
    for path in fhir_base_paths(config) {
        router = router.route(
            &format!("{path}/.well-known/smart-configuration"),
            get(smart_configuration),
        );
    }
    router
}

/// Paths of the configured FHIR bases that live on the issuer's own origin.
fn fhir_base_paths(config: &Config) -> Vec<String> {
    let Ok(issuer) = Url::parse(&config.issuer) else {
        return Vec::new();
    };
    let mut paths: Vec<String> = config
        .fhir_base_urls
        .iter()
        .filter_map(|b| Url::parse(b).ok())
        .filter(|b| b.origin() == issuer.origin())
        .map(|b| b.path().trim_end_matches('/').to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

async fn smart_configuration(State(services): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        services
            .metadata
            .smart
            .get_or_init(|| {
                Bytes::from(metadata::smart_configuration(&services.config).to_string())
            })
            .clone(),
    )
}

//! The one stylesheet and the SMART Style JSON, compiled into the binary so the server runs
//! from any directory.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;
use crate::smart_style::{self, SMART_STYLE};

const STYLESHEET: &str = include_str!("../../static/style.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/style.css", get(stylesheet))
        .route(smart_style::PATH, get(smart_style))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// Fetched by apps in the browser, so CORS is open; the URL handed out is versioned, so a
/// long cache is safe.
async fn smart_style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SMART_STYLE,
    )
}

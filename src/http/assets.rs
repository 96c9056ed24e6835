//! The one stylesheet, compiled into the binary so the server runs from any directory.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::AppState;

const STYLESHEET: &str = include_str!("../../static/style.css");

pub fn router() -> Router<AppState> {
    Router::new().route("/static/style.css", get(stylesheet))
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

//! `POST /logout`: ends the browser session and the sign-in it held (OIDC: the user signs
//! out here; `online_access` grants of that sign-in stop refreshing).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;

use super::AppState;
use super::visitor::CheckedForm;
use crate::flow::users;

pub fn router() -> Router<AppState> {
    Router::new().route("/logout", post(logout))
}

async fn logout(State(services): State<AppState>, posted: CheckedForm) -> Response {
    let visitor = posted.visitor;
    if let Err(e) = visitor.session.flush().await {
        tracing::error!(error = %e, "cannot end the browser session");
    }
    if let Some(signed_in) = &visitor.signed_in {
        users::end_sign_in(&services, signed_in).await;
    }
    Redirect::to("/").into_response()
}

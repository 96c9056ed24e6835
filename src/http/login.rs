//! The sign-in page. A successful sign-in renews the session id (session fixation defence)
//! and sends the browser back to the pending authorization request.

use crate::flow::audit::{self, Event, Kind};
use crate::flow::users::SignIn;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::{load_pending, valid_request_id};
use super::error::{error_page, unavailable_page};
use super::pages::LoginPage;
use super::{AppState, SIGNED_IN, csrf};
use crate::flow::authorize::SignedIn;
use crate::flow::users;
use crate::services::Services;

pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(show).post(submit))
}

async fn client_name(services: &Services, request_id: &str) -> Option<String> {
    let request = load_pending(services, request_id).await.ok().flatten()?;
    let client = services
        .store
        .client_by_id(&request.client_id)
        .await
        .ok()
        .flatten()?;
    Some(client.name)
}

#[derive(Deserialize)]
struct LoginQuery {
    request: Option<String>,
    next: Option<String>,
}

async fn show(
    State(services): State<AppState>,
    session: Session,
    Query(r): Query<LoginQuery>,
) -> Response {
    let request_id = r
        .request
        .filter(|id| valid_request_id(id))
        .unwrap_or_default();
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable_page();
    };
    let hint = match load_pending(&services, &request_id).await {
        Ok(Some(request)) => request.login_hint.unwrap_or_default(),
        _ => String::new(),
    };
    LoginPage {
        csrf,
        next: next_page(r.next.as_deref()).0.to_owned(),
        client_name: client_name(&services, &request_id).await,
        request_id,
        username: hint,
        error: None,
    }
    .into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    username: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
    request: Option<String>,
    next: Option<String>,
}

/// After a sign-in that belongs to no authorization request: a fixed set of our own pages,
/// never a URL taken from the request (no open redirect).
fn next_page(next: Option<&str>) -> (&'static str, &'static str) {
    match next {
        Some("account") => ("account", "/account"),
        _ => ("", "/"),
    }
}

#[tracing::instrument(name = "sign_in", skip_all)]
async fn submit(
    State(services): State<AppState>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Response {
    if !csrf::check(&session, form.csrf.as_deref()).await {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
    let request_id = form
        .request
        .filter(|id| valid_request_id(id))
        .unwrap_or_default();
    let username = form.username.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let outcome = match users::authenticate(services.store.as_ref(), &username, &password).await {
        Ok(outcome) => outcome,
        Err(_) => return unavailable_page(),
    };
    let user = match outcome {
        SignIn::Valid(user) => user,
        failed => {
            // Never the typed username: people type passwords into it.
            let mut event = Event::new(Kind::SignInFailed);
            if let SignIn::WrongPassword { user_id } = &failed {
                event = event.user(user_id).detail("wrong password");
            } else {
                event = event.detail("unknown username");
            }
            audit::record(&services, event).await;
            return failed_sign_in(
                &services,
                &session,
                form.next.as_deref(),
                request_id,
                username,
            )
            .await;
        }
    };
    let signed_in = SignedIn {
        user_id: user.id.clone(),
        auth_time: services.now(),
        signed_in_for: (!request_id.is_empty()).then(|| request_id.clone()),
    };
    if session.cycle_id().await.is_err() || session.insert(SIGNED_IN, &signed_in).await.is_err() {
        return unavailable_page();
    }
    audit::record(&services, Event::new(Kind::SignIn).user(&user.id)).await;
    if request_id.is_empty() {
        Redirect::to(next_page(form.next.as_deref()).1).into_response()
    } else {
        Redirect::to(&format!("/authorize/continue?request={request_id}")).into_response()
    }
}

/// The sign-in page again, with one message for both failures (it does not say whether the
/// username exists) and the username kept.
async fn failed_sign_in(
    services: &Services,
    session: &Session,
    next: Option<&str>,
    request_id: String,
    username: String,
) -> Response {
    let Ok(csrf) = csrf::token(session).await else {
        return unavailable_page();
    };
    let page = LoginPage {
        csrf,
        next: next_page(next).0.to_owned(),
        client_name: client_name(services, &request_id).await,
        request_id,
        username,
        error: Some("The username or password is incorrect.".into()),
    };
    (StatusCode::UNAUTHORIZED, page).into_response()
}

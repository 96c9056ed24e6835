//! The sign-in page. A successful sign-in renews the session id (session fixation defence)
//! and sends the browser back to the pending authorization request.

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
use crate::flow::audit::{self, Event, Kind};
use crate::flow::authorize::SignedIn;
use crate::flow::users;
use crate::flow::users::SignIn;
use crate::secrets;
use crate::services::Services;
use crate::store::User;

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
    let outcome = match users::authenticate(
        services.store.as_ref(),
        &username,
        &password,
        services.now(),
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(_) => return unavailable_page(),
    };
    // The audit trail never gets the typed username: people type passwords into it.
    let (kind, user_id, detail) = match outcome {
        SignIn::Valid(user) => {
            return signed_in_page(&services, &session, &user, form.next.as_deref(), request_id)
                .await;
        }
        SignIn::WrongPassword { user_id } => (Kind::SignInFailed, Some(user_id), "wrong password"),
        SignIn::UnknownUser => (Kind::SignInFailed, None, "unknown username"),
        SignIn::Throttled { user_id } => (Kind::SignInThrottled, Some(user_id), ""),
    };
    let mut event = Event::new(kind).detail(detail);
    if let Some(user_id) = &user_id {
        event = event.user(user_id);
    }
    audit::record(&services, event).await;
    failed_sign_in(
        &services,
        &session,
        form.next.as_deref(),
        request_id,
        username,
    )
    .await
}

/// Signs `user` in: a new session id (against session fixation), then on to the
/// authorization request or the page asked for.
async fn signed_in_page(
    services: &Services,
    session: &Session,
    user: &User,
    next: Option<&str>,
    request_id: String,
) -> Response {
    let now = services.now();
    let signed_in = SignedIn {
        user_id: user.id.clone(),
        auth_time: now,
        signed_in_for: (!request_id.is_empty()).then(|| request_id.clone()),
        sign_in_id: secrets::random_id(),
    };
    let recorded = services
        .store
        .insert_sign_in(
            &signed_in.sign_in_id,
            &user.id,
            now,
            now + services.config.session_ttl,
        )
        .await;
    if recorded.is_err()
        || session.cycle_id().await.is_err()
        || session.insert(SIGNED_IN, &signed_in).await.is_err()
    {
        return unavailable_page();
    }
    audit::record(services, Event::new(Kind::SignIn).user(&user.id)).await;
    if request_id.is_empty() {
        Redirect::to(next_page(next).1).into_response()
    } else {
        Redirect::to(&format!("/authorize/continue?request={request_id}")).into_response()
    }
}

/// The sign-in page again, with the username kept. One message, one status for a wrong
/// password, an unknown username and a paused account, so that the page never tells whether
/// a username exists; the message still tells a rightful user why a right password can fail.
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
        error: Some(format!(
            "The username or password is incorrect. After {} wrong passwords, an account \
             waits {} minutes before it can sign in again.",
            users::MAX_FAILED_SIGN_INS,
            users::THROTTLE_WINDOW / 60
        )),
    };
    (StatusCode::UNAUTHORIZED, page).into_response()
}

//! The sign-in page. Showing it stores nothing (its CSRF token is a cookie of its own); a
//! successful sign-in renews the session id (session fixation defence) and sends the browser
//! back to the pending authorization request, which decides again what comes next.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::continue_request;
use super::error::{PageError, PageResult};
use super::pages::LoginPage;
use super::{AppState, SIGNED_IN, csrf};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::interaction;
use crate::flow::users::{self, SignIn};
use crate::services::Services;
use crate::store::User;

pub fn router() -> Router<AppState> {
    Router::new().route("/login", get(show).post(submit))
}

/// The pending request a sign-in belongs to: its id, the app's name and the login hint.
/// The page still shows when the request has expired (it then signs in to nothing).
async fn request_details(
    services: &Services,
    request_id: Option<&str>,
) -> Result<(String, Option<String>, String), PageError> {
    let Some(pending) = interaction::load(services, request_id.unwrap_or_default()).await? else {
        return Ok((String::new(), None, String::new()));
    };
    let name = interaction::client_name(services, &pending).await?;
    let hint = pending.request.login_hint.clone().unwrap_or_default();
    Ok((pending.id, name, hint))
}

#[derive(Deserialize)]
struct LoginQuery {
    request: Option<String>,
    next: Option<String>,
    /// `other`: someone else is signed in than the user the request is for.
    account: Option<String>,
}

struct PageState {
    status: StatusCode,
    username: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

/// The sign-in page, with its CSRF cookie when the visitor has none yet.
async fn login_page(
    services: &Services,
    headers: &HeaderMap,
    request_id: Option<&str>,
    next: Option<&str>,
    state: PageState,
) -> PageResult {
    let (csrf, cookie) = csrf::login_token(headers, services.config.secure_cookies());
    let (request_id, client_name, hint) = request_details(services, request_id).await?;
    let page = LoginPage {
        csrf,
        next: next_page(next).0.to_owned(),
        client_name,
        request_id,
        username: state.username.unwrap_or(hint),
        error: state.error,
        notice: state.notice,
    };
    let mut response = (state.status, page).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn show(
    State(services): State<AppState>,
    headers: HeaderMap,
    Query(r): Query<LoginQuery>,
) -> PageResult {
    let notice = (r.account.as_deref() == Some("other")).then(|| {
        "This request is for a different account than the one signed in here. Sign in with the account it is for.".to_owned()
    });
    let state = PageState {
        status: StatusCode::OK,
        username: None,
        error: None,
        notice,
    };
    login_page(
        &services,
        &headers,
        r.request.as_deref(),
        r.next.as_deref(),
        state,
    )
    .await
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
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> PageResult {
    if !csrf::check_login(&headers, form.csrf.as_deref()) {
        return Err(PageError::FormExpired);
    }
    let request_id = form
        .request
        .filter(|id| interaction::is_request_id(id))
        .unwrap_or_default();
    let username = form.username.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let outcome = users::sign_in(&services, &username, &password).await?;
    // The audit trail never gets the typed username: people type passwords into it.
    let (kind, user_id, detail) = match outcome {
        SignIn::Valid(user) => {
            return signed_in_page(&services, &session, &user, form.next.as_deref(), request_id)
                .await;
        }
        SignIn::Busy => {
            let state = PageState {
                status: StatusCode::SERVICE_UNAVAILABLE,
                username: Some(username),
                error: Some(
                    "Many people are signing in right now. Please try again in a moment.".into(),
                ),
                notice: None,
            };
            let mut response = login_page(
                &services,
                &headers,
                Some(&request_id),
                form.next.as_deref(),
                state,
            )
            .await?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            return Ok(response);
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
    // One message, one status for a wrong password, an unknown username and a paused
    // account, so that the page never tells whether a username exists; the message still
    // tells a rightful user why a right password can fail.
    let state = PageState {
        status: StatusCode::UNAUTHORIZED,
        username: Some(username),
        error: Some(format!(
            "The username or password is incorrect. After {} wrong passwords, an account \
             waits {} minutes before it can sign in again.",
            users::MAX_FAILED_SIGN_INS,
            users::THROTTLE_WINDOW / 60
        )),
        notice: None,
    };
    login_page(
        &services,
        &headers,
        Some(&request_id),
        form.next.as_deref(),
        state,
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
) -> PageResult {
    let for_request = (!request_id.is_empty()).then(|| request_id.clone());
    let signed_in = users::begin_sign_in(services, user, for_request).await?;
    session.cycle_id().await?;
    session.insert(SIGNED_IN, &signed_in).await?;
    Ok(if request_id.is_empty() {
        Redirect::to(next_page(next).1).into_response()
    } else {
        continue_request(&request_id)
    })
}

//! CSRF tokens for every form: one random token per browser session, compared in constant
//! time on every POST.

use axum::http::{HeaderMap, HeaderValue, header};
use tower_sessions::Session;

use crate::secrets;

const CSRF: &str = "csrf";

/// The session's CSRF token, created on first use.
pub async fn token(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(existing) = session.get::<String>(CSRF).await? {
        return Ok(existing);
    }
    let fresh = secrets::random_token();
    session.insert(CSRF, &fresh).await?;
    Ok(fresh)
}

/// Does the submitted token match the session's?
pub async fn check(session: &Session, submitted: Option<&str>) -> bool {
    match (session.get::<String>(CSRF).await, submitted) {
        (Ok(Some(expected)), Some(given)) => secrets::constant_time_eq(&expected, given),
        _ => false,
    }
}

/// The sign-in form's CSRF token lives in a cookie of its own (double submit): showing the
/// sign-in page to an anonymous visitor stores nothing on the server. The session (and its
/// row) begins only when someone signs in.
pub const LOGIN_COOKIE: &str = "clearance_login_csrf";

/// The visitor's sign-in token from their cookie, or a new one with the `Set-Cookie` value
/// that gives it to them.
pub fn login_token(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(existing) = login_cookie(headers) {
        return (existing.to_owned(), None);
    }
    let fresh = secrets::random_token();
    let cookie = format!(
        "{LOGIN_COOKIE}={fresh}; Path=/login; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    (fresh, HeaderValue::from_str(&cookie).ok())
}

/// Does the submitted sign-in token match the visitor's cookie?
pub fn check_login(headers: &HeaderMap, submitted: Option<&str>) -> bool {
    match (login_cookie(headers), submitted) {
        (Some(expected), Some(given)) => secrets::constant_time_eq(expected, given),
        _ => false,
    }
}

fn login_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOGIN_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

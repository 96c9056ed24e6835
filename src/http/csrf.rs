//! CSRF tokens for every form: one random token per browser session, compared in constant
//! time on every POST.

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

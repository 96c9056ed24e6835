//! The authorization endpoint, GET and POST (OIDC Core §3.1.2.1), and the step that resumes
//! a pending request after sign-in. What comes next is decided by `flow::interaction`; this
//! module only turns its answer into a redirect or a page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use super::error::{error_page, unavailable_page};
use super::{AppState, SIGNED_IN};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::authorize::{self, AuthorizeError, SignedIn};
use crate::flow::interaction::{self, Pending, SignInReason, Step};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use crate::services::Services;
use crate::store::StoreResult;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/authorize/continue", get(resume))
}

async fn authorize_get(
    State(services): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(
        query.unwrap_or_default().as_bytes(),
        MAX_PROTOCOL_PARAMETERS,
    );
    start(&services, &session, &params).await
}

async fn authorize_post(
    State(services): State<AppState>,
    session: Session,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body, MAX_PROTOCOL_PARAMETERS);
    start(&services, &session, &params).await
}

#[tracing::instrument(name = "authorize", skip_all)]
async fn start(services: &Services, session: &Session, params: &Params) -> Response {
    let (request, _client) = match authorize::validate(services, params).await {
        Ok(valid) => valid,
        Err(AuthorizeError::Page(message)) => {
            audit::record(
                services,
                Event::new(Kind::AuthorizationRefused).detail("refused with an error page"),
            )
            .await;
            return error_page(StatusCode::BAD_REQUEST, &message);
        }
        Err(AuthorizeError::Redirect(r)) => {
            audit::record(
                services,
                Event::new(Kind::AuthorizationRefused).detail(r.error),
            )
            .await;
            return Redirect::to(&r.url(&services.config.issuer)).into_response();
        }
        Err(AuthorizeError::Unavailable) => return unavailable_page(),
    };
    let pending = match interaction::start(services, request).await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::error!(error = %e, "cannot store the authorization request");
            return unavailable_page();
        }
    };
    let signed_in = signed_in(services, session).await;
    let step = interaction::advance(services, &pending, signed_in.as_ref(), false).await;
    step_response(&pending.id, step)
}

#[derive(Deserialize)]
pub struct RequestRef {
    pub request: Option<String>,
}

/// `GET /authorize/continue?request=ID`: where sign-in and the other pages send the browser
/// when the request should go on. The user has interacted when they typed their password
/// for this very request.
async fn resume(
    State(services): State<AppState>,
    session: Session,
    Query(r): Query<RequestRef>,
) -> Response {
    let pending = match pending_of(&services, r.request.as_deref()).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired_page(),
        Err(response) => return response,
    };
    let signed_in = signed_in(&services, &session).await;
    let interacted = signed_in.as_ref().is_some_and(|s| s.is_for(&pending.id));
    let step = interaction::advance(&services, &pending, signed_in.as_ref(), interacted).await;
    step_response(&pending.id, step)
}

/// The pending request a page names, or the page to show when the store fails.
pub async fn pending_of(
    services: &Services,
    id: Option<&str>,
) -> Result<Option<Pending>, Response> {
    let Some(id) = id else {
        return Ok(None);
    };
    interaction::load(services, id).await.map_err(|e| {
        tracing::error!(error = %e, "cannot load the authorization request");
        unavailable_page()
    })
}

/// Sends the browser to the step the interaction decided.
pub fn step_response(request_id: &str, step: StoreResult<Step>) -> Response {
    match step {
        Ok(Step::SignIn(SignInReason::OtherAccount)) => {
            Redirect::to(&format!("/login?request={request_id}&account=other")).into_response()
        }
        Ok(Step::SignIn(_)) => {
            Redirect::to(&format!("/login?request={request_id}")).into_response()
        }
        Ok(Step::PickPatient) => {
            Redirect::to(&format!("/picker?request={request_id}")).into_response()
        }
        Ok(Step::Consent) => {
            Redirect::to(&format!("/consent?request={request_id}")).into_response()
        }
        Ok(Step::Redirect(url)) => Redirect::to(&url).into_response(),
        Ok(Step::Page(message)) => error_page(StatusCode::BAD_REQUEST, &message),
        Err(e) => {
            tracing::error!(error = %e, "storage failure during authorization");
            unavailable_page()
        }
    }
}

/// Where a page that is not at its step sends the browser: the request decides again.
pub fn continue_request(request_id: &str) -> Response {
    Redirect::to(&format!("/authorize/continue?request={request_id}")).into_response()
}

pub fn expired_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in request has expired or was already completed. Please go back to the app and start again.",
    )
}

/// Who is signed in in this browser session, while the sign-in lasts (its absolute
/// lifetime; inactivity is the session's own expiry).
pub async fn signed_in(services: &Services, session: &Session) -> Option<SignedIn> {
    let s = session.get::<SignedIn>(SIGNED_IN).await.ok().flatten()?;
    services
        .config
        .sign_in_lasts(s.auth_time, services.now())
        .then_some(s)
}

//! The authorization endpoint, GET and POST (OIDC Core §3.1.2.1), and the step that resumes
//! a pending request after sign-in. What comes next is decided by `flow::interaction`; this
//! module only turns its answer into a redirect or a page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::AppState;
use super::error::{PageError, PageResult};
use super::visitor::{AtRequest, Visitor};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::authorize::{self, AuthorizeError};
use crate::flow::interaction::{self, SignInReason, Step};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use crate::services::Services;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/authorize/continue", get(resume))
}

async fn authorize_get(
    State(services): State<AppState>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> PageResult {
    let params = Params::parse(
        query.unwrap_or_default().as_bytes(),
        MAX_PROTOCOL_PARAMETERS,
    );
    start(&services, &visitor, &params).await
}

async fn authorize_post(
    State(services): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> PageResult {
    let params = Params::parse(&body, MAX_PROTOCOL_PARAMETERS);
    start(&services, &visitor, &params).await
}

#[tracing::instrument(name = "authorize", skip_all, fields(client_id))]
async fn start(services: &Services, visitor: &Visitor, params: &Params) -> PageResult {
    let (request, _client) = match authorize::validate(services, params).await {
        Ok(valid) => valid,
        Err(AuthorizeError::Page(message)) => {
            audit::record(
                services,
                Event::new(Kind::AuthorizationRefused).detail("refused with an error page"),
            )
            .await;
            return Err(PageError::BadRequest(message));
        }
        Err(AuthorizeError::Redirect(r)) => {
            audit::record(
                services,
                Event::new(Kind::AuthorizationRefused).detail(r.error.code.as_str()),
            )
            .await;
            return Ok(Redirect::to(&r.url(&services.config.issuer)).into_response());
        }
        Err(AuthorizeError::Unavailable) => return Err(PageError::Unavailable),
    };
    tracing::Span::current().record("client_id", request.client_id.as_str());
    let pending = interaction::start(services, request).await?;
    let step = interaction::advance(services, &pending, visitor.signed_in.as_ref(), false).await?;
    Ok(step_response(&pending.id, step))
}

/// `GET /authorize/continue?request=ID`: where sign-in and the other pages send the browser
/// when the request should go on. The user has interacted when they typed their password
/// for this very request.
async fn resume(State(services): State<AppState>, at: AtRequest) -> PageResult {
    let AtRequest {
        pending, visitor, ..
    } = at;
    let signed_in = visitor.signed_in.as_ref();
    let interacted = signed_in.is_some_and(|s| s.is_for(&pending.id));
    let step = interaction::advance(&services, &pending, signed_in, interacted).await?;
    Ok(step_response(&pending.id, step))
}

/// Sends the browser to the step the interaction decided.
pub fn step_response(request_id: &str, step: Step) -> Response {
    match step {
        Step::SignIn(SignInReason::OtherAccount) => {
            Redirect::to(&format!("/login?request={request_id}&account=other")).into_response()
        }
        Step::SignIn(_) => Redirect::to(&format!("/login?request={request_id}")).into_response(),
        Step::PickPatient => Redirect::to(&format!("/picker?request={request_id}")).into_response(),
        Step::Consent => Redirect::to(&format!("/consent?request={request_id}")).into_response(),
        Step::Redirect(url) => Redirect::to(&url).into_response(),
        Step::Page(message) => PageError::BadRequest(message).into_response(),
    }
}

/// Where a page that is not at its step sends the browser: the request decides again.
pub fn continue_request(request_id: &str) -> Response {
    Redirect::to(&format!("/authorize/continue?request={request_id}")).into_response()
}

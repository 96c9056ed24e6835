//! The authorization endpoint, GET and POST (OIDC Core §3.1.2.1), and the step that resumes
//! a pending request after sign-in.

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
use crate::flow::authorize::{self, AuthorizationRequest, AuthorizeError, Next, SignedIn};
use crate::flow::launch::{self, LaunchContext};
use crate::flow::{code, consent};
use crate::scope::ScopeSet;
use crate::secrets;
use crate::services::Services;
use crate::store::{PendingRequest, Role, StoreError, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/authorize/continue", get(resume))
}

pub fn parse_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// The first value of a field in parsed form pairs.
pub fn form_field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn authorize_get(
    State(services): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_pairs(query.unwrap_or_default().as_bytes());
    start(&services, &session, &params).await
}

async fn authorize_post(
    State(services): State<AppState>,
    session: Session,
    body: Bytes,
) -> Response {
    let params = parse_pairs(&body);
    start(&services, &session, &params).await
}

#[tracing::instrument(name = "authorize", skip_all)]
async fn start(services: &Services, session: &Session, params: &[(String, String)]) -> Response {
    let (request, _client) = match authorize::validate(services, params).await {
        Ok(valid) => valid,
        Err(AuthorizeError::Page(message)) => {
            audit::record(
                services,
                Event::new(Kind::AuthorizationRefused).detail(message),
            )
            .await;
            return error_page(StatusCode::BAD_REQUEST, message);
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
    let now = services.now();
    let pending = PendingRequest {
        id: secrets::random_id(),
        client_id: request.client_id.clone(),
        request: match serde_json::to_string(&request) {
            Ok(json) => json,
            Err(_) => return unavailable_page(),
        },
        created_at: now,
        expires_at: now + services.config.authorization_request_ttl,
    };
    if services
        .store
        .insert_authorization_request(&pending)
        .await
        .is_err()
    {
        return unavailable_page();
    }
    proceed(services, session, &pending.id, &request).await
}

#[derive(Deserialize)]
pub struct RequestRef {
    pub request: Option<String>,
}

/// `GET /authorize/continue?request=ID`: where sign-in sends the browser back.
async fn resume(
    State(services): State<AppState>,
    session: Session,
    Query(r): Query<RequestRef>,
) -> Response {
    let Some(id) = r.request.filter(|id| valid_request_id(id)) else {
        return expired_page();
    };
    match load_pending(&services, &id).await {
        Ok(Some(request)) => proceed(&services, &session, &id, &request).await,
        Ok(None) => expired_page(),
        Err(_) => unavailable_page(),
    }
}

pub fn expired_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in request has expired or was already completed. Please go back to the app and start again.",
    )
}

/// The pending request with this id, if it exists and has not expired.
pub async fn load_pending(
    services: &Services,
    id: &str,
) -> Result<Option<AuthorizationRequest>, StoreError> {
    let Some(row) = services
        .store
        .authorization_request(id, services.now())
        .await?
    else {
        return Ok(None);
    };
    serde_json::from_str(&row.request)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The signed-in user of this browser session, if the account still exists.
pub async fn signed_in(
    services: &Services,
    session: &Session,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(s) = session.get::<SignedIn>(SIGNED_IN).await.ok().flatten() else {
        return Ok(None);
    };
    Ok(services.store.user_by_id(&s.user_id).await?.map(|_| s))
}

/// Decides the next step for a pending request and sends the browser there.
pub async fn proceed(
    services: &Services,
    session: &Session,
    request_id: &str,
    request: &AuthorizationRequest,
) -> Response {
    let outcome = async {
        let user = signed_in(services, session).await?;
        let consent = match &user {
            Some(s) => {
                services
                    .store
                    .consent(&s.user_id, &request.client_id)
                    .await?
            }
            None => None,
        };
        let remembered = consent
            .as_ref()
            .and_then(|c| ScopeSet::parse(&c.scope).ok());
        let next = authorize::next_step(
            request_id,
            request,
            user.as_ref(),
            remembered.as_ref(),
            services.now(),
        );
        let (s, after_sign_in) = match (next, &user) {
            (Next::SignIn, _) => return Ok(format!("/login?request={request_id}")),
            (Next::Fail(error, description), _) => {
                return code::refuse(services, request_id, request, error, description).await;
            }
            (next, Some(s)) => (s, next),
            (_, None) => return Err(StoreError::Corrupt("no user".into())),
        };
        // Signed in: the patient in context comes before consent (SMART standalone launch).
        let account = services
            .store
            .user_by_id(&s.user_id)
            .await?
            .ok_or(StoreError::Corrupt("user vanished".into()))?;
        let context = match launch_context(session, request_id, request, &account).await {
            PatientContext::Known(context) => context,
            PatientContext::Pick if request.prompt.none => {
                return code::refuse(
                    services,
                    request_id,
                    request,
                    "interaction_required",
                    "a patient must be chosen",
                )
                .await;
            }
            PatientContext::Pick => return Ok(format!("/picker?request={request_id}")),
            PatientContext::Unavailable => {
                return code::refuse(
                    services,
                    request_id,
                    request,
                    "access_denied",
                    "the signed-in user has no patient record",
                )
                .await;
            }
        };
        match after_sign_in {
            Next::IssueCode => {
                // Remembered consent covers the request: the same categories apply again,
                // under today's client ceiling and user clearance.
                let client = services
                    .store
                    .client_by_id(&request.client_id)
                    .await?
                    .ok_or(StoreError::Corrupt("client vanished".into()))?;
                let chosen = consent
                    .as_ref()
                    .map(|c| c.category_ids())
                    .unwrap_or_default();
                let decision = consent::decide(
                    &services.config,
                    &client,
                    &account,
                    request.scope.clone(),
                    &chosen,
                );
                code::issue_code(services, request_id, request, s, &decision, &context, false).await
            }
            _ => Ok(format!("/consent?request={request_id}")),
        }
    }
    .await;
    match outcome {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(_) => unavailable_page(),
    }
}

/// Where the patient in context comes from, if one is needed.
pub enum PatientContext {
    Known(LaunchContext),
    /// A practitioner must pick a patient first.
    Pick,
    /// A patient user without a patient record asked for patient context.
    Unavailable,
}

/// Session key of the patient a practitioner picked for a pending request.
pub fn picked_key(request_id: &str) -> String {
    format!("picked:{request_id}")
}

/// The launch context to issue the code with: an EHR launch's, or (when patient context is
/// needed) the patient user's own record, or the practitioner's pick.
pub async fn launch_context(
    session: &Session,
    request_id: &str,
    request: &AuthorizationRequest,
    user: &User,
) -> PatientContext {
    let mut context = request.launch.clone().unwrap_or_default();
    if context.patient.is_some() || !launch::needs_patient(&request.scope) {
        return PatientContext::Known(context);
    }
    if let Some(own) = launch::own_patient(user) {
        context.patient = Some(own);
        return PatientContext::Known(context);
    }
    if user.role() != Role::Practitioner {
        return PatientContext::Unavailable;
    }
    match session
        .get::<String>(&picked_key(request_id))
        .await
        .ok()
        .flatten()
    {
        Some(patient) => {
            context.patient = Some(patient);
            PatientContext::Known(context)
        }
        None => PatientContext::Pick,
    }
}

/// Request ids are ours (base64url); anything else is refused before it reaches a URL.
pub fn valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

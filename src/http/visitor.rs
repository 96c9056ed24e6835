//! Extractors for the browser pages, so that no page repeats the preamble: who is signed in
//! ([`Visitor`]), a CSRF-checked form ([`CheckedForm`]), the signed-in account
//! ([`AccountHolder`]), and the pending authorization request a page belongs to
//! ([`AtRequest`] for a GET's `?request=`, [`AtRequestForm`] for a form's `request`).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::error::PageError;
use super::{AppState, SIGNED_IN, csrf};
use crate::flow::authorize::SignedIn;
use crate::flow::interaction::{self, Pending};
use crate::flow::params::{MAX_FORM_FIELDS, MAX_PROTOCOL_PARAMETERS, Params};
use crate::flow::users;
use crate::services::Services;
use crate::store::User;

/// The browser session and who is signed in in it, while the sign-in lasts (its absolute
/// lifetime; inactivity is the session's own expiry).
pub struct Visitor {
    pub session: Session,
    pub signed_in: Option<SignedIn>,
}

impl Visitor {
    async fn of(parts: &mut Parts, services: &Services) -> Result<Visitor, PageError> {
        let session = Session::from_request_parts(parts, &())
            .await
            .map_err(|(_, message)| {
                tracing::error!(error = message, "no session layer");
                PageError::Unavailable
            })?;
        let signed_in = session
            .get::<SignedIn>(SIGNED_IN)
            .await?
            .filter(|s| services.config.sign_in_lasts(s.auth_time, services.now()));
        Ok(Visitor { session, signed_in })
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        Visitor::of(parts, state).await
    }
}

/// A posted form whose CSRF token matches the session's. At most [`MAX_FORM_FIELDS`] fields.
pub struct CheckedForm {
    pub form: Params,
    pub visitor: Visitor,
}

impl FromRequest<AppState> for CheckedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let visitor = Visitor::of(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = Params::parse(&body, MAX_FORM_FIELDS);
        if form.too_many() {
            return Err(
                PageError::BadRequest("The form has too many fields.".into()).into_response(),
            );
        }
        if !csrf::check(&visitor.session, form.get("csrf")).await {
            return Err(PageError::FormExpired.into_response());
        }
        Ok(CheckedForm { form, visitor })
    }
}

/// The signed-in account; anyone else is sent to sign in first, then back to the account
/// page.
pub struct AccountHolder {
    pub user: User,
    pub visitor: Visitor,
}

impl AccountHolder {
    async fn of(visitor: Visitor, services: &Services) -> Result<AccountHolder, Response> {
        let sign_in_first = || Redirect::to("/login?next=account").into_response();
        let Some(signed_in) = &visitor.signed_in else {
            return Err(sign_in_first());
        };
        match users::user_of(services, signed_in).await {
            Ok(Some(user)) => Ok(AccountHolder { user, visitor }),
            Ok(None) => Err(sign_in_first()),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }

    /// The account holder of a CSRF-checked form.
    pub async fn with_form(
        form: CheckedForm,
        services: &Services,
    ) -> Result<(AccountHolder, Params), Response> {
        let holder = AccountHolder::of(form.visitor, services).await?;
        Ok((holder, form.form))
    }
}

impl FromRequestParts<AppState> for AccountHolder {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visitor = Visitor::of(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        AccountHolder::of(visitor, state).await
    }
}

/// The pending request a page names, or [`PageError::Expired`].
async fn pending(services: &Services, id: Option<&str>) -> Result<Pending, PageError> {
    let id = id.ok_or(PageError::Expired)?;
    interaction::load(services, id)
        .await?
        .ok_or(PageError::Expired)
}

/// A page of a pending authorization request, named by `?request=ID`; `query` holds the
/// rest of the query (the picker's search).
pub struct AtRequest {
    pub pending: Pending,
    pub visitor: Visitor,
    pub query: Params,
}

impl FromRequestParts<AppState> for AtRequest {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let query = Params::parse(
            parts.uri.query().unwrap_or_default().as_bytes(),
            MAX_PROTOCOL_PARAMETERS,
        );
        let visitor = Visitor::of(parts, state).await?;
        let pending = pending(state, query.get("request")).await?;
        Ok(AtRequest {
            pending,
            visitor,
            query,
        })
    }
}

/// A CSRF-checked form posted for a pending authorization request, named by its `request`.
pub struct AtRequestForm {
    pub pending: Pending,
    pub visitor: Visitor,
    pub form: Params,
}

impl FromRequest<AppState> for AtRequestForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let CheckedForm { form, visitor } = CheckedForm::from_request(request, state).await?;
        let pending = pending(state, form.get("request"))
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(AtRequestForm {
            pending,
            visitor,
            form,
        })
    }
}

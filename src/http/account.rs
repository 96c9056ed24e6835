//! The account page (`/account`, the SMART `management_endpoint`): the apps the user allowed,
//! what each may see, Revoke, narrowing an app's labels, the FHIR Consent export, and the
//! access history (from the audit trail).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_sessions::Session;

use super::authorize::signed_in;
use super::consent::describe;
use super::error::{error_page, unavailable_page};
use super::pages::{AccountPage, AppView};
use super::{AppState, csrf};
use crate::flow::account::{self, when};
use crate::flow::consent_export::consent_resource;
use crate::flow::params::{MAX_FORM_FIELDS, Params};
use crate::labels::categories::join_in_sentence;
use crate::services::Services;
use crate::store::User;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/revoke", post(revoke))
        .route("/account/narrow", post(narrow))
        .route("/account/consent/{grant_id}", get(export))
}

/// The signed-in user, or the response that sends them to sign in first.
async fn current_user(services: &Services, session: &Session) -> Result<User, Response> {
    match signed_in(services, session).await {
        Some(s) => match services.store.user_by_id(&s.user_id).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(Redirect::to("/login?next=account").into_response()),
            Err(_) => Err(unavailable_page()),
        },
        None => Err(Redirect::to("/login?next=account").into_response()),
    }
}

async fn show(State(services): State<AppState>, session: Session) -> Response {
    let user = match current_user(&services, &session).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let Ok(apps) = account::apps_of_user(&services, &user.id).await else {
        return unavailable_page();
    };
    let Ok(history) = account::history_of_user(&services, &user.id).await else {
        return unavailable_page();
    };
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable_page();
    };
    let config = &services.config;
    let views = apps
        .into_iter()
        .map(|app| {
            let security = app.grant.security();
            let categories: Vec<_> = app
                .grant
                .category_ids()
                .iter()
                .filter_map(|id| config.category(id))
                .collect();
            let shared = categories
                .iter()
                .map(|c| (c.id.clone(), c.label.clone()))
                .collect();
            let mut phrases = vec!["your normal health records".to_owned()];
            phrases.extend(categories.iter().map(|c| c.in_sentence()));
            AppView {
                client_id: app.client.client_id.clone(),
                name: app.client.name.clone(),
                since: when(app.grant.created_at),
                scopes: plain_scopes(&app.grant.scope),
                shared,
                may_see: join_in_sentence(&phrases, "and"),
                confidentiality: format!(
                    "{} ({})",
                    security.confidentiality.display(),
                    security.confidentiality.code()
                ),
                grant_id: app.grant.id.clone(),
            }
        })
        .collect();
    AccountPage {
        csrf,
        username: user.username,
        apps: views,
        history,
    }
    .into_response()
}

/// Plain-language titles of a stored scope string.
fn plain_scopes(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| describe(s).0)
        .collect()
}

async fn revoke(State(services): State<AppState>, session: Session, body: Bytes) -> Response {
    let form = Params::parse(&body, MAX_FORM_FIELDS);
    if !csrf::check(&session, form.get("csrf")).await {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
    let user = match current_user(&services, &session).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let Some(client_id) = form.get("client_id") else {
        return error_page(StatusCode::BAD_REQUEST, "No app was named.");
    };
    match account::revoke(&services, &user.id, client_id).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(_) => unavailable_page(),
    }
}

async fn narrow(State(services): State<AppState>, session: Session, body: Bytes) -> Response {
    let form = Params::parse(&body, MAX_FORM_FIELDS);
    if !csrf::check(&session, form.get("csrf")).await {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
    let user = match current_user(&services, &session).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let Some(client_id) = form.get("client_id") else {
        return error_page(StatusCode::BAD_REQUEST, "No app was named.");
    };
    let keep: Vec<String> = form.all("category").map(str::to_owned).collect();
    match account::narrow(&services, &user, client_id, &keep).await {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(_) => unavailable_page(),
    }
}

/// The grant as a FHIR `Consent` resource, for the signed-in user's own grants only.
async fn export(
    State(services): State<AppState>,
    session: Session,
    Path(grant_id): Path<String>,
) -> Response {
    let user = match current_user(&services, &session).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let grant = match services.store.grant(&grant_id).await {
        Ok(Some(g)) if g.user_id == user.id => g,
        Ok(_) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "There is no such consent on your account.",
            );
        }
        Err(_) => return unavailable_page(),
    };
    let Ok(Some(client)) = services.store.client_by_id(&grant.client_id).await else {
        return unavailable_page();
    };
    let resource = consent_resource(&services.config, &grant, &user, &client);
    (
        [
            (header::CONTENT_TYPE, "application/fhir+json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"consent.json\"",
            ),
        ],
        Json(resource),
    )
        .into_response()
}

//! The account page (`/account`, the SMART `management_endpoint`): the apps the user allowed,
//! what each may see, Revoke, narrowing an app's labels, the FHIR Consent export, and the
//! access history (from the audit trail).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::error::{PageError, PageResult};
use super::pages::{AccountPage, AppView};
use super::visitor::{AccountHolder, CheckedForm};
use super::{AppState, csrf};
use crate::flow::account::{self, when};
use crate::flow::params::Params;
use crate::labels::categories::join_in_sentence;
use crate::scope::ScopeSet;
use crate::scope::wording::describe;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/revoke", post(revoke))
        .route("/account/narrow", post(narrow))
        .route("/account/consent/{grant_id}", get(export))
}

async fn show(State(services): State<AppState>, holder: AccountHolder) -> PageResult {
    let AccountHolder { user, visitor } = holder;
    let apps = account::apps_of_user(&services, &user.id).await?;
    let history = account::history_of_user(&services, &user.id).await?;
    let csrf = csrf::token(&visitor.session).await?;
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
    Ok(AccountPage {
        csrf,
        username: user.username,
        apps: views,
        history,
    }
    .into_response())
}

/// Plain-language titles of a grant's scopes.
fn plain_scopes(scope: &ScopeSet) -> Vec<String> {
    scope.iter().map(|s| describe(s).0).collect()
}

/// The app an account form names, or the page that says none was.
fn named_app(form: &Params) -> Result<&str, PageError> {
    form.get("client_id")
        .ok_or_else(|| PageError::BadRequest("No app was named.".into()))
}

async fn revoke(State(services): State<AppState>, posted: CheckedForm) -> PageResult {
    let (holder, form) = match AccountHolder::with_form(posted, &services).await {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    account::revoke(&services, &holder.user.id, named_app(&form)?).await?;
    Ok(Redirect::to("/account").into_response())
}

async fn narrow(State(services): State<AppState>, posted: CheckedForm) -> PageResult {
    let (holder, form) = match AccountHolder::with_form(posted, &services).await {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let keep: Vec<String> = form.all("category").map(str::to_owned).collect();
    account::narrow(&services, &holder.user, named_app(&form)?, &keep).await?;
    Ok(Redirect::to("/account").into_response())
}

/// The grant as a FHIR `Consent` resource, for the signed-in user's own grants only.
async fn export(
    State(services): State<AppState>,
    holder: AccountHolder,
    Path(grant_id): Path<String>,
) -> PageResult {
    let resource = account::consent_export(&services, &holder.user, &grant_id)
        .await?
        .ok_or_else(|| PageError::NotFound("There is no such consent on your account.".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/fhir+json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"consent.json\"",
            ),
        ],
        Json(resource),
    )
        .into_response())
}

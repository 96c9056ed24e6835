//! The consent page: the app's name, every requested scope in plain words with a checkbox
//! (ticked; the patient may grant less), the sensitivity categories (unticked; the patient
//! chooses what beyond normal records the app may see), Allow and Deny.

use std::collections::HashSet;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_sessions::Session;

use super::authorize::{continue_request, step_response};
use super::error::PageResult;
use super::pages::{CategoryChoice, ConsentPage, GranularChoice, ScopeChoice};
use super::visitor::{AtRequest, AtRequestForm};
use super::{AppState, csrf};
use crate::flow::consent;
use crate::flow::interaction::{self, Answer, Decision, Pending, Ready};
use crate::labels::categories::join_in_sentence;
use crate::scope::SmartScope;
use crate::scope::wording::{describe, granular_alternatives};
use crate::services::Services;

pub fn router() -> Router<AppState> {
    Router::new().route("/consent", get(show).post(decide))
}

/// The category-level alternatives the page offers for a scope (value, label).
fn alternatives(scope: &str) -> Vec<(String, &'static str)> {
    SmartScope::parse(scope)
        .map(|s| granular_alternatives(&s))
        .unwrap_or_default()
}

async fn show(State(services): State<AppState>, at: AtRequest) -> PageResult {
    let AtRequest {
        pending, visitor, ..
    } = at;
    match interaction::decide(&services, &pending, visitor.signed_in.as_ref()).await? {
        Decision::Consent(ready) | Decision::Covered(ready) => {
            page(&services, &visitor.session, &pending, &ready, None).await
        }
        _ => Ok(continue_request(&pending.id)),
    }
}

/// What the form had ticked, to show the page again as it was.
struct Ticked<'a> {
    scopes: HashSet<&'a str>,
    granular: HashSet<&'a str>,
    categories: HashSet<&'a str>,
}

/// The consent page. Sensitive categories are pre-ticked from the user's earlier choice for
/// this app and patient only when the request asks for no more than was allowed then, and
/// never after a Deny.
async fn page(
    services: &Services,
    session: &Session,
    pending: &Pending,
    ready: &Ready,
    ticked: Option<Ticked<'_>>,
) -> PageResult {
    let csrf = csrf::token(session).await?;
    let request = &pending.request;
    let scopes = request
        .scope
        .iter()
        .map(|s| {
            let (title, detail) = describe(s);
            ScopeChoice {
                value: s.to_owned(),
                title,
                detail,
                checked: ticked.as_ref().is_none_or(|t| t.scopes.contains(s)),
                granular: alternatives(s)
                    .into_iter()
                    .map(|(value, label)| GranularChoice {
                        checked: ticked
                            .as_ref()
                            .is_some_and(|t| t.granular.contains(value.as_str())),
                        value,
                        label: label.to_owned(),
                    })
                    .collect(),
            }
        })
        .collect();
    let previous = ready
        .remembered
        .as_ref()
        .filter(|c| !c.denied_since())
        .filter(|c| request.scope.is_subset_of(&c.scope))
        .map(|c| c.category_ids().to_vec())
        .unwrap_or_default();
    let (offered, excluded) =
        consent::offered_categories(&services.config, &ready.client, &ready.user);
    let categories = offered
        .iter()
        .map(|c| CategoryChoice {
            id: c.id.clone(),
            label: c.label.clone(),
            explanation: c.explanation.clone(),
            checked: match &ticked {
                Some(t) => t.categories.contains(c.id.as_str()),
                None => previous.contains(&c.id),
            },
        })
        .collect();
    let notice = ticked
        .is_some()
        .then(|| "Nothing was shared yet. To finish, choose Allow or Deny.".to_owned());
    Ok(ConsentPage {
        csrf,
        request_id: pending.id.clone(),
        client_name: ready.client.name.clone(),
        username: ready.user.username.clone(),
        scopes,
        categories,
        excluded: join_in_sentence(
            &excluded.iter().map(|c| c.in_sentence()).collect::<Vec<_>>(),
            "or",
        ),
        notice,
    }
    .into_response())
}

/// The consent form: `csrf`, `request`, `decision` (allow or deny), one `scope` per ticked
/// box, `granular` and `category` choices. The request must be at its consent step for the
/// user signed in now (`interaction::answer` decides again). A form that names no decision
/// (Enter pressed in a checkbox submits through the page's first, inert button) grants
/// nothing: the page is shown again as it was.
async fn decide(State(services): State<AppState>, posted: AtRequestForm) -> PageResult {
    let AtRequestForm {
        pending,
        visitor,
        form,
    } = posted;
    let signed_in = visitor.signed_in.as_ref();
    let answer = match form.get("decision") {
        Some("allow") => Answer::Allow {
            granted: consent::granted_by_form(
                &pending.request.scope,
                form.all("scope"),
                form.all("granular"),
            ),
            categories: form.all("category").map(str::to_owned).collect(),
        },
        Some("deny") => Answer::Deny,
        _ => {
            return match interaction::decide(&services, &pending, signed_in).await? {
                Decision::Consent(ready) | Decision::Covered(ready) => {
                    let ticked = Ticked {
                        scopes: form.all("scope").collect(),
                        granular: form.all("granular").collect(),
                        categories: form.all("category").collect(),
                    };
                    page(&services, &visitor.session, &pending, &ready, Some(ticked)).await
                }
                _ => Ok(continue_request(&pending.id)),
            };
        }
    };
    let step = interaction::answer(&services, &pending, signed_in, answer).await?;
    Ok(step_response(&pending.id, step))
}

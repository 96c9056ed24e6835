//! The page templates (askama, one display struct per page) and the home page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;

use super::error::PageResult;
use super::visitor::Visitor;
use super::{AppState, csrf};
use crate::flow::users;

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub csrf: String,
    /// Where to go after signing in without an authorization request: "" or "account".
    pub next: String,
    pub request_id: String,
    pub username: String,
    pub error: Option<String>,
    pub client_name: Option<String>,
    /// Why this sign-in is asked for, when it is not the usual one (another account).
    pub notice: Option<String>,
}

/// One requested scope as the consent page shows it.
pub struct ScopeChoice {
    pub value: String,
    pub title: String,
    pub detail: String,
    pub checked: bool,
    /// Category-level scopes the patient may share instead (Condition, Observation).
    pub granular: Vec<GranularChoice>,
}

pub struct GranularChoice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One sensitivity category as the consent page offers it.
pub struct CategoryChoice {
    pub id: String,
    pub label: String,
    pub explanation: String,
    pub checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub csrf: String,
    pub request_id: String,
    pub client_name: String,
    pub username: String,
    pub scopes: Vec<ScopeChoice>,
    pub categories: Vec<CategoryChoice>,
    /// The categories the app's ceiling (or the user's clearance) excludes, as a phrase.
    pub excluded: String,
    /// Shown when the form came back without a decision (Enter in a checkbox).
    pub notice: Option<String>,
}

/// One allowed app on the account page.
pub struct AppView {
    pub client_id: String,
    pub name: String,
    pub since: String,
    pub scopes: Vec<String>,
    /// (category id, label) of the sensitive categories it may see.
    pub shared: Vec<(String, String)>,
    /// What it may see, as a phrase: "your normal health records and HIV".
    pub may_see: String,
    pub confidentiality: String,
    pub grant_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub csrf: String,
    pub username: String,
    pub apps: Vec<AppView>,
    pub history: Vec<crate::flow::account::HistoryLine>,
}

pub struct PatientChoice {
    pub id: String,
    pub name: String,
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "picker.html")]
pub struct PickerPage {
    pub csrf: String,
    pub request_id: String,
    pub search: String,
    /// The directory is long: a search box, and no list until a name is searched.
    pub searchable: bool,
    pub patients: Vec<PatientChoice>,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub username: Option<String>,
    pub csrf: String,
}

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home(State(services): State<AppState>, visitor: Visitor) -> PageResult {
    let username = match &visitor.signed_in {
        Some(s) => users::user_of(&services, s).await?.map(|u| u.username),
        None => None,
    };
    let csrf = csrf::token(&visitor.session).await?;
    Ok(HomePage { username, csrf }.into_response())
}

//! The page templates (askama, one display struct per page) and the small pages that need
//! no flow: home and sign-out.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use super::error::error_page;
use super::{AppState, SIGNED_IN, csrf};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::authorize::SignedIn;

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub message: String,
}

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
    Router::new()
        .route("/", get(home))
        .route("/logout", post(logout))
}

async fn home(State(services): State<AppState>, session: Session) -> Response {
    let signed_in = session.get::<SignedIn>(SIGNED_IN).await.ok().flatten();
    let username = match signed_in {
        Some(s) => match services.store.user_by_id(&s.user_id).await {
            Ok(user) => user.map(|u| u.username),
            Err(_) => None,
        },
        None => None,
    };
    let Ok(csrf) = csrf::token(&session).await else {
        return super::error::unavailable_page();
    };
    HomePage { username, csrf }.into_response()
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

async fn logout(
    State(services): State<AppState>,
    session: Session,
    Form(form): Form<LogoutForm>,
) -> Response {
    if !csrf::check(&session, form.csrf.as_deref()).await {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
    let user = session.get::<SignedIn>(SIGNED_IN).await.ok().flatten();
    let _ = session.flush().await;
    if let Some(user) = user {
        // Ends what `online_access` grants of this sign-in may do (SMART: while online).
        if let Err(e) = services
            .store
            .end_sign_in(&user.sign_in_id, services.now())
            .await
        {
            tracing::error!(error = %e, "sign-out not recorded; online_access tokens last until the sign-in expires");
        }
        audit::record(&services, Event::new(Kind::SignOut).user(&user.user_id)).await;
    }
    Redirect::to("/").into_response()
}

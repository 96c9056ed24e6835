//! The consent page: the app's name, every requested scope in plain words with a checkbox
//! (ticked; the patient may grant less), the sensitivity categories (unticked; the patient
//! chooses what beyond normal records the app may see), Allow and Deny.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;

use super::authorize::{
    PatientContext, RequestRef, expired_page, form_field, launch_context, load_pending,
    parse_pairs, signed_in, valid_request_id,
};
use super::error::{error_page, unavailable_page};
use super::pages::{CategoryChoice, ConsentPage, GranularChoice, ScopeChoice};
use super::{AppState, csrf};
use crate::flow::audit::{self, Event, Kind};
use crate::flow::{code, consent};
use crate::labels::categories::join_in_sentence;
use crate::scope::plain::{describe_smart, granular_alternatives};
use crate::scope::{ScopeSet, SmartScope};

pub fn router() -> Router<AppState> {
    Router::new().route("/consent", get(show).post(decide))
}

/// Plain words for a scope, for a patient rather than a developer.
pub fn describe(scope: &str) -> (String, String) {
    if let Some(smart) = SmartScope::parse(scope) {
        return describe_smart(&smart);
    }
    let (title, detail) = match scope {
        "openid" => (
            "Confirm who you are",
            "The app learns that it is you who signed in.",
        ),
        "profile" => (
            "Your name and username",
            "The app can see your name and username.",
        ),
        "email" => (
            "Your email address",
            "The app can see the email address on your account.",
        ),
        "fhirUser" => (
            "Your record's identity",
            "The app learns which health record is yours.",
        ),
        "offline_access" => (
            "Stay connected",
            "The app can keep access when you are not using it, until you revoke it.",
        ),
        "online_access" => (
            "Stay connected while you are signed in",
            "The app can keep access while you stay signed in here; it stops when you sign out.",
        ),
        "launch/patient" => (
            "Your patient record",
            "The app is told which patient record to open.",
        ),
        "launch/encounter" => (
            "The current visit",
            "The app is told which visit it was opened for.",
        ),
        "launch" => (
            "Open from your health record",
            "The app opens in the context your health record system gives it.",
        ),
        other => {
            return (
                other.to_owned(),
                "Access to health data on the FHIR server.".to_owned(),
            );
        }
    };
    (title.to_owned(), detail.to_owned())
}

/// The category-level alternatives the page offers for a scope (value, label).
fn alternatives(scope: &str) -> Vec<(String, &'static str)> {
    SmartScope::parse(scope)
        .map(|s| granular_alternatives(&s))
        .unwrap_or_default()
}

async fn show(
    State(services): State<AppState>,
    session: Session,
    Query(r): Query<RequestRef>,
) -> Response {
    let Some(id) = r.request.filter(|id| valid_request_id(id)) else {
        return expired_page();
    };
    let request = match load_pending(&services, &id).await {
        Ok(Some(request)) => request,
        Ok(None) => return expired_page(),
        Err(_) => return unavailable_page(),
    };
    let user = match signed_in(&services, &session).await {
        Ok(Some(s)) => services.store.user_by_id(&s.user_id).await.ok().flatten(),
        Ok(None) => None,
        Err(_) => return unavailable_page(),
    };
    let Some(user) = user else {
        return Redirect::to(&format!("/login?request={id}")).into_response();
    };
    let client = match services.store.client_by_id(&request.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return expired_page(),
        Err(_) => return unavailable_page(),
    };
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable_page();
    };
    let scopes = request
        .scope
        .iter()
        .map(|s| {
            let (title, detail) = describe(s);
            ScopeChoice {
                value: s.to_owned(),
                title,
                detail,
                granular: alternatives(s)
                    .into_iter()
                    .map(|(value, label)| GranularChoice {
                        value,
                        label: label.to_owned(),
                    })
                    .collect(),
            }
        })
        .collect();
    // Pre-fill the sensitivity choice with what the user chose for this app before.
    let previous = match services.store.consent(&user.id, &client.client_id).await {
        Ok(c) => c.map(|c| c.category_ids()).unwrap_or_default(),
        Err(_) => return unavailable_page(),
    };
    let (offered, excluded) = consent::offered_categories(&services.config, &client, &user);
    let categories = offered
        .iter()
        .map(|c| CategoryChoice {
            id: c.id.clone(),
            label: c.label.clone(),
            explanation: c.explanation.clone(),
            checked: previous.contains(&c.id),
        })
        .collect();
    ConsentPage {
        csrf,
        request_id: id,
        client_name: client.name,
        username: user.username,
        scopes,
        categories,
        excluded: join_in_sentence(
            &excluded.iter().map(|c| c.in_sentence()).collect::<Vec<_>>(),
            "or",
        ),
    }
    .into_response()
}

/// The consent form: `csrf`, `request`, `decision` (allow or deny), one `scope` per ticked box.
async fn decide(State(services): State<AppState>, session: Session, body: Bytes) -> Response {
    let form = parse_pairs(&body);
    let field = |name: &str| form_field(&form, name);
    if !csrf::check(&session, field("csrf")).await {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
    let Some(id) = field("request")
        .filter(|id| valid_request_id(id))
        .map(str::to_owned)
    else {
        return expired_page();
    };
    let request = match load_pending(&services, &id).await {
        Ok(Some(request)) => request,
        Ok(None) => return expired_page(),
        Err(_) => return unavailable_page(),
    };
    let user = match signed_in(&services, &session).await {
        Ok(Some(s)) => s,
        Ok(None) => return Redirect::to(&format!("/login?request={id}")).into_response(),
        Err(_) => return unavailable_page(),
    };
    let ticked: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let chosen: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "category")
        .map(|(_, v)| v.clone())
        .collect();
    // Granted is exactly what was asked and ticked, plus the category-level scopes ticked in
    // place of an unticked resource-level one: a form cannot add anything else.
    let mut granted_text: Vec<String> = request
        .scope
        .filter(|s| ticked.contains(&s))
        .iter()
        .map(str::to_owned)
        .collect();
    for value in form.iter().filter(|(k, _)| k == "granular").map(|(_, v)| v) {
        let offered = request
            .scope
            .iter()
            .filter(|s| !ticked.contains(s))
            .any(|s| alternatives(s).iter().any(|(alt, _)| alt == value));
        if offered && !granted_text.contains(value) {
            granted_text.push(value.clone());
        }
    }
    let granted = ScopeSet::parse(&granted_text.join(" ")).unwrap_or_default();
    let result = if field("decision") == Some("allow") && !granted.is_empty() {
        let account = services.store.user_by_id(&user.user_id).await;
        let client = services.store.client_by_id(&request.client_id).await;
        let (Ok(Some(account)), Ok(Some(client))) = (account, client) else {
            return unavailable_page();
        };
        let context = match launch_context(&session, &id, &request, &account).await {
            PatientContext::Known(context) => context,
            _ => return Redirect::to(&format!("/picker?request={id}")).into_response(),
        };
        let decision = consent::decide(&services.config, &client, &account, granted, &chosen);
        audit::record(
            &services,
            Event::new(Kind::ConsentGiven)
                .user(&user.user_id)
                .client(&request.client_id)
                .detail(format!(
                    "{}; categories: {}",
                    decision.scope,
                    decision.categories.join(" ")
                )),
        )
        .await;
        code::issue_code(&services, &id, &request, &user, &decision, &context, true).await
    } else {
        audit::record(
            &services,
            Event::new(Kind::ConsentDenied)
                .user(&user.user_id)
                .client(&request.client_id),
        )
        .await;
        code::refuse(
            &services,
            &id,
            &request,
            "access_denied",
            "the user denied access",
        )
        .await
    };
    match result {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(_) => unavailable_page(),
    }
}

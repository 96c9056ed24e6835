//! Security labels end to end through the real consent form: the categories chosen become
//! the `security` claim of both tokens; client ceilings and user clearances narrow it; a
//! refresh never widens it; the account page revokes and narrows; the FHIR Consent export.

use crate::common::*;
use clearance::flow::clients::{self, NewClient};
use clearance::flow::users::{self, NewUser};
use clearance::labels::Confidentiality;
use clearance::store::Role;
use clearance::tokens::Alg;
use serde_json::json;

/// Consents as `username` with these categories; returns the token response.
async fn tokens_with(
    server: &TestServer,
    client_id: &str,
    username: &str,
    categories: &[&str],
) -> serde_json::Value {
    let browser = browser();
    let (url, verifier) = server.authorize_url(client_id, "openid fhirUser offline_access", &[]);
    let back = server
        .authorize_with(&browser, &url, username, None, categories)
        .await
        .redirect();
    server
        .redeem(
            client_id,
            &query_param(&back, "code").expect("code"),
            &verifier,
        )
        .await
}

fn security_of(tokens: &serde_json::Value) -> (serde_json::Value, serde_json::Value) {
    (
        jwt_claims(tokens["access_token"].as_str().unwrap())["security"].clone(),
        jwt_claims(tokens["id_token"].as_str().unwrap())["security"].clone(),
    )
}

async fn client_with_ceiling(
    server: &TestServer,
    max: Option<Confidentiality>,
    allowed: Option<Vec<String>>,
) -> String {
    clients::register(
        server.services.store.as_ref(),
        NewClient {
            name: "Capped App",
            redirect_uris: &[REDIRECT_URI.to_owned()],
            confidential: false,
            client_id: None,
            id_token_alg: Alg::Rs256,
            max_confidentiality: max,
            allowed_sensitivity: allowed,
            ehr_launcher: false,
            ..Default::default()
        },
        server.services.now(),
    )
    .await
    .unwrap()
    .client_id
}

#[tokio::test]
async fn chosen_categories_become_the_claim_in_both_tokens() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let tokens = tokens_with(&server, &id, "alice", &["mental-health", "substance-use"]).await;
    let (access, id_token) = security_of(&tokens);
    let expected = json!({"confidentiality": "R", "sensitivity": ["BH", "ETH", "MH", "PSY", "SUD"], "purpose_of_use": "PATRQT"});
    assert_eq!(access, expected);
    assert_eq!(id_token, expected);

    // Nothing ticked: normal records only.
    let other = register(&server.services, "Other", false).await;
    let tokens = tokens_with(&server, &other.client_id, "alice", &[]).await;
    assert_eq!(
        security_of(&tokens).0,
        json!({"confidentiality": "N", "sensitivity": [], "purpose_of_use": "PATRQT"})
    );
}

#[tokio::test]
async fn the_client_ceiling_is_honoured_and_the_page_says_so() {
    let server = TestServer::start().await;
    let wellness = client_with_ceiling(&server, Some(Confidentiality::N), Some(Vec::new())).await;
    let browser = browser();
    let (url, verifier) = server.authorize_url(&wellness, "openid offline_access", &[]);
    let (page, _) = server.page_after_sign_in(&browser, url, "alice").await;
    assert!(
        !page.contains("name=\"category\""),
        "no category is offered"
    );
    assert!(
        page.contains("is not allowed to see mental health"),
        "{page}"
    );
    // A forged form that adds a category gains nothing.
    let r = browser
        .post(server.url("/consent"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("request", hidden(&page, "request")),
            ("decision", "allow".into()),
            ("scope", "openid".into()),
            ("scope", "offline_access".into()),
            ("category", "mental-health".into()),
        ])
        .send()
        .await
        .unwrap();
    let code = query_param(&location(&r), "code").unwrap();
    let tokens = server.redeem(&wellness, &code, &verifier).await;
    assert_eq!(
        security_of(&tokens).0,
        json!({"confidentiality": "N", "sensitivity": [], "purpose_of_use": "PATRQT"})
    );

    // A client allowed mental health only is offered just that, and gets just that.
    let mental_only = client_with_ceiling(
        &server,
        Some(Confidentiality::R),
        Some(vec!["BH".into(), "MH".into(), "PSY".into()]),
    )
    .await;
    let tokens = tokens_with(&server, &mental_only, "alice", &["mental-health", "hiv"]).await;
    assert_eq!(
        security_of(&tokens).0["sensitivity"],
        json!(["BH", "MH", "PSY"])
    );
}

#[tokio::test]
async fn a_practitioner_clearance_narrows_the_grant() {
    let server = TestServer::start().await;
    users::create_user(
        server.services.store.as_ref(),
        NewUser {
            username: "dr.limited",
            password: PASSWORD,
            role: Role::Practitioner,
            fhir_user: Some("Practitioner/limited"),
            name: None,
            email: None,
            clearance: Some(Confidentiality::R),
            clearance_sensitivity: Some(vec![
                "ETHUD".into(),
                "BH".into(),
                "MH".into(),
                "PSY".into(),
            ]),
        },
        server.services.now(),
    )
    .await
    .unwrap();
    let id = server.public_client.client_id.clone();
    // Substance use is not fully within the clearance, so it is not offered; mental health is.
    let tokens = tokens_with(
        &server,
        &id,
        "dr.limited",
        &["mental-health", "substance-use"],
    )
    .await;
    assert_eq!(
        security_of(&tokens).0,
        json!({"confidentiality": "R", "sensitivity": ["BH", "MH", "PSY"], "purpose_of_use": "TREAT"})
    );
}

#[tokio::test]
async fn refresh_keeps_the_claim_and_narrowing_on_the_account_page_shows_after_refresh() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let browser = browser();
    let (url, verifier) = server.authorize_url(&id, "openid offline_access", &[]);
    let back = server
        .authorize_with(&browser, &url, "alice", None, &["mental-health", "hiv"])
        .await
        .redirect();
    let tokens = server
        .redeem(&id, &query_param(&back, "code").unwrap(), &verifier)
        .await;
    let original = security_of(&tokens).0;
    assert_eq!(original["sensitivity"], json!(["BH", "HIV", "MH", "PSY"]));

    let (status, refreshed) = server
        .refresh(&id, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        security_of(&refreshed).0,
        original,
        "the same claim after refresh"
    );

    // The account page lists the app and what it may see; the patient keeps only HIV.
    let page = browser
        .get(server.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Public App"));
    assert!(
        page.contains("mental health") && page.contains("hiv"),
        "{page}"
    );
    let r = browser
        .post(server.url("/account/narrow"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("client_id", id.clone()),
            ("category", "hiv".into()),
            ("category", "genetic".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (status, narrowed) = server
        .refresh(&id, refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    let (access, id_token) = security_of(&narrowed);
    assert_eq!(
        access,
        json!({"confidentiality": "R", "sensitivity": ["HIV"], "purpose_of_use": "PATRQT"}),
        "narrower, and genetic was not added"
    );
    assert_eq!(id_token, access);

    // Consent again with prompt=consent: the page is pre-filled with the current choice.
    let (url, _) = server.authorize_url(&id, "openid offline_access", &[("prompt", "consent")]);
    let (response, _) = server.follow(&browser, url).await;
    let page = response.text().await.unwrap();
    assert!(page.contains("value=\"hiv\" checked"), "{page}");
    assert!(!page.contains("value=\"mental-health\" checked"));
}

#[tokio::test]
async fn revoking_on_the_account_page_ends_refresh_and_access_tokens() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let browser = browser();
    let (url, verifier) = server.authorize_url(&id, "openid offline_access", &[]);
    let back = server
        .authorize_with(&browser, &url, "alice", None, &[])
        .await
        .redirect();
    let tokens = server
        .redeem(&id, &query_param(&back, "code").unwrap(), &verifier)
        .await;

    let page = browser
        .get(server.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("aria-label=\"Revoke Public App\""));
    let r = browser
        .post(server.url("/account/revoke"))
        .form(&[("csrf", hidden(&page, "csrf")), ("client_id", id.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    let (status, body) = server
        .refresh(&id, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = http_client()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let page = browser
        .get(server.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("No app has access"));
    // The access history, newest first, from the audit trail.
    let history: Vec<&str> = page
        .split("<li><time>")
        .skip(1)
        .map(|item| {
            item.split("</time>: ")
                .nth(1)
                .unwrap()
                .split("</li>")
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        history,
        [
            "You ended access for Public App.",
            "Public App received access to your record.",
            "You allowed Public App to see your record.",
            "You signed in.",
        ],
        "{page}"
    );

    // The consent is forgotten: the next authorization asks again.
    let (url, _) = server.authorize_url(&id, "openid offline_access", &[]);
    let (_, landed) = server.follow(&browser, url).await;
    assert!(landed.contains("/consent"));
}

#[tokio::test]
async fn the_account_page_needs_a_sign_in_and_forms_need_the_csrf_token() {
    let server = TestServer::start().await;
    let browser = browser();
    let r = browser.get(server.url("/account")).send().await.unwrap();
    assert_eq!(location(&r), "/login?next=account");
    let page = browser
        .get(server.url("/login?next=account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .post(server.url("/login"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("request", String::new()),
            ("next", "account".into()),
            ("username", "alice".into()),
            ("password", PASSWORD.into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/account");
    let r = browser
        .post(server.url("/account/revoke"))
        .form(&[("client_id", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Another user's consent cannot be exported.
    let r = browser
        .get(server.url("/account/consent/not-mine"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn each_grant_exports_as_a_fhir_consent() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let browser = browser();
    let (url, _) = server.authorize_url(&id, "openid fhirUser offline_access", &[]);
    server
        .authorize_with(&browser, &url, "alice", None, &["substance-use"])
        .await
        .redirect();
    let page = browser
        .get(server.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("/account/consent/").unwrap();
    let end = start + page[start..].find('"').unwrap();
    let r = browser
        .get(server.url(&page[start..end]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/fhir+json");
    let consent: serde_json::Value = r.json().await.unwrap();
    check_consent_shape(&consent, &id);

    // The operator gets the same resource from the command line.
    let grant_id = consent["id"].as_str().unwrap().to_owned();
    let db = server.services.config.database_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
            .args(["consent", "show", &grant_id])
            .env("CLEARANCE_DATABASE_URL", db)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    check_consent_shape(&from_cli, &id);
}

fn check_consent_shape(consent: &serde_json::Value, client_id: &str) {
    const CONF: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
    const ACT: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["status"], "active");
    assert_eq!(
        consent["scope"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/consentscope"
    );
    assert_eq!(consent["scope"]["coding"][0]["code"], "patient-privacy");
    assert_eq!(consent["patient"]["reference"], "Patient/alice");
    assert!(consent["category"][0]["coding"][0]["code"].is_string());
    let provision = &consent["provision"];
    assert_eq!(provision["type"], "permit");
    assert_eq!(
        provision["actor"][0]["reference"]["identifier"]["value"],
        client_id
    );
    assert_eq!(
        provision["extension"][0]["valueString"],
        "openid fhirUser offline_access"
    );
    let permitted = provision["securityLabel"].as_array().unwrap();
    let has = |labels: &[serde_json::Value], system: &str, code: &str| {
        labels
            .iter()
            .any(|l| l["system"] == system && l["code"] == code)
    };
    assert!(has(permitted, CONF, "R") && has(permitted, CONF, "N"));
    assert!(has(permitted, ACT, "SUD") && has(permitted, ACT, "ETH"));
    let denied = &provision["provision"][0];
    assert_eq!(denied["type"], "deny");
    let withheld = denied["securityLabel"].as_array().unwrap();
    assert!(has(withheld, CONF, "V"));
    assert!(has(withheld, ACT, "PSY") && has(withheld, ACT, "HIV"));
    assert!(!has(withheld, ACT, "SUD"));
}

#[tokio::test]
async fn discovery_publishes_the_label_profile() {
    let server = TestServer::start().await;
    let d: serde_json::Value = http_client()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let profile = &d["https://clearance.dev/ns/security-labels"];
    assert_eq!(profile["claim"], "security");
    assert_eq!(
        profile["members"]["confidentiality"]["order"],
        json!(["U", "L", "M", "N", "R", "V"])
    );
    assert_eq!(
        profile["members"]["sensitivity"]["hierarchy"]["SUD"],
        json!(["ETHUD", "OPIOIDUD"])
    );
    assert_eq!(profile["categories"].as_array().unwrap().len(), 6);
}

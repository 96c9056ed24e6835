//! SMART App Launch 2.2, one test per applicable check of the Inferno SMART App Launch kit and
//! the ONC (g)(10) kit (standards.md §1.12): discovery, standalone and EHR launch, the OpenID
//! Connect group, refresh, invalid aud, limited app, granular scopes, introspection, CORS.

use crate::common::*;
use clearance::flow::clients::{self, NewClient, Registered};
use clearance::flow::patients::new_patient;
use clearance::tokens::Alg;
use serde_json::{Value, json};

const STANDALONE: &str = "launch/patient openid fhirUser offline_access patient/*.rs";

fn fhir(server: &TestServer) -> String {
    server.url("/fhir")
}

async fn smart_code(
    server: &TestServer,
    client_id: &str,
    scope: &str,
    username: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let fhir = fhir(server);
    let mut params = vec![("aud", fhir.as_str())];
    params.extend_from_slice(extra);
    let (url, verifier) = server.authorize_url(client_id, scope, &params);
    let back = server
        .authorize(&browser(), &url, username, None)
        .await
        .redirect();
    (
        query_param(&back, "code").unwrap_or_else(|| panic!("no code: {back}")),
        verifier,
    )
}

#[tokio::test]
async fn discovery_well_known_smart_configuration() {
    let server = TestServer::start().await;
    for url in [
        server.url("/fhir/.well-known/smart-configuration"),
        server.url("/.well-known/smart-configuration"),
    ] {
        let r = http_client()
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let d: Value = r.json().await.unwrap();
        for field in [
            "authorization_endpoint",
            "token_endpoint",
            "issuer",
            "jwks_uri",
            "introspection_endpoint",
            "revocation_endpoint",
            "management_endpoint",
        ] {
            assert!(
                d[field].as_str().unwrap().starts_with("http://"),
                "{field} is an absolute URL"
            );
        }
        let capabilities: Vec<&str> = d["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for c in [
            "launch-standalone",
            "launch-ehr",
            "client-public",
            "client-confidential-symmetric",
            "sso-openid-connect",
            "context-standalone-patient",
            "context-ehr-patient",
            "permission-v1",
            "permission-v2",
            "permission-offline",
            "permission-online",
            "context-banner",
            "context-style",
        ] {
            assert!(capabilities.contains(&c), "{c}");
        }
        assert!(
            d["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("authorization_code"))
        );
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert!(
            d["registration_endpoint"]
                .as_str()
                .unwrap()
                .ends_with("/register")
        );
        assert!(capabilities.contains(&"client-confidential-asymmetric"));
        assert_eq!(d["issuer"], server.issuer);
    }
    // Without an Accept header too.
    let r = http_client()
        .get(server.url("/fhir/.well-known/smart-configuration"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn standalone_launch_patient_gets_their_own_patient_in_context() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = smart_code(&server, &id, STANDALONE, "alice", &[]).await;
    let (status, headers, body) = server
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
                ("client_id", &id),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].is_number());
    let granted: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    for requested in STANDALONE.split(' ') {
        assert!(granted.contains(&requested), "{requested} granted");
    }
    assert_eq!(body["patient"], "alice");
    assert!(
        body.get("need_patient_banner").is_none(),
        "banner is an EHR-launch context"
    );
    assert!(
        body.get("smart_style_url").is_none(),
        "styling is an EHR-launch context"
    );
    let access = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], fhir(&server));
    assert_eq!(access["patient"], "alice");
    assert_eq!(access["fhirUser"], "Patient/alice");
    assert_eq!(
        jwt_claims(body["id_token"].as_str().unwrap())["fhirUser"],
        "Patient/alice"
    );
}

#[tokio::test]
async fn openid_connect_group_id_token_checks() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = smart_code(&server, &id, STANDALONE, "alice", &[]).await;
    let body = server.redeem(&id, &code, &verifier).await;
    let id_token = body["id_token"].as_str().unwrap();
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(id_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    let discovery: Value = http_client()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(!discovery[field].is_null(), "{field}");
    }
    let jwks: Value = http_client()
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rsa: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kty"] == "RSA")
        .collect();
    assert!(!rsa.is_empty());
    assert!(
        rsa.iter().any(|k| k["kid"] == header["kid"]),
        "kid matches an RSA key"
    );
    let claims = jwt_claims(id_token);
    assert_eq!(claims["iss"], discovery["issuer"]);
    assert_eq!(claims["aud"], id);
    let sub = claims["sub"].as_str().unwrap();
    assert!(!sub.trim().is_empty() && sub.len() < 256);
    let fhir_user = claims["fhirUser"].as_str().unwrap();
    assert!(
        ["Patient", "Practitioner", "RelatedPerson", "Person"]
            .contains(&fhir_user.split('/').next().unwrap())
    );
}

#[tokio::test]
async fn smart_v1_profile_claim_and_v1_scopes_answered_in_v1_form() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = smart_code(
        &server,
        &id,
        "launch/patient openid profile patient/*.read",
        "alice",
        &[],
    )
    .await;
    let body = server.redeem(&id, &code, &verifier).await;
    assert_eq!(
        body["scope"],
        "launch/patient openid profile patient/*.read"
    );
    assert_eq!(
        jwt_claims(body["id_token"].as_str().unwrap())["profile"],
        "Patient/alice"
    );
}

#[tokio::test]
async fn refresh_with_and_without_scope_keeps_context() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = smart_code(&server, &id, STANDALONE, "alice", &[]).await;
    let body = server.redeem(&id, &code, &verifier).await;
    let (status, without) = server
        .refresh(&id, body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    assert_eq!(without["scope"], body["scope"]);
    assert_eq!(without["patient"], "alice");
    assert!(without["expires_in"].is_number());
    let (status, _, with) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", without["refresh_token"].as_str().unwrap()),
                ("client_id", &id),
                ("scope", "openid patient/*.rs"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{with}");
    assert_eq!(with["scope"], "openid patient/*.rs");
}

/// SMART `online_access` (permission-online): a refresh token that works while the user stays
/// signed in, and stops at sign-out (also for introspection), while an `offline_access` grant
/// made in the same session keeps working. A sign-in also ends `session_ttl` after it began.
#[tokio::test]
async fn online_access_refreshes_only_while_the_user_is_signed_in() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let fhir = fhir(&server);
    let browser = browser();
    let mut tokens = Vec::new();
    for scope in [
        "launch/patient openid fhirUser online_access patient/*.rs",
        "launch/patient openid fhirUser offline_access patient/*.rs",
    ] {
        let (url, verifier) = server.authorize_url(&id, scope, &[("aud", fhir.as_str())]);
        let back = server
            .authorize(&browser, &url, "alice", None)
            .await
            .redirect();
        let body = server
            .redeem(&id, &query_param(&back, "code").unwrap(), &verifier)
            .await;
        assert_eq!(body["scope"], scope, "{body}");
        tokens.push(
            body["refresh_token"]
                .as_str()
                .expect("a refresh token")
                .to_owned(),
        );
    }
    let (online, offline) = (tokens[0].clone(), tokens[1].clone());
    let (status, body) = server.refresh(&id, &online).await;
    assert_eq!(status, 200, "online while signed in: {body}");
    let online = body["refresh_token"].as_str().unwrap().to_owned();

    // Sign out: the online grant stops, the offline one goes on.
    let page = browser
        .get(server.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .post(server.url("/logout"))
        .form(&[("csrf", hidden(&page, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (status, body) = server.refresh(&id, &online).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("no longer signed in")
    );
    let (status, body) = server.refresh(&id, &offline).await;
    assert_eq!(status, 200, "offline_access outlives the sign-in: {body}");

    // A sign-in that is never ended expires with the session lifetime.
    let other = crate::common::browser();
    let scope = "openid online_access";
    let (url, verifier) = server.authorize_url(&id, scope, &[]);
    let back = server
        .authorize(&other, &url, "alice", None)
        .await
        .redirect();
    let body = server
        .redeem(&id, &query_param(&back, "code").unwrap(), &verifier)
        .await;
    let token = body["refresh_token"].as_str().unwrap().to_owned();
    server.clock.advance(server.services.config.session_ttl + 1);
    let (status, body) = server.refresh(&id, &token).await;
    assert_eq!(status, 400, "the sign-in has expired");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("no longer signed in"),
        "{body}"
    );
}

#[tokio::test]
async fn invalid_aud_never_yields_a_code() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(
        &server.public_client.client_id,
        STANDALONE,
        &[("aud", "https://inferno.healthit.gov/invalid_aud")],
    );
    let r = browser().get(&url).send().await.unwrap();
    let back = location(&r);
    assert!(query_param(&back, "code").is_none());
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
    // `resource` (RFC 8707) is accepted as a synonym of `aud`; a bad one is refused too.
    let id = server.public_client.client_id.clone();
    let (url, verifier) =
        server.authorize_url(&id, "openid patient/*.rs", &[("resource", &fhir(&server))]);
    let back = server
        .authorize(&browser(), &url, "alice", None)
        .await
        .redirect();
    let body = server
        .redeem(&id, &query_param(&back, "code").unwrap(), &verifier)
        .await;
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["aud"],
        fhir(&server)
    );
    let (url, _) = server.authorize_url(
        &id,
        "openid patient/*.rs",
        &[("resource", "https://elsewhere.example/fhir")],
    );
    let r = browser().get(&url).send().await.unwrap();
    assert!(query_param(&location(&r), "code").is_none());
}

#[tokio::test]
async fn malformed_smart_scopes_are_invalid_scope() {
    let server = TestServer::start().await;
    let fhir = fhir(&server);
    let (url, _) = server.authorize_url(
        &server.public_client.client_id,
        "openid patient/Observation.dus",
        &[("aud", &fhir)],
    );
    let r = browser().get(&url).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn limited_app_patient_deselects_resource_types() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let fhir = fhir(&server);
    let scope =
        "launch/patient openid patient/Patient.rs patient/Condition.rs patient/Observation.rs";
    let (url, verifier) = server.authorize_url(&id, scope, &[("aud", &fhir)]);
    let keep = [
        "launch/patient",
        "openid",
        "patient/Patient.rs",
        "patient/Observation.rs",
    ];
    let back = server
        .authorize(&browser(), &url, "alice", Some(&keep))
        .await
        .redirect();
    let body = server
        .redeem(&id, &query_param(&back, "code").unwrap(), &verifier)
        .await;
    assert_eq!(
        body["scope"],
        "launch/patient openid patient/Patient.rs patient/Observation.rs"
    );
}

#[tokio::test]
async fn granular_scopes_can_replace_resource_level_condition_and_observation() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let fhir = fhir(&server);
    let scope =
        "launch/patient openid patient/Patient.rs patient/Condition.rs patient/Observation.rs";
    let (url, verifier) = server.authorize_url(&id, scope, &[("aud", &fhir)]);
    let browser = browser();
    let (page, _) = server.page_after_sign_in(&browser, url, "alice").await;
    assert_eq!(
        page.matches("name=\"granular\"").count(),
        9,
        "3 Condition and 6 Observation categories offered"
    );
    let lab = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
    let problems = "patient/Condition.rs?category=http://terminology.hl7.org/CodeSystem/condition-category|problem-list-item";
    let form = vec![
        ("csrf", hidden(&page, "csrf")),
        ("request", hidden(&page, "request")),
        ("decision", "allow".into()),
        ("scope", "launch/patient".into()),
        ("scope", "openid".into()),
        ("scope", "patient/Patient.rs".into()),
        ("granular", lab.into()),
        ("granular", problems.into()),
        // Not offered (no such requested scope): ignored.
        ("granular", "patient/Immunization.rs?category=x|y".into()),
    ];
    let r = browser
        .post(server.url("/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let body = server
        .redeem(&id, &query_param(&location(&r), "code").unwrap(), &verifier)
        .await;
    let granted: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    assert!(granted.contains(&lab) && granted.contains(&problems));
    assert!(granted.contains(&"patient/Patient.rs"));
    assert!(
        !granted.contains(&"patient/Observation.rs") && !granted.contains(&"patient/Condition.rs")
    );
    assert!(!granted.iter().any(|s| s.contains("Immunization")));
}

async fn ehr_client(server: &TestServer) -> Registered {
    clients::register(
        server.services.store.as_ref(),
        NewClient {
            name: "Test EHR",
            redirect_uris: &["https://ehr.example/cb".to_owned()],
            confidential: true,
            client_id: None,
            id_token_alg: Alg::Rs256,
            max_confidentiality: None,
            allowed_sensitivity: None,
            ehr_launcher: true,
            ..Default::default()
        },
        server.services.now(),
    )
    .await
    .unwrap()
}

async fn request_launch(
    server: &TestServer,
    ehr: &Registered,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let r = http_client()
        .post(server.url("/launch"))
        .basic_auth(&ehr.client_id, ehr.client_secret.as_deref())
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn ehr_launch_resolves_the_launch_context_once() {
    let server = TestServer::start().await;
    let ehr = ehr_client(&server).await;
    let app = server.public_client.client_id.clone();
    let context = r#"[{"reference": "DiagnosticReport/r1"}]"#;
    let (status, launch) = request_launch(
        &server,
        &ehr,
        &[
            ("patient", "alice"),
            ("encounter", "enc-1"),
            ("client_id", &app),
            ("fhir_context", context),
        ],
    )
    .await;
    assert_eq!(status, 200, "{launch}");
    assert_eq!(launch["expires_in"], 300);
    let handle = launch["launch"].as_str().unwrap().to_owned();

    let scope = "launch openid fhirUser offline_access patient/*.rs";
    let (code, verifier) = smart_code(&server, &app, scope, "alice", &[("launch", &handle)]).await;
    let body = server.redeem(&app, &code, &verifier).await;
    assert_eq!(body["patient"], "alice");
    assert_eq!(body["encounter"], "enc-1");
    assert_eq!(body["need_patient_banner"], true);
    // context-style: the app is told where the styling document is, and can fetch it from
    // the browser.
    let style_url = body["smart_style_url"].as_str().unwrap();
    assert!(style_url.starts_with(&format!("{}/smart-style.json?v=", server.issuer)));
    let r = http_client().get(style_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let style: Value = r.json().await.unwrap();
    assert!(style["color_highlight"].as_str().unwrap().starts_with('#'));
    assert!(style["font_family_body"].is_string());
    assert_eq!(
        body["fhirContext"],
        json!([{"reference": "DiagnosticReport/r1"}])
    );
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["encounter"],
        "enc-1"
    );

    // Single use.
    let fhir = fhir(&server);
    let (url, _) = server.authorize_url(&app, scope, &[("aud", &fhir), ("launch", &handle)]);
    let r = browser().get(&url).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
    // The launch scope without a launch: refused.
    let (url, _) = server.authorize_url(&app, scope, &[("aud", &fhir)]);
    let r = browser().get(&url).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn launch_handles_need_an_ehr_and_are_bound_to_their_app() {
    let server = TestServer::start().await;
    let ehr = ehr_client(&server).await;
    // A confidential client that is not an EHR, a wrong secret, a public client: refused.
    let c = &server.confidential_client;
    let (status, body) = request_launch(&server, c, &[("patient", "alice")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let wrong = Registered {
        client_secret: Some("wrong".into()),
        ..ehr_client(&server).await
    };
    let (status, _) = request_launch(&server, &wrong, &[("patient", "alice")]).await;
    assert_eq!(status, 401);
    let (status, body) = request_launch(&server, &ehr, &[("patient", "not a fhir id")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _) = request_launch(
        &server,
        &ehr,
        &[(
            "fhir_context",
            r#"[{"reference": "http://abs/Observation/1"}]"#,
        )],
    )
    .await;
    assert_eq!(status, 400);

    // Bound to another app: this app cannot use it.
    let other = register(&server.services, "Other", false).await;
    let (_, launch) = request_launch(
        &server,
        &ehr,
        &[("patient", "alice"), ("client_id", &other.client_id)],
    )
    .await;
    let fhir = fhir(&server);
    let handle = launch["launch"].as_str().unwrap();
    let (url, _) = server.authorize_url(
        &server.public_client.client_id,
        "launch openid",
        &[("aud", &fhir), ("launch", handle)],
    );
    let r = browser().get(&url).send().await.unwrap();
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn practitioner_standalone_launch_uses_the_patient_picker() {
    let server = TestServer::start().await;
    let store = server.services.store.as_ref();
    for (id, name) in [("p-carmen", "Carmen Ruiz"), ("p-dev", "Dev Patel")] {
        store
            .upsert_patient(&new_patient(id, name, None, None, 0).unwrap())
            .await
            .unwrap();
    }
    let app = server.public_client.client_id.clone();
    let fhir = fhir(&server);
    let (url, verifier) = server.authorize_url(
        &app,
        "launch/patient openid fhirUser user/*.rs patient/*.rs",
        &[("aud", &fhir)],
    );
    let browser = browser();
    let (page, picker_url) = server.page_after_sign_in(&browser, url, "dr.jones").await;
    assert!(picker_url.contains("/picker"), "{picker_url}");
    assert!(page.contains("Carmen Ruiz") && page.contains("Dev Patel"));
    let r = browser
        .post(server.url("/picker"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("request", hidden(&page, "request")),
            ("patient", "p-dev".into()),
        ])
        .send()
        .await
        .unwrap();
    let back = server
        .authorize(&browser, &server.url(&location(&r)), "dr.jones", None)
        .await
        .redirect();
    let body = server
        .redeem(&app, &query_param(&back, "code").unwrap(), &verifier)
        .await;
    assert_eq!(body["patient"], "p-dev");
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["fhirUser"], "Practitioner/jones");
    assert_eq!(claims["security"]["purpose_of_use"], "TREAT");
}

#[tokio::test]
async fn a_long_patient_directory_is_searched_by_name() {
    let server = TestServer::start().await;
    let store = server.services.store.as_ref();
    for i in 0..60 {
        store
            .upsert_patient(
                &new_patient(
                    &format!("p{i}"),
                    &format!("Patient Number {i}"),
                    None,
                    None,
                    0,
                )
                .unwrap(),
            )
            .await
            .unwrap();
    }
    store
        .upsert_patient(&new_patient("zoe", "Zoë Quinn", None, None, 0).unwrap())
        .await
        .unwrap();
    let fhir = fhir(&server);
    let (url, _) = server.authorize_url(
        &server.public_client.client_id,
        "launch/patient openid",
        &[("aud", &fhir)],
    );
    let browser = browser();
    let (page, picker_url) = server.page_after_sign_in(&browser, url, "dr.jones").await;
    assert!(page.contains("Patient name"), "a search box");
    assert!(!page.contains("type=\"radio\""), "no list before a search");
    let page = browser
        .get(format!("{picker_url}&q=quinn"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("type=\"radio\"").count(), 1);
    assert!(page.contains("Zoë Quinn"));
}

async fn introspect(server: &TestServer, token: &str, auth: Option<(&str, &str)>) -> (u16, Value) {
    let mut post = server.post_form("/introspect", &[("token", token)]);
    if let Some((id, secret)) = auth {
        post = post.basic(id, secret);
    }
    let answer = post.send().await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn token_introspection_smart_profile() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = smart_code(&server, &id, STANDALONE, "alice", &[]).await;
    let body = server.redeem(&id, &code, &verifier).await;
    let rs = &server.confidential_client;
    let auth = Some((rs.client_id.as_str(), rs.client_secret.as_deref().unwrap()));

    let (status, active) = introspect(&server, body["access_token"].as_str().unwrap(), auth).await;
    assert_eq!(status, 200);
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], id);
    let scope: std::collections::BTreeSet<&str> =
        active["scope"].as_str().unwrap().split(' ').collect();
    let granted: std::collections::BTreeSet<&str> =
        body["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(scope, granted);
    assert!(active["exp"].is_number() && active["iat"].is_number());
    assert_eq!(active["patient"], "alice");
    assert_eq!(active["fhirUser"], "Patient/alice");
    let id_claims = jwt_claims(body["id_token"].as_str().unwrap());
    assert_eq!(active["iss"], id_claims["iss"]);
    assert_eq!(active["sub"], id_claims["sub"]);
    assert_eq!(active["aud"], fhir(&server));
    assert_eq!(active["security"]["confidentiality"], "N");

    // RFC 7662 §4: a refresh token is shown to its own client only, never to a resource
    // server (here the app is public and cannot introspect at all).
    let (_, refresh_active) =
        introspect(&server, body["refresh_token"].as_str().unwrap(), auth).await;
    assert_eq!(refresh_active, json!({"active": false}));

    // Anything else: exactly {"active": false}.
    let (status, inactive) = introspect(&server, "invalid_token_value", auth).await;
    assert_eq!((status, inactive), (200, json!({"active": false})));
    // Unauthenticated or public callers are refused.
    let (status, _) = introspect(&server, body["access_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 401);
    let r = server
        .post_form(
            "/introspect",
            &[
                ("token", body["access_token"].as_str().unwrap()),
                ("client_id", id.as_str()),
            ],
        )
        .send()
        .await;
    assert_eq!(r.status, 401);

    // Revoked through RFC 7009: both tokens go inactive.
    let r = server
        .post_form(
            "/revoke",
            &[
                ("token", body["refresh_token"].as_str().unwrap()),
                ("client_id", id.as_str()),
            ],
        )
        .send()
        .await;
    assert_eq!(r.status, 200);
    for token in [
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    ] {
        assert_eq!(
            introspect(&server, token, auth).await.1,
            json!({"active": false})
        );
    }
    // Expired access tokens are inactive.
    let (code, verifier) = smart_code(&server, &id, STANDALONE, "alice", &[]).await;
    let fresh = server.redeem(&id, &code, &verifier).await;
    server.clock.advance(301);
    assert_eq!(
        introspect(&server, fresh["access_token"].as_str().unwrap(), auth)
            .await
            .1,
        json!({"active": false})
    );
}

#[tokio::test]
async fn token_endpoint_cors_for_public_clients_only() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = smart_code(&server, &id, "openid", "alice", &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
        ("client_id", id.as_str()),
    ];
    let r = server
        .post_form("/token", &form)
        .header("origin", "http://127.0.0.1:45678")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "http://127.0.0.1:45678"
    );
    let (code, verifier) = smart_code(&server, &id, "openid", "alice", &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
        ("client_id", id.as_str()),
    ];
    let r = server
        .post_form("/token", &form)
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    let r = http_client()
        .request(reqwest::Method::OPTIONS, server.url("/token"))
        .header("origin", "http://127.0.0.1:45678")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

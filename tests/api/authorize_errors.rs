//! The authorization endpoint's errors: pages when the client or redirect URI cannot be
//! verified (never a redirect), redirects with error, state and iss otherwise.

use crate::common::*;

async fn get(server: &TestServer, url: &str) -> reqwest::Response {
    let _ = server;
    browser().get(url).send().await.unwrap()
}

#[tokio::test]
async fn unknown_client_shows_a_page_and_never_redirects() {
    let server = TestServer::start().await;
    let (url, _) = authorize_url(&server, "no-such-client", "openid", &[]);
    let r = get(&server, &url).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("not registered"));
}

#[tokio::test]
async fn unregistered_redirect_uri_shows_a_page_and_never_redirects() {
    let server = TestServer::start().await;
    let (url, _) = authorize_url(&server, &server.public_client.client_id, "openid", &[]);
    for other in [
        "http://127.0.0.1:45678/callback/../evil",
        "http://127.0.0.1:45678/callback?x=1",
        "https://evil.example/cb",
        "",
    ] {
        let bad = url.replace(&urlencode(REDIRECT_URI), &urlencode(other));
        let r = get(&server, &bad).await;
        assert_eq!(r.status(), 400, "{other}");
        assert!(r.headers().get("location").is_none(), "{other}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn error_redirect(server: &TestServer, url: &str) -> (String, String) {
    let r = get(server, url).await;
    assert_eq!(r.status(), 303, "{url}");
    let back = location(&r);
    assert!(back.starts_with(REDIRECT_URI), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("state-123"));
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(server.issuer.as_str())
    );
    assert!(query_param(&back, "code").is_none());
    (
        query_param(&back, "error").unwrap(),
        query_param(&back, "error_description").unwrap_or_default(),
    )
}

#[tokio::test]
async fn missing_plain_or_malformed_pkce_gets_an_error_never_a_code() {
    let server = TestServer::start().await;
    let (url, _) = authorize_url(&server, &server.public_client.client_id, "openid", &[]);
    let challenge = query_param(&url, "code_challenge").unwrap();

    let without_challenge = url.replace(&format!("&code_challenge={challenge}"), "");
    assert_eq!(
        error_redirect(&server, &without_challenge).await.0,
        "invalid_request"
    );

    let plain = url.replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert_eq!(error_redirect(&server, &plain).await.0, "invalid_request");

    let no_method = url.replace("&code_challenge_method=S256", "");
    assert_eq!(
        error_redirect(&server, &no_method).await.0,
        "invalid_request"
    );

    let malformed = url.replace(&challenge, "too-short");
    assert_eq!(
        error_redirect(&server, &malformed).await.0,
        "invalid_request"
    );
}

#[tokio::test]
async fn response_type_scope_prompt_max_age_and_request_objects() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (url, _) = authorize_url(&server, &id, "openid", &[]);

    let token = url.replace("response_type=code", "response_type=token");
    assert_eq!(
        error_redirect(&server, &token).await.0,
        "unsupported_response_type"
    );
    let missing = url.replace("response_type=code&", "");
    assert_eq!(error_redirect(&server, &missing).await.0, "invalid_request");

    let (unknown_scope, _) = authorize_url(&server, &id, "admin everything", &[]);
    assert_eq!(
        error_redirect(&server, &unknown_scope).await.0,
        "invalid_scope"
    );

    let (both, _) = authorize_url(&server, &id, "openid", &[("prompt", "none login")]);
    assert_eq!(error_redirect(&server, &both).await.0, "invalid_request");

    let (age, _) = authorize_url(&server, &id, "openid", &[("max_age", "-1")]);
    assert_eq!(error_redirect(&server, &age).await.0, "invalid_request");

    let (request, _) = authorize_url(
        &server,
        &id,
        "openid",
        &[("request", "eyJhbGciOiJub25lIn0.e30.")],
    );
    assert_eq!(
        error_redirect(&server, &request).await.0,
        "request_not_supported"
    );
    let (request_uri, _) = authorize_url(
        &server,
        &id,
        "openid",
        &[("request_uri", "https://x.example/r")],
    );
    assert_eq!(
        error_redirect(&server, &request_uri).await.0,
        "request_uri_not_supported"
    );

    let (repeated, _) = authorize_url(&server, &id, "openid", &[("state", "again")]);
    let r = get(&server, &repeated).await;
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let server = TestServer::start().await;
    let (url, _) = authorize_url(
        &server,
        &server.public_client.client_id,
        "openid",
        &[("prompt", "none")],
    );
    assert_eq!(error_redirect(&server, &url).await.0, "login_required");
}

#[tokio::test]
async fn fhir_access_needs_a_known_aud() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (no_aud, _) = authorize_url(&server, &id, "openid launch/patient patient/*.rs", &[]);
    assert_eq!(error_redirect(&server, &no_aud).await.0, "invalid_request");
    let (bad_aud, _) = authorize_url(
        &server,
        &id,
        "openid patient/*.rs",
        &[("aud", "https://inferno.healthit.gov/invalid_aud")],
    );
    assert_eq!(error_redirect(&server, &bad_aud).await.0, "invalid_request");

    // With the configured FHIR base, the flow completes and the access token names it.
    let fhir = server.url("/fhir");
    let (url, verifier) = authorize_url(&server, &id, "openid patient/*.rs", &[("aud", &fhir)]);
    let code = query_param(
        &authorize(&browser(), &server, &url, "alice", None)
            .await
            .redirect(),
        "code",
    )
    .unwrap();
    let (status, _, body) = token_request(
        &server,
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
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], fhir);
}

#[tokio::test]
async fn authorization_by_post_and_unknown_parameters_work() {
    let server = TestServer::start().await;
    let (url, _) = authorize_url(
        &server,
        &server.public_client.client_id,
        "openid",
        &[
            ("display", "popup"),
            ("ui_locales", "fr"),
            ("acr_values", "1"),
            ("login_hint", "alice"),
            ("extra", "foobar"),
        ],
    );
    let form: Vec<(String, String)> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let browser = browser();
    let r = browser
        .post(server.url("/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let login_url = server.url(&location(&r));
    assert!(login_url.contains("/login?request="));
    let page = browser
        .get(&login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("value=\"alice\""),
        "login_hint pre-fills the username"
    );
}

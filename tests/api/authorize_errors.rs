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
    let (url, _) = server.authorize_url("no-such-client", "openid", &[]);
    let r = get(&server, &url).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("not registered"));
}

#[tokio::test]
async fn unregistered_redirect_uri_shows_a_page_and_never_redirects() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(&server.public_client.client_id, "openid", &[]);
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

/// Each bad request, labelled, and the error it must come back with (RFC 6749 §4.1.2.1,
/// RFC 7636 §4.4.1, OIDC Core §3.1.2.6): never a code.
#[tokio::test]
async fn bad_authorization_requests_get_their_rfc_error_never_a_code() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (url, _) = server.authorize_url(&id, "openid", &[]);
    let challenge = query_param(&url, "code_challenge").unwrap();
    let with = |extra: &[(&str, &str)]| server.authorize_url(&id, "openid", extra).0;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "no code_challenge",
            url.replace(&format!("&code_challenge={challenge}"), ""),
            "invalid_request",
        ),
        (
            "plain PKCE",
            url.replace("code_challenge_method=S256", "code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            "no code_challenge_method",
            url.replace("&code_challenge_method=S256", ""),
            "invalid_request",
        ),
        (
            "malformed code_challenge",
            url.replace(&challenge, "too-short"),
            "invalid_request",
        ),
        (
            "implicit flow",
            url.replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            "no response_type",
            url.replace("response_type=code&", ""),
            "invalid_request",
        ),
        (
            "only unknown scopes",
            server.authorize_url(&id, "admin everything", &[]).0,
            "invalid_scope",
        ),
        (
            "prompt none with login",
            with(&[("prompt", "none login")]),
            "invalid_request",
        ),
        (
            "negative max_age",
            with(&[("max_age", "-1")]),
            "invalid_request",
        ),
        (
            "request object",
            with(&[("request", "eyJhbGciOiJub25lIn0.e30.")]),
            "request_not_supported",
        ),
        (
            "request_uri",
            with(&[("request_uri", "https://x.example/r")]),
            "request_uri_not_supported",
        ),
    ];
    for (label, url, error) in &cases {
        let (got, _) = error_redirect(&server, url).await;
        assert_eq!(got, *error, "{label}");
    }

    let (repeated, _) = server.authorize_url(&id, "openid", &[("state", "again")]);
    let r = get(&server, &repeated).await;
    assert_eq!(
        query_param(&location(&r), "error").as_deref(),
        Some("invalid_request"),
        "repeated state"
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(
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
    let (no_aud, _) = server.authorize_url(&id, "openid launch/patient patient/*.rs", &[]);
    assert_eq!(error_redirect(&server, &no_aud).await.0, "invalid_request");
    let (bad_aud, _) = server.authorize_url(
        &id,
        "openid patient/*.rs",
        &[("aud", "https://inferno.healthit.gov/invalid_aud")],
    );
    assert_eq!(error_redirect(&server, &bad_aud).await.0, "invalid_request");

    // With the configured FHIR base, the flow completes and the access token names it.
    let fhir = server.url("/fhir");
    let (url, verifier) = server.authorize_url(&id, "openid patient/*.rs", &[("aud", &fhir)]);
    let code = query_param(
        &server
            .authorize(&browser(), &url, "alice", None)
            .await
            .redirect(),
        "code",
    )
    .unwrap();
    let (status, _, body) = server
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
    let claims = jwt_claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], fhir);
}

#[tokio::test]
async fn authorization_by_post_and_unknown_parameters_work() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(
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

//! Browser sessions and page security: cookie attributes, session renewal at sign-in, CSRF,
//! clickjacking headers, prompt=login, max_age, id_token_hint; UserInfo and discovery.

use crate::common::*;
use clearance::config::Settings;

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("clearance_session="))
        .map(str::to_owned)
}

/// The sign-in form's own CSRF cookie (the page stores nothing on the server).
fn login_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("clearance_login_csrf="))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn pages_forbid_framing_and_cookies_are_http_only_lax() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(&server.public_client.client_id, "openid", &[]);
    let browser = browser();
    let (response, page_url) = server.follow(&browser, url).await;
    assert!(page_url.contains("/login"));
    let h = response.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        session_cookie(&response).is_none(),
        "an anonymous sign-in page starts no session"
    );
    let cookie = login_cookie(&response).expect("a cookie for the sign-in CSRF token");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "http issuer: no Secure flag");
}

#[tokio::test]
async fn cookies_are_secure_when_the_issuer_is_https() {
    let server = TestServer::start_with(Settings {
        issuer: Some("https://auth.example.org".into()),
        ..Settings::default()
    })
    .await;
    let r = browser().get(server.url("/login")).send().await.unwrap();
    assert!(login_cookie(&r).unwrap().contains("Secure"));
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000",
        "HSTS when the issuer is https"
    );
}

#[tokio::test]
async fn sign_in_renews_the_session_id_and_needs_the_csrf_token() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(&server.public_client.client_id, "openid", &[]);
    let browser = browser();
    let (response, _) = server.follow(&browser, url).await;
    assert!(
        session_cookie(&response).is_none(),
        "no session before sign-in"
    );
    let page = response.text().await.unwrap();

    // Without or with a wrong CSRF token: refused.
    for csrf in ["", "forged"] {
        let r = browser
            .post(server.url("/login"))
            .form(&[
                ("csrf", csrf),
                ("request", &hidden(&page, "request")),
                ("username", "alice"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    // Wrong password: the page again, with an error, and no sign-in.
    let r = server
        .sign_in(&browser, &page, "alice", "wrong password")
        .await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("incorrect"));
    let r = server.sign_in(&browser, &page, "nobody", PASSWORD).await;
    assert_eq!(r.status(), 401);

    let r = server.sign_in(&browser, &page, "alice", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let after = cookie_value(&session_cookie(&r).expect("new session cookie"));
    // Signing in again in the same browser renews the id again (session fixation defence).
    let (url, _) = server.authorize_url(
        &server.public_client.client_id,
        "openid",
        &[("prompt", "login")],
    );
    let (response, _) = server.follow(&browser, url).await;
    let page = response.text().await.unwrap();
    let r = server.sign_in(&browser, &page, "alice", PASSWORD).await;
    let again = cookie_value(&session_cookie(&r).expect("renewed session cookie"));
    assert_ne!(after, again, "session id renewed at sign-in");
}

/// Failed sign-ins are in the audit trail: against the account when the username exists (the
/// patient sees it on their account page), never with the typed username, which may be a
/// password typed in the wrong field. `clearance audit` prints the trail.
#[tokio::test]
async fn failed_sign_ins_are_audited_without_the_typed_username() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(&server.public_client.client_id, "openid", &[]);
    let browser = browser();
    let (response, _) = server.follow(&browser, url).await;
    let page = response.text().await.unwrap();
    let r = server
        .sign_in(&browser, &page, "alice", "not her password")
        .await;
    assert_eq!(r.status(), 401);
    let r = server.sign_in(&browser, &page, PASSWORD, PASSWORD).await;
    assert_eq!(r.status(), 401);

    let alice = server.user("alice").await;
    let trail = server.services.store.audit_events(None, 100).await.unwrap();
    let failed: Vec<_> = trail
        .iter()
        .filter(|e| e.event == "sign_in_failed")
        .collect();
    assert_eq!(failed.len(), 2, "{trail:?}");
    assert_eq!(failed[1].user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(failed[1].detail, "wrong password");
    assert_eq!(failed[0].user_id, None);
    assert_eq!(failed[0].detail, "unknown username");
    assert!(
        !format!("{trail:?}").contains(PASSWORD),
        "the typed username (here a password) is never stored"
    );

    // Alice sees it on her account page.
    let r = server.sign_in(&browser, &page, "alice", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let account = browser
        .get(server.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let signed_in = account
        .find("You signed in.")
        .expect("sign-in in the history");
    let tried = account
        .find("Someone tried to sign in as you with a wrong password.")
        .expect("the failed attempt in the history");
    assert!(signed_in < tried, "newest first");

    // The operator reads the same trail from the command line.
    let database_url = server.services.config.database_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clearance"))
            .args(["audit", "--username", "alice", "--limit", "10"])
            .env("CLEARANCE_DATABASE_URL", database_url)
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
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events: Vec<&str> = printed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["sign_in", "sign_in_failed"]);
    assert!(
        printed
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["user_id"] == alice.id.as_str())
    );
}

/// Online guessing protection: five wrong passwords within 15 minutes pause the account's
/// sign-in (even with the right password), counted from the audit trail; other accounts are
/// unaffected; the page never tells a paused account from a wrong password or an unknown
/// username; the account recovers when the window passes; the patient sees it in the history.
#[tokio::test]
async fn repeated_wrong_passwords_pause_the_account_for_a_while() {
    let server = TestServer::start().await;
    let (url, _) = server.authorize_url(&server.public_client.client_id, "openid", &[]);
    let browser = browser();
    let (response, _) = server.follow(&browser, url.clone()).await;
    let page = response.text().await.unwrap();
    let message = |body: &str| {
        let start = body
            .find("The username or password")
            .expect("error message");
        body[start..start + 150].to_owned()
    };
    let mut wrong_message = String::new();
    for attempt in 0..clearance::flow::users::MAX_FAILED_SIGN_INS {
        let r = server
            .sign_in(&browser, &page, "alice", &format!("guess {attempt}"))
            .await;
        assert_eq!(r.status(), 401);
        wrong_message = message(&r.text().await.unwrap());
    }
    let r = server.sign_in(&browser, &page, "alice", PASSWORD).await;
    assert_eq!(
        r.status(),
        401,
        "paused: even the right password is refused"
    );
    let paused_message = message(&r.text().await.unwrap());
    assert_eq!(
        paused_message, wrong_message,
        "the page does not tell a paused account apart"
    );
    assert!(paused_message.contains("waits 15 minutes"));
    let r = server.sign_in(&browser, &page, "nobody", PASSWORD).await;
    assert_eq!(
        (r.status().as_u16(), message(&r.text().await.unwrap())),
        (401, wrong_message.clone())
    );

    // Another account is not affected.
    let other = crate::common::browser();
    let (response, _) = server.follow(&other, url.clone()).await;
    let other_page = response.text().await.unwrap();
    let r = server
        .sign_in(&other, &other_page, "dr.jones", PASSWORD)
        .await;
    assert_eq!(r.status(), 303);

    let alice = server.user("alice").await;
    let trail = server
        .services
        .store
        .audit_events(Some(&alice.id), 100)
        .await
        .unwrap();
    assert_eq!(trail[0].event, "sign_in_throttled");

    // When the window has passed, the right password works again.
    server
        .clock
        .advance(clearance::flow::users::THROTTLE_WINDOW + 1);
    let r = server.sign_in(&browser, &page, "alice", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let account = browser
        .get(server.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account
            .contains("Signing in as you was paused for a while after repeated wrong passwords.")
    );
}

async fn id_token_after(
    server: &TestServer,
    browser: &reqwest::Client,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let id = server.public_client.client_id.clone();
    let (url, verifier) = server.authorize_url(&id, "openid", extra);
    let back = server
        .authorize(browser, &url, "alice", None)
        .await
        .redirect();
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let (_, _, body) = server
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
    let mut claims = jwt_claims(body["id_token"].as_str().unwrap());
    claims["raw"] = body["id_token"].clone();
    claims
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_sign_in_with_a_later_auth_time() {
    let server = TestServer::start().await;
    let browser = browser();
    let first = id_token_after(&server, &browser, &[("nonce", "n-1")]).await;
    assert_eq!(first["nonce"], "n-1");

    server.clock.advance(5);
    let id = server.public_client.client_id.clone();
    let (url, _) = server.authorize_url(&id, "openid", &[("prompt", "login")]);
    let (_, landed) = server.follow(&browser, url).await;
    assert!(
        landed.contains("/login"),
        "prompt=login shows the sign-in page"
    );
    let second = id_token_after(&server, &browser, &[("prompt", "login")]).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());

    // max_age: within it, silent; beyond it, sign in again.
    let within = id_token_after(&server, &browser, &[("max_age", "100")]).await;
    assert_eq!(within["auth_time"], second["auth_time"]);
    server.clock.advance(20);
    let (url, _) = server.authorize_url(&id, "openid", &[("max_age", "10")]);
    let (_, landed) = server.follow(&browser, url).await;
    assert!(
        landed.contains("/login"),
        "max_age exceeded shows the sign-in page"
    );
    let third = id_token_after(&server, &browser, &[("max_age", "10")]).await;
    assert!(third["auth_time"].as_i64() > second["auth_time"].as_i64());

    // id_token_hint with prompt=none: silent success for the same user.
    let hint = third["raw"].as_str().unwrap();
    let (url, _) = server.authorize_url(
        &id,
        "openid",
        &[("prompt", "none"), ("id_token_hint", hint)],
    );
    let (_, back) = server.follow(&browser, url).await;
    assert!(query_param(&back, "code").is_some(), "{back}");
    let (url, _) = server.authorize_url(
        &id,
        "openid",
        &[("prompt", "none"), ("id_token_hint", "not.a.token")],
    );
    let (_, back) = server.follow(&browser, url).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn userinfo_accepts_header_or_post_body_and_challenges_otherwise() {
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = server.code_for(&id, "openid fhirUser email").await;
    let (_, _, body) = server
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
    let access = body["access_token"].as_str().unwrap();
    let sub = jwt_claims(body["id_token"].as_str().unwrap())["sub"].clone();
    let http = http_client();

    let header: serde_json::Value = http
        .get(server.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(header["sub"], sub);
    assert_eq!(header["fhirUser"], "Patient/alice");
    assert_eq!(header["email"], "test@example.org");
    assert!(
        header.get("preferred_username").is_none(),
        "no profile scope, no profile claims"
    );

    let posted: serde_json::Value = http
        .post(server.url("/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posted["sub"], sub);

    let r = http.get(server.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer realm=\"clearance\""
    );
    let r = http
        .get(server.url("/userinfo"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    server.clock.advance(301);
    let r = http
        .get(server.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "expired access token");
}

#[tokio::test]
async fn discovery_is_honest_and_jwks_has_bare_public_keys() {
    let server = TestServer::start().await;
    let http = http_client();
    let r = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let d: serde_json::Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], server.issuer);
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["request_uri_parameter_supported"], false);
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert!(
        d["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"RS256".into())
    );
    assert!(
        !d["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"implicit".into())
    );

    let jwks: serde_json::Value = http
        .get(d["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(
        keys.iter()
            .any(|k| k["kty"] == "RSA" && k["alg"] == "RS256")
    );
    assert!(keys.iter().any(|k| k["kty"] == "EC" && k["crv"] == "P-256"));
    assert!(
        keys.iter()
            .any(|k| k["kty"] == "RSA" && k["alg"] == "RS384")
    );
    assert!(
        keys.iter()
            .any(|k| k["kty"] == "EC" && k["crv"] == "P-384" && k["alg"] == "ES384")
    );
    for k in keys {
        assert!(k["kid"].is_string());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none());
        }
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_never_by_raw_path() {
    let server = TestServer::start().await;
    let http = http_client();
    http.get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    http.get(server.url("/register/some-client-id"))
        .send()
        .await
        .unwrap();
    let text = http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("clearance_http_requests_total{route=\"/.well-known/openid-configuration\",status=\"200\"} 1"), "{text}");
    assert!(
        text.contains("route=\"/register/{client_id}\",status=\"401\""),
        "{text}"
    );
    assert!(
        !text.contains("some-client-id"),
        "raw paths never become labels"
    );
}

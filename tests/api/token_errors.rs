//! One negative test per token endpoint error (RFC 6749 §5.2, RFC 7636, RFC 9700 §4.14).

use crate::common::*;

/// A token request's form fields.
type Form<'a> = Vec<(&'a str, &'a str)>;

fn code_form<'a>(code: &'a str, verifier: &'a str, client_id: &'a str) -> Form<'a> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
        ("client_id", client_id),
    ]
}

fn assert_no_store(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
}

#[tokio::test]
async fn token_reused_code_is_invalid_grant_and_revokes_what_it_produced() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let (code, verifier) = server.code_for(&client_id, "openid offline_access").await;
    let (status, headers, first) = server
        .token_request(&code_form(&code, &verifier, &client_id), None)
        .await;
    assert_eq!(status, 200);
    assert_no_store(&headers);
    let access = first["access_token"].as_str().unwrap().to_owned();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, headers, body) = server
        .token_request(&code_form(&code, &verifier, &client_id), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_no_store(&headers);

    // Everything the code produced is revoked: the refresh token and the access token.
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", &client_id),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = http_client()
        .get(server.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The audit trail has the whole story, for the patient's account and the operator.
    let alice = server.user("alice").await;
    let trail = server.services.store.audit_events(None, 100).await.unwrap();
    let story: Vec<&str> = trail.iter().rev().map(|e| e.event.as_str()).collect();
    let position = |event: &str| {
        story
            .iter()
            .position(|e| *e == event)
            .unwrap_or_else(|| panic!("{event} in {story:?}"))
    };
    assert!(position("sign_in") < position("consent_given"));
    assert!(position("consent_given") < position("code_issued"));
    assert!(position("code_issued") < position("tokens_issued"));
    assert!(position("tokens_issued") < position("code_reused"));
    assert!(position("code_reused") < position("token_request_refused"));
    let reused = trail.iter().find(|e| e.event == "code_reused").unwrap();
    assert_eq!(reused.user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(reused.client_id.as_deref(), Some(client_id.as_str()));
    assert!(reused.grant_id.is_some());
    assert!(
        !format!("{trail:?}").contains(&code) && !format!("{trail:?}").contains(&refresh),
        "no code or token in the trail"
    );
}

#[tokio::test]
async fn token_wrong_verifier_is_invalid_grant() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let (code, _) = server.code_for(&client_id, "openid").await;
    let wrong = clearance::secrets::random_token();
    let (status, headers, body) = server
        .token_request(&code_form(&code, &wrong, &client_id), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_no_store(&headers);
}

#[tokio::test]
async fn token_verifier_equal_to_challenge_missing_or_blank_fails() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();

    // The verifier equal to the challenge: `plain` semantics, which are refused.
    let browser = browser();
    let (url, verifier) = server.authorize_url(&client_id, "openid", &[]);
    let challenge = query_param(&url, "code_challenge").unwrap();
    assert_ne!(challenge, verifier);
    let code = query_param(
        &server
            .authorize(&browser, &url, "alice", None)
            .await
            .redirect(),
        "code",
    )
    .unwrap();
    let (status, _, body) = server
        .token_request(&code_form(&code, &challenge, &client_id), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Missing or blank verifier: refused before the code is spent, so the code still works.
    let (code, verifier) = server.code_for(&client_id, "openid").await;
    for blank in ["", "   "] {
        let mut form = code_form(&code, blank, &client_id);
        if blank.is_empty() {
            form.retain(|(k, _)| *k != "code_verifier");
        }
        let (status, _, body) = server.token_request(&form, None).await;
        assert_eq!(status, 400);
        assert!(
            matches!(
                body["error"].as_str(),
                Some("invalid_request" | "invalid_grant")
            ),
            "{body}"
        );
    }
    let (status, _, _) = server
        .token_request(&code_form(&code, &verifier, &client_id), None)
        .await;
    assert_eq!(status, 200, "a malformed request must not burn the code");
}

#[tokio::test]
async fn token_redirect_uri_must_match_and_code_is_bound_to_its_client() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let (code, verifier) = server.code_for(&client_id, "openid").await;
    let other = register(&server.services, "Other", false).await;
    let (status, _, body) = server
        .token_request(&code_form(&code, &verifier, &other.client_id), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let mut form = code_form(&code, &verifier, &client_id);
    form[2] = ("redirect_uri", "http://127.0.0.1:45678/other");
    let (status, _, body) = server.token_request(&form, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn token_expired_code_is_invalid_grant() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let (code, verifier) = server.code_for(&client_id, "openid").await;
    server.clock.advance(61);
    let (status, _, body) = server
        .token_request(&code_form(&code, &verifier, &client_id), None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn token_unknown_code_unknown_client_and_unsupported_grant() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let verifier = "a".repeat(43);
    // (label, form, status, error): RFC 6749 §5.2.
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        (
            "unknown code",
            code_form("no-such-code", &verifier, &client_id),
            400,
            "invalid_grant",
        ),
        (
            "unknown client",
            code_form("x", &verifier, "no-such-client"),
            401,
            "invalid_client",
        ),
        (
            "password grant",
            vec![("grant_type", "password"), ("client_id", &client_id)],
            400,
            "unsupported_grant_type",
        ),
        (
            "no grant_type",
            vec![("client_id", &client_id)],
            400,
            "invalid_request",
        ),
        (
            "repeated parameter",
            vec![
                ("grant_type", "authorization_code"),
                ("grant_type", "refresh_token"),
                ("client_id", &client_id),
            ],
            400,
            "invalid_request",
        ),
    ];
    for (label, form, status, error) in &cases {
        let (got_status, headers, body) = server.token_request(form, None).await;
        assert_eq!(
            (got_status, body["error"].as_str()),
            (*status, Some(*error)),
            "{label}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{label}");
    }

    let r = http_client()
        .post(server.url("/token"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn token_wrong_secret_is_invalid_client_with_basic_challenge() {
    let server = TestServer::start().await;
    let c = &server.confidential_client;
    let (code, verifier) = server.code_for(&c.client_id, "openid").await;
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, headers, body) = server
        .token_request(&form, Some((&c.client_id, "wrong-secret")))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_no_store(&headers);

    // client_secret_post with a wrong secret, and a confidential client without any secret.
    let mut post = form.clone();
    post.push(("client_id", &c.client_id));
    let mut wrong = post.clone();
    wrong.push(("client_secret", "wrong"));
    let (status, headers, body) = server.token_request(&wrong, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(!headers.contains_key("www-authenticate"));
    let (status, _, body) = server.token_request(&post, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    // The right secret still works: the failures did not spend the code.
    let (status, _, body) = server
        .token_request(
            &form,
            Some((&c.client_id, c.client_secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn token_reused_refresh_token_revokes_the_grant() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let (code, verifier) = server
        .code_for(&client_id, "openid profile offline_access")
        .await;
    let (_, _, first) = server
        .token_request(&code_form(&code, &verifier, &client_id), None)
        .await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    let refresh = |token: String| {
        let server = &server;
        let client_id = client_id.clone();
        async move {
            server
                .token_request(
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &token),
                        ("client_id", &client_id),
                    ],
                    None,
                )
                .await
        }
    };
    let (status, headers, second) = refresh(r1.clone()).await;
    assert_eq!(status, 200);
    assert_no_store(&headers);
    assert_eq!(second["scope"], "openid profile offline_access");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);

    // The old one again: refused, and the whole grant ends, including the newest token.
    let (status, _, body) = refresh(r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _, body) = refresh(r2).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn token_refresh_never_widens_scope_and_is_bound_to_its_client() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let (code, verifier) = server
        .code_for(&client_id, "openid profile offline_access")
        .await;
    let (_, _, first) = server
        .token_request(&code_form(&code, &verifier, &client_id), None)
        .await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r1),
                ("client_id", &client_id),
                ("scope", "openid email"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    let other = register(&server.services, "Other", false).await;
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r1),
                ("client_id", &other.client_id),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Neither failure spent the token; a narrower scope is allowed.
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r1),
                ("client_id", &client_id),
                ("scope", "openid"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "openid");
    assert!(body["id_token"].is_string());
    // The next refresh without `scope` gets the original grant back, never more.
    let r2 = body["refresh_token"].as_str().unwrap().to_owned();
    let (_, _, body) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r2),
                ("client_id", &client_id),
            ],
            None,
        )
        .await;
    assert_eq!(body["scope"], "openid profile offline_access");
}

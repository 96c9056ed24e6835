//! PostgreSQL and several instances: the whole flow on PostgreSQL, a database that goes away
//! while the server runs, and two `clearance serve` processes sharing one database.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::pg;
use crate::common::proxy::Proxy;
use crate::common::*;
use clearance::config::Settings;
use clearance::flow::clients::{self, NewClient};
use clearance::flow::users::{self, NewUser};
use clearance::store::Role;
use clearance::store::postgres::{PoolSettings, PostgresStore};
use clearance::tokens::Alg;

fn code_form<'a>(code: &'a str, verifier: &'a str, client_id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
        ("client_id", client_id),
    ]
}

#[tokio::test]
async fn the_whole_flow_works_on_postgresql() {
    let Some(url) = pg::fresh_database().await else {
        return;
    };
    let server = TestServer::start_with(Settings {
        database_url: Some(url.clone()),
        ..Settings::default()
    })
    .await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = server.code_for(&id, "openid profile offline_access").await;
    let (status, _, body) = server
        .token_request(&code_form(&code, &verifier, &id), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, again) = server
        .token_request(&code_form(&code, &verifier, &id), None)
        .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("client_id", &id),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the reused code revoked the grant"
    );
    drop(server);
    pg::drop_database(&url).await;
}

#[tokio::test]
async fn a_database_that_goes_away_gives_503_and_the_server_recovers_without_restart() {
    let Some(url) = pg::fresh_database().await else {
        return;
    };
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let name = url.rsplit_once('/').unwrap().1;
    let through_proxy = format!("postgres://postgres@{}/{name}", proxy.addr);
    let server = TestServer::start_with(Settings {
        database_url: Some(through_proxy),
        database_acquire_timeout: Some(1),
        ..Settings::default()
    })
    .await;
    let id = server.public_client.client_id.clone();
    let (code, verifier) = server.code_for(&id, "openid offline_access").await;
    let (_, _, body) = server
        .token_request(&code_form(&code, &verifier, &id), None)
        .await;
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", id.as_str()),
    ];

    proxy.down();
    let (status, headers, body) = server.token_request(&refresh_form, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "{body}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    let ready = http_client()
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let (url_authorize, _) = server.authorize_url(&id, "openid", &[]);
    let page = browser().get(&url_authorize).send().await.unwrap();
    assert_eq!(page.status(), 503, "an error page, never a redirect");
    assert!(page.headers().get("location").is_none());

    proxy.up();
    let mut status = 0;
    for _ in 0..150 {
        status = http_client()
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again once the database is back");
    let (status, _, body) = server.token_request(&refresh_form, None).await;
    assert_eq!(
        status, 200,
        "the refresh token was not spent during the outage: {body}"
    );
    drop(server);
    drop(proxy);
    pg::drop_database(&url).await;
}

#[test]
fn an_unreachable_database_at_start_is_retried_then_reported() {
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .arg("serve")
        .env(
            "CLEARANCE_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/nothing",
        )
        .env("CLEARANCE_DATABASE_CONNECT_ATTEMPTS", "2")
        .env("CLEARANCE_DATABASE_ACQUIRE_TIMEOUT", "1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("retrying"), "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
}

/// A `clearance serve` process, killed when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two distinct ports the OS had free a moment ago, both held until both are known so that
/// the second cannot be the first one handed out again.
fn two_free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

async fn spawn_instance(database_url: &str, port: u16, issuer: &str) -> Instance {
    let child = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .arg("serve")
        .env("CLEARANCE_DATABASE_URL", database_url)
        .env("CLEARANCE_LISTEN", format!("127.0.0.1:{port}"))
        .env("CLEARANCE_ISSUER", issuer)
        .env("CLEARANCE_KEY_RELOAD_SECONDS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn clearance serve");
    let instance = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if let Ok(r) = http_client()
            .get(format!("{}/readyz", instance.base))
            .send()
            .await
            && r.status() == 200
        {
            return instance;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("instance on port {port} did not become ready");
}

async fn post_token(base: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let r = http_client()
        .post(format!("{base}/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Authorize on `start`, sign in and consent on `finish`; returns (code, verifier).
async fn code_across(
    start: &Instance,
    finish: &Instance,
    client_id: &str,
    scope: &str,
) -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let browser = browser();
    let verifier = clearance::secrets::random_token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&format!("{}/authorize", start.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let r = browser.get(url.as_str()).send().await.unwrap();
    let login_path = location(&r);
    assert!(login_path.starts_with("/login"), "{login_path}");

    // The load balancer sends the rest to the other instance.
    let page = browser
        .get(format!("{}{login_path}", finish.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .post(format!("{}/login", finish.base))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("request", hidden(&page, "request")),
            ("username", "alice".into()),
            ("password", PASSWORD.into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = browser
        .get(format!("{}{}", finish.base, location(&r)))
        .send()
        .await
        .unwrap();
    let next = location(&r);
    let back = if next.starts_with("/consent") {
        let page = browser
            .get(format!("{}{next}", finish.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut form = vec![
            ("csrf".to_owned(), hidden(&page, "csrf")),
            ("request".to_owned(), hidden(&page, "request")),
            ("decision".to_owned(), "allow".to_owned()),
        ];
        form.extend(
            scope_boxes(&page)
                .into_iter()
                .map(|s| ("scope".to_owned(), s)),
        );
        let r = browser
            .post(format!("{}/consent", finish.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        location(&r)
    } else {
        next // consent remembered from an earlier run: straight back to the client
    };
    (query_param(&back, "code").expect("code"), verifier)
}

async fn jwks_kids(base: &str) -> Vec<String> {
    let v: serde_json::Value = http_client()
        .get(format!("{base}/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_flows_races_and_keys() {
    let Some(url) = pg::fresh_database().await else {
        return;
    };
    // Prepare the database once: schema, a user and a public client.
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        connect_attempts: 1,
    };
    let store = PostgresStore::open(&url, &settings).await.unwrap();
    users::create_user(
        &store,
        NewUser {
            username: "alice",
            password: PASSWORD,
            role: Role::Patient,
            fhir_user: Some("Patient/alice"),
            name: None,
            email: None,
            clearance: None,
            clearance_sensitivity: None,
        },
        0,
    )
    .await
    .unwrap();
    let client = clients::register(
        &store,
        NewClient {
            name: "Shared App",
            redirect_uris: &[REDIRECT_URI.to_owned()],
            confidential: false,
            client_id: None,
            id_token_alg: Alg::Rs256,
            max_confidentiality: None,
            allowed_sensitivity: None,
            ehr_launcher: false,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let id = client.client_id.clone();

    let (port_a, port_b) = two_free_ports();
    let issuer = format!("http://127.0.0.1:{port_a}"); // one issuer for the deployment
    let a = spawn_instance(&url, port_a, &issuer).await;
    let b = spawn_instance(&url, port_b, &issuer).await;
    assert_eq!(
        jwks_kids(&a.base).await,
        jwks_kids(&b.base).await,
        "one key set for the deployment"
    );

    // Authorize on A, sign in and consent on B, redeem on A, refresh on B.
    let (code, verifier) = code_across(&a, &b, &id, "openid offline_access").await;
    let (status, body) = post_token(&a.base, &code_form(&code, &verifier, &id)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_token(
        &b.base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", &id),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // The same code at both instances at once: exactly one succeeds.
    let (code, verifier) = code_across(&b, &a, &id, "openid offline_access").await;
    let form = code_form(&code, &verifier, &id);
    let (ra, rb) = tokio::join!(post_token(&a.base, &form), post_token(&b.base, &form));
    let statuses = [ra.0, rb.0];
    assert!(
        statuses.contains(&200) && statuses.contains(&400),
        "{statuses:?}"
    );
    let winner = if ra.0 == 200 { ra.1 } else { rb.1 };
    // The losing redemption is a replay: what the code produced is revoked (RFC 6749 §4.1.2).
    let (status, _) = post_token(
        &b.base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", winner["refresh_token"].as_str().unwrap()),
            ("client_id", &id),
        ],
    )
    .await;
    assert_eq!(status, 400);

    // The same refresh token at both at once: one rotation; the loser is invalid_grant and the
    // reuse rule ends the grant, so the winner's new refresh token no longer works either.
    let (code, verifier) = code_across(&a, &b, &id, "openid offline_access").await;
    let (status, fresh) = post_token(&b.base, &code_form(&code, &verifier, &id)).await;
    assert_eq!(status, 200);
    let refresh = fresh["refresh_token"].as_str().unwrap().to_owned();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", id.as_str()),
    ];
    let (ra, rb) = tokio::join!(post_token(&a.base, &form), post_token(&b.base, &form));
    let mut results = [ra, rb];
    results.sort_by_key(|r| r.0);
    assert_eq!(results[0].0, 200);
    assert_eq!(
        (results[1].0, results[1].1["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let newest = results[0].1["refresh_token"].as_str().unwrap();
    let (status, _) = post_token(
        &a.base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", newest),
            ("client_id", &id),
        ],
    )
    .await;
    assert_eq!(status, 400, "the grant was revoked by the reuse");

    // A rotation made through one instance's database is published by both.
    let before = jwks_kids(&a.base).await;
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_clearance"))
                .args(["keys", "rotate"])
                .env("CLEARANCE_DATABASE_URL", url)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(out.status.success());
    let mut seen = (Vec::new(), Vec::new());
    for _ in 0..150 {
        seen = (jwks_kids(&a.base).await, jwks_kids(&b.base).await);
        if seen.0.len() == 8 && seen.1.len() == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen.0.len(),
        8,
        "A publishes the new keys (one per algorithm) and keeps the old"
    );
    assert_eq!(seen.0, seen.1, "A and B publish the same keys");
    assert!(before.iter().all(|k| seen.0.contains(k)));

    drop(a);
    drop(b);
    drop(store);
    pg::drop_database(&url).await;
}

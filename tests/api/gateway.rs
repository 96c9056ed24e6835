//! The FHIR gateway (issue 11) in front of a real FHIR server: Medplum's FHIR router over its
//! in-memory repository (`tests/fhir-server`, started here like Chromium; `.ci/run` installs
//! it). Two patients' labelled and unlabelled records are seeded upstream; tokens come from the
//! real authorization flow. Needs `node` and `npm install` in tests/fhir-server: a test fails
//! under CI without them and is skipped with a loud message elsewhere.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use clearance::config::Settings;
use serde_json::{Value, json};

use crate::common::*;

const CONF: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
const ACT: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// The Node FHIR server, stopped when dropped.
struct FhirServer {
    child: Child,
    base: String,
}

impl Drop for FhirServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FhirServer {
    fn start() -> Option<FhirServer> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fhir-server");
        let problem = if !dir.join("node_modules/@medplum/fhir-router").exists() {
            Some("run `npm ci` in tests/fhir-server (.ci/run does)")
        } else {
            None
        };
        let spawned = match problem {
            Some(p) => Err(p.to_owned()),
            None => Command::new("node")
                .arg("server.mjs")
                .current_dir(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("cannot start node: {e}")),
        };
        let mut child = match spawned {
            Ok(child) => child,
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("the gateway tests need the FHIR test server under CI: {why}")
            }
            Err(why) => {
                eprintln!("\n!!!!!!!!!!\n!!! SKIPPING GATEWAY TEST: {why}\n!!!!!!!!!!\n");
                return None;
            }
        };
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the FHIR server's first line");
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        Some(FhirServer {
            child,
            base: format!("http://127.0.0.1:{port}/fhir"),
        })
    }

    async fn put(&self, resource: Value) {
        let path = format!(
            "{}/{}/{}",
            self.base,
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        let r = http_client()
            .put(path)
            .header("content-type", "application/fhir+json")
            .json(&resource)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "seeding {resource}: {}",
            r.status()
        );
    }

    /// Two patients; alice has a normal lab result, a mental-health note, an HIV result, a
    /// record labelled with an unknown system, a restricted record with no category, and a
    /// condition; bob has a lab result.
    async fn seed(&self) {
        for id in ["alice", "bob"] {
            self.put(json!({"resourceType": "Patient", "id": id, "name": [{"family": id}]}))
                .await;
        }
        let observation = |id: &str, patient: &str, labels: Value| {
            json!({
                "resourceType": "Observation", "id": id, "status": "final",
                "code": {"text": id},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
                "subject": {"reference": format!("Patient/{patient}")},
                "meta": {"security": labels},
            })
        };
        let restricted =
            |code: &str| json!([{"system": CONF, "code": "R"}, {"system": ACT, "code": code}]);
        for resource in [
            observation("lab-alice", "alice", json!([])),
            observation("psy-alice", "alice", restricted("PSY")),
            observation("hiv-alice", "alice", restricted("HIV")),
            observation(
                "odd-alice",
                "alice",
                json!([{"system": "urn:example:labels", "code": "x"}]),
            ),
            observation(
                "r-only-alice",
                "alice",
                json!([{"system": CONF, "code": "R"}]),
            ),
            observation("lab-bob", "bob", json!([])),
            json!({"resourceType": "Condition", "id": "cond-alice", "subject": {"reference": "Patient/alice"},
                   "code": {"text": "x"}}),
        ] {
            self.put(resource).await;
        }
    }
}

/// A server whose FHIR base is served by the gateway in front of `upstream`.
async fn gateway_in_front_of(upstream: &str) -> TestServer {
    TestServer::start_with(Settings {
        fhir_upstream: Some(upstream.to_owned()),
        ..Settings::default()
    })
    .await
}

/// An access token for alice, as the public test app, sharing `categories` beyond normal
/// records.
async fn token(server: &TestServer, scope: &str, categories: &[&str]) -> String {
    token_for(server, &server.url("/fhir"), scope, categories).await
}

/// The same, for the FHIR base `fhir`.
async fn token_for(server: &TestServer, fhir: &str, scope: &str, categories: &[&str]) -> String {
    let client = server.public_client.client_id.clone();
    // prompt=consent: the consent page is shown even when an earlier consent covers the scope.
    let (url, verifier) =
        server.authorize_url(&client, scope, &[("aud", fhir), ("prompt", "consent")]);
    let back = server
        .authorize_with(&browser(), &url, "alice", None, categories)
        .await
        .redirect();
    let code = query_param(&back, "code").expect("code");
    let tokens = server.redeem(&client, &code, &verifier).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// GET through the gateway: (status, WWW-Authenticate, body).
async fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut request = http_client().get(server.url(&format!("/fhir/{path}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

fn ids(bundle: &Value) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

const SCOPE: &str = "openid fhirUser launch/patient patient/Observation.rs patient/Patient.rs";

#[tokio::test]
async fn reads_and_searches_release_only_what_the_patient_shared() {
    let Some(fhir) = FhirServer::start() else {
        return;
    };
    fhir.seed().await;
    let server = gateway_in_front_of(&fhir.base).await;
    let normal = token(&server, SCOPE, &[]).await;

    // RFC 6750 §3: no token, a bare challenge; a bad one, invalid_token.
    let (status, challenge, body) = get(&server, "Observation/lab-alice", None).await;
    assert_eq!(
        (status, challenge.as_str()),
        (401, "Bearer realm=\"clearance\"")
    );
    assert_eq!(body["resourceType"], "OperationOutcome");
    let (status, challenge, _) = get(&server, "Observation/lab-alice", Some("not.a.token")).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    // Reads: (label, path, status). Withheld reads are 404, like a resource that is not there.
    let reads = [
        ("own normal record", "Observation/lab-alice", 200),
        ("mental health, not shared", "Observation/psy-alice", 404),
        ("HIV, not shared", "Observation/hiv-alice", 404),
        ("unknown label system", "Observation/odd-alice", 404),
        (
            "restricted with no category",
            "Observation/r-only-alice",
            404,
        ),
        ("another patient's record", "Observation/lab-bob", 404),
        ("no such record", "Observation/nothing-here", 404),
        ("own patient record", "Patient/alice", 200),
        ("another patient", "Patient/bob", 404),
    ];
    for (label, path, expected) in reads {
        let (status, _, body) = get(&server, path, Some(&normal)).await;
        assert_eq!(status, expected, "{label}: {body}");
        if expected == 404 {
            assert_eq!(body["resourceType"], "OperationOutcome", "{label}");
        }
    }
    // Instance history: a released resource's versions; a withheld one's is 404, like a
    // resource that is not there.
    let (status, _, history) = get(&server, "Observation/lab-alice/_history", Some(&normal)).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["type"], "history");
    assert!(!ids(&history).is_empty());
    for path in [
        "Observation/psy-alice/_history",
        "Observation/lab-bob/_history",
        "Observation/nothing/_history",
    ] {
        assert_eq!(get(&server, path, Some(&normal)).await.0, 404, "{path}");
    }
    // A type no scope grants: 403 insufficient_scope.
    let (status, challenge, _) = get(&server, "Condition/cond-alice", Some(&normal)).await;
    assert_eq!(status, 403);
    assert!(challenge.contains("insufficient_scope"));

    // Searches are narrowed to alice and filtered; the total does not tell what was withheld.
    let (status, _, bundle) = get(&server, "Observation", Some(&normal)).await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(ids(&bundle), ["lab-alice"]);
    assert!(bundle.get("total").is_none());
    assert_eq!(bundle["meta"]["security"][0]["code"], "N");
    let (_, _, bundle) = get(&server, "Observation?subject=Patient/bob", Some(&normal)).await;
    assert_eq!(
        ids(&bundle),
        Vec::<String>::new(),
        "another patient's search"
    );
    let (_, _, bundle) = get(&server, "Patient?_id=bob", Some(&normal)).await;
    assert_eq!(ids(&bundle), Vec::<String>::new());
    // Compartment searches: alice's own gives her released records, bob's nothing.
    let (status, _, bundle) = get(&server, "Patient/alice/Observation", Some(&normal)).await;
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(ids(&bundle), ["lab-alice"]);
    let (status, _, bundle) = get(&server, "Patient/bob/Observation", Some(&normal)).await;
    assert_eq!(status, 200);
    assert_eq!(
        ids(&bundle),
        Vec::<String>::new(),
        "another patient's compartment"
    );
    let (_, _, bundle) = get(&server, "Observation?_security=R", Some(&normal)).await;
    assert_eq!(
        ids(&bundle),
        Vec::<String>::new(),
        "searching by label finds nothing withheld"
    );

    // Parameters that would leak past the checks, and writes, are refused.
    for path in [
        "Observation?_elements=id",
        "Observation?_summary=count",
        "Observation?subject.name=x",
    ] {
        assert_eq!(get(&server, path, Some(&normal)).await.0, 400, "{path}");
    }
    let r = http_client()
        .post(server.url("/fhir/Observation"))
        .bearer_auth(&normal)
        .json(&json!({"resourceType": "Observation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a read-only token cannot create");
    let r = http_client()
        .patch(server.url("/fhir/Observation/lab-alice"))
        .bearer_auth(&normal)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405, "patch is not passed");

    // Sharing mental health releases it, and the Bundle is labelled with its high-water mark.
    let shared = token(&server, SCOPE, &["mental-health"]).await;
    assert_eq!(
        get(&server, "Observation/psy-alice", Some(&shared)).await.0,
        200
    );
    assert_eq!(
        get(&server, "Observation/hiv-alice", Some(&shared)).await.0,
        404
    );
    assert_eq!(
        get(&server, "Observation/r-only-alice", Some(&shared))
            .await
            .0,
        404
    );
    let (_, _, bundle) = get(&server, "Observation", Some(&shared)).await;
    assert_eq!(ids(&bundle), ["lab-alice", "psy-alice"]);
    assert_eq!(bundle["meta"]["security"][0]["code"], "R");

    // Sharing less on the account page bites on the next request with the same token.
    let user = server.user("alice").await;
    let client = server.public_client.client_id.clone();
    clearance::flow::account::narrow(&server.services, &user, &client, &[])
        .await
        .unwrap();
    assert_eq!(
        get(&server, "Observation/psy-alice", Some(&shared)).await.0,
        404
    );

    // Revoking the app ends every token at once.
    clearance::flow::account::revoke(&server.services, &user.id, &client)
        .await
        .unwrap();
    assert_eq!(
        get(&server, "Observation/lab-alice", Some(&shared)).await.0,
        401
    );
}

#[tokio::test]
async fn metadata_says_how_to_get_a_token() {
    let Some(fhir) = FhirServer::start() else {
        return;
    };
    let server = gateway_in_front_of(&fhir.base).await;
    let (status, _, statement) = get(&server, "metadata", None).await;
    assert_eq!(status, 200, "{statement}");
    let security = &statement["rest"][0]["security"];
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    let uris = security["extension"][0]["extension"].as_array().unwrap();
    let token_uri = uris.iter().find(|u| u["url"] == "token").unwrap();
    assert_eq!(token_uri["valueUri"], server.url("/token"));
    // SMART discovery under the base stays Clearance's own, not the upstream's.
    let (status, _, smart) = get(&server, ".well-known/smart-configuration", None).await;
    assert_eq!(status, 200);
    assert_eq!(smart["token_endpoint"], server.url("/token"));
}

#[tokio::test]
async fn an_upstream_that_is_down_or_answers_garbage_never_passes_through() {
    // Garbage: a server that answers every request with a broken body.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage = format!("http://{}/fhir", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async {
        (
            [("content-type", "application/fhir+json")],
            "{\"resourceType\":\"Bundle\",\"entry\":[",
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let server = gateway_in_front_of(&garbage).await;
    let token = token(&server, SCOPE, &[]).await;
    for path in ["Observation", "Observation/lab-alice", "metadata"] {
        let (status, _, body) = get(&server, path, Some(&token)).await;
        assert_eq!(status, 502, "{path}: {body}");
        assert_eq!(body["resourceType"], "OperationOutcome");
    }

    // Down: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let down = format!("http://{}/fhir", closed.local_addr().unwrap());
    drop(closed);
    let server = gateway_in_front_of(&down).await;
    let token = crate::gateway::token(&server, SCOPE, &[]).await;
    assert_eq!(get(&server, "Observation", Some(&token)).await.0, 502);
}

/// Sends a write through the gateway: (status, body).
async fn write(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http_client()
        .request(method, server.url(&format!("/fhir/{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/fhir+json")
            .body(body.to_string());
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn writes_stay_within_the_patient_and_what_the_token_can_read() {
    let Some(fhir) = FhirServer::start() else {
        return;
    };
    fhir.seed().await;
    let server = gateway_in_front_of(&fhir.base).await;
    let token = token(
        &server,
        "openid fhirUser launch/patient patient/Observation.cruds patient/Patient.rs",
        &[],
    )
    .await;
    let observation = |patient: &str, labels: Value| {
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "new"},
               "subject": {"reference": format!("Patient/{patient}")}, "meta": {"security": labels}})
    };
    use reqwest::Method;
    let hiv = json!([{"system": CONF, "code": "R"}, {"system": ACT, "code": "HIV"}]);
    // (label, method, path, body, expected status)
    let cases: Vec<(&str, Method, &str, Option<Value>, u16)> = vec![
        (
            "create for another patient",
            Method::POST,
            "Observation",
            Some(observation("bob", json!([]))),
            403,
        ),
        (
            "create above what was shared",
            Method::POST,
            "Observation",
            Some(observation("alice", hiv.clone())),
            403,
        ),
        (
            "create of another type than the path",
            Method::POST,
            "Observation",
            Some(json!({"resourceType": "Patient"})),
            400,
        ),
        (
            "update of a withheld record",
            Method::PUT,
            "Observation/psy-alice",
            Some(
                json!({"resourceType": "Observation", "id": "psy-alice", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/alice"}}),
            ),
            404,
        ),
        (
            "update that adds a label the token cannot read",
            Method::PUT,
            "Observation/lab-alice",
            Some(
                json!({"resourceType": "Observation", "id": "lab-alice", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/alice"}, "meta": {"security": hiv}}),
            ),
            403,
        ),
        (
            "update-as-create at a chosen id",
            Method::PUT,
            "Observation/brand-new",
            Some(
                json!({"resourceType": "Observation", "id": "brand-new", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/alice"}}),
            ),
            404,
        ),
        (
            "update of another patient's record",
            Method::PUT,
            "Observation/lab-bob",
            Some(
                json!({"resourceType": "Observation", "id": "lab-bob", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/alice"}}),
            ),
            404,
        ),
        (
            "delete of another patient's record",
            Method::DELETE,
            "Observation/lab-bob",
            None,
            404,
        ),
        (
            "delete of a withheld record",
            Method::DELETE,
            "Observation/hiv-alice",
            None,
            404,
        ),
    ];
    for (label, method, path, body, expected) in cases {
        let (status, answer) = write(&server, method, path, &token, body).await;
        assert_eq!(status, expected, "{label}: {answer}");
    }
    // Bob's record and alice's withheld ones are untouched upstream.
    let upstream = http_client()
        .get(format!("{}/Observation/lab-bob", fhir.base))
        .send()
        .await
        .unwrap();
    assert_eq!(upstream.status(), 200);

    // Within the patient and the labels: create, update, delete work.
    let (status, created) = write(
        &server,
        Method::POST,
        "Observation",
        &token,
        Some(observation("alice", json!([]))),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"]
        .as_str()
        .expect("the created resource")
        .to_owned();
    let mut changed = created.clone();
    changed["status"] = json!("amended");
    let (status, updated) = write(
        &server,
        Method::PUT,
        &format!("Observation/{id}"),
        &token,
        Some(changed),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["status"], "amended");
    let (status, _) = write(
        &server,
        Method::DELETE,
        &format!("Observation/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        get(&server, &format!("Observation/{id}"), Some(&token))
            .await
            .0,
        404
    );
}

/// `clearance gateway`: the gateway alone, in front of the FHIR server, checking tokens with
/// the issuer's JWKS and its introspection endpoint (as the confidential test client, a
/// resource server for the gateway's base).
#[tokio::test]
async fn the_standalone_gateway_checks_tokens_with_the_jwks_and_introspection() {
    use std::sync::Arc;

    use clearance::gateway::remote::{Remote, RemoteSettings};
    use clearance::gateway::{Gateway, OAuthUris};
    use clearance::http::fhir::{Standalone, standalone_router};

    let Some(fhir) = FhirServer::start() else {
        return;
    };
    fhir.seed().await;
    // The gateway's address first: the authorization server issues tokens for its base.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/r4", listener.local_addr().unwrap());
    let server = TestServer::start_with(Settings {
        fhir_base_urls: Some(vec![base.clone()]),
        ..Settings::default()
    })
    .await;
    let resource_server = &server.confidential_client;
    let standalone = Standalone {
        gateway: Gateway::new(
            &base,
            &fhir.base,
            None,
            OAuthUris {
                authorize: server.url("/authorize"),
                token: server.url("/token"),
                introspect: server.url("/introspect"),
                revoke: server.url("/revoke"),
                manage: None,
                register: None,
            },
        ),
        verifier: Remote::new(RemoteSettings {
            issuer: server.issuer.clone(),
            jwks_uri: server.url("/jwks"),
            introspection_endpoint: server.url("/introspect"),
            client_id: resource_server.client_id.clone(),
            client_secret: resource_server.client_secret.clone().unwrap(),
            // No reuse here, so that the revocation below bites at once.
            cache_seconds: 0,
        }),
    };
    tokio::spawn(async move {
        axum::serve(listener, standalone_router(Arc::new(standalone)))
            .await
            .unwrap()
    });
    let token = token_for(&server, &base, SCOPE, &[]).await;
    let at = |path: &str| format!("{base}/{path}");
    let get = |url: String, token: Option<String>| async move {
        let mut request = http_client().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    let cases = [
        ("own normal record", "Observation/lab-alice", 200),
        ("mental health, not shared", "Observation/psy-alice", 404),
        ("another patient's record", "Observation/lab-bob", 404),
    ];
    for (label, path, expected) in cases {
        assert_eq!(
            get(at(path), Some(token.clone())).await.0,
            expected,
            "{label}"
        );
    }
    let (status, bundle) = get(at("Observation"), Some(token.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&bundle), ["lab-alice"]);
    assert_eq!(get(at("Observation/lab-alice"), None).await.0, 401);
    // A token for the authorization server's own audience is not one for this gateway.
    let elsewhere = {
        let client = server.public_client.client_id.clone();
        let (url, verifier) = server.authorize_url(&client, "openid", &[("prompt", "consent")]);
        let back = server
            .authorize(&browser(), &url, "alice", None)
            .await
            .redirect();
        let code = query_param(&back, "code").unwrap();
        server.redeem(&client, &code, &verifier).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        get(at("Observation/lab-alice"), Some(elsewhere)).await.0,
        401
    );

    // Revoked at the authorization server: introspection says so, the gateway refuses.
    let alice = server.user("alice").await;
    clearance::flow::account::revoke(&server.services, &alice.id, &server.public_client.client_id)
        .await
        .unwrap();
    assert_eq!(get(at("Observation/lab-alice"), Some(token)).await.0, 401);
}

/// Several FHIR bases beside the server, each with its own upstream (`fhir_upstreams`).
#[tokio::test]
async fn each_fhir_base_has_its_own_upstream() {
    let Some(fhir) = FhirServer::start() else {
        return;
    };
    fhir.seed().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let (first, second) = (format!("{issuer}/fhir"), format!("{issuer}/clinic/r4"));
    let server = TestServer::start_on(
        listener,
        Settings {
            fhir_base_urls: Some(vec![first.clone(), second.clone()]),
            fhir_upstreams: Some([(second.clone(), fhir.base.clone())].into()),
            ..Settings::default()
        },
    )
    .await;
    let token = token_for(&server, &second, SCOPE, &[]).await;
    let read = |url: String| {
        let token = token.clone();
        async move {
            http_client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(read(format!("{second}/Observation/lab-alice")).await, 200);
    assert_eq!(read(format!("{second}/Observation/psy-alice")).await, 404);
    // The first base has no upstream: no gateway there.
    assert_eq!(read(format!("{first}/Observation/lab-alice")).await, 404);
}

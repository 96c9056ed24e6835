//! The command line against a real SQLite file: users, clients, keys; and a running server
//! that picks up a key rotation made by another process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::*;
use clearance::config::Settings;

fn clearance(db: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(args)
        .env("CLEARANCE_DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run clearance");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("wait")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn users_clients_and_keys_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/nested/clearance.db", dir.path().display());

    let user = json(&clearance(
        &db,
        &[
            "user",
            "add",
            "--username",
            "carol",
            "--fhir-user",
            "Patient/carol",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    ));
    assert_eq!(user["username"], "carol");
    assert!(
        user.get("password").is_none(),
        "a given password is not echoed"
    );
    let generated = json(&clearance(
        &db,
        &[
            "user",
            "add",
            "--username",
            "dave",
            "--role",
            "practitioner",
            "--fhir-user",
            "Practitioner/d1",
        ],
        None,
    ));
    assert_eq!(generated["password"].as_str().unwrap().len(), 43);
    let duplicate = clearance(
        &db,
        &["user", "add", "--username", "carol", "--password-stdin"],
        Some("another password\n"),
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let bad = clearance(
        &db,
        &[
            "user",
            "add",
            "--username",
            "eve",
            "--fhir-user",
            "Observation/1",
        ],
        None,
    );
    assert!(!bad.status.success());
    assert_eq!(
        json(&clearance(&db, &["user", "list"], None))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    json(&clearance(
        &db,
        &["user", "remove", "--username", "dave"],
        None,
    ));
    assert_eq!(
        json(&clearance(&db, &["user", "list"], None))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let public = json(&clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Phone app",
            "--redirect-uri",
            "com.example.app:/cb",
            "--public",
        ],
        None,
    ));
    assert!(public["client_id"].is_string());
    assert!(public.get("client_secret").is_none());
    let confidential = json(&clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Web app",
            "--redirect-uri",
            "https://app.example/cb",
            "--confidential",
        ],
        None,
    ));
    assert_eq!(confidential["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(
        confidential["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    let insecure = clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://app.example/cb",
        ],
        None,
    );
    assert!(!insecure.status.success());
    assert_eq!(
        json(&clearance(&db, &["client", "list"], None))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let id = public["client_id"].as_str().unwrap();
    json(&clearance(
        &db,
        &["client", "remove", "--client-id", id],
        None,
    ));
    assert_eq!(
        json(&clearance(&db, &["client", "list"], None))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Label ceilings and clearances, by category id or ActCode code.
    let capped = json(&clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Wellness",
            "--redirect-uri",
            "https://w.example/cb",
            "--max-confidentiality",
            "N",
            "--no-sensitivity",
        ],
        None,
    ));
    assert_eq!(capped["max_confidentiality"], "N");
    assert_eq!(capped["allowed_sensitivity"], serde_json::json!([]));
    let limited = json(&clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Therapy",
            "--redirect-uri",
            "https://t.example/cb",
            "--max-confidentiality",
            "r",
            "--allow-sensitivity",
            "mental-health",
            "--allow-sensitivity",
            "ETHUD",
        ],
        None,
    ));
    assert_eq!(
        limited["allowed_sensitivity"],
        serde_json::json!(["BH", "MH", "PSY", "ETHUD"])
    );
    let bad = clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "X",
            "--redirect-uri",
            "https://x.example/cb",
            "--allow-sensitivity",
            "SUBSTANCE",
        ],
        None,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("SUBSTANCE"));
    let bad = clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "X",
            "--redirect-uri",
            "https://x.example/cb",
            "--max-confidentiality",
            "Q",
        ],
        None,
    );
    assert!(!bad.status.success());
    let doctor = json(&clearance(
        &db,
        &[
            "user",
            "add",
            "--username",
            "dr.who",
            "--role",
            "practitioner",
            "--fhir-user",
            "Practitioner/who",
            "--clearance",
            "R",
            "--clearance-sensitivity",
            "substance-use",
        ],
        None,
    ));
    assert_eq!(doctor["role"], "practitioner");
    assert_eq!(
        json(&clearance(&db, &["consent", "list"], None)),
        serde_json::json!([])
    );
    for missing in ["nope", "-nope"] {
        let out = clearance(&db, &["consent", "show", missing], None);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("no consent \"{missing}\"")),
            "an id that begins with '-' is an id, not a flag: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Every client type: asymmetric by file or URL, backend services, secret rotation,
    // initial access tokens.
    let jwks_file = dir.path().join("jwks.json");
    let pair = josekit::jws::ES384.generate_key_pair().unwrap();
    let mut public = josekit::jwk::KeyPair::to_jwk_public_key(&pair);
    public.set_key_id("k1");
    std::fs::write(
        &jwks_file,
        serde_json::json!({"keys": [serde_json::Value::Object(public.as_ref().clone())]})
            .to_string(),
    )
    .unwrap();
    let backend = json(&clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Backend",
            "--jwks-file",
            jwks_file.to_str().unwrap(),
            "--system-scope",
            "system/Observation.rs",
        ],
        None,
    ));
    assert_eq!(backend["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(
        backend["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    let by_url = json(&clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Keys",
            "--redirect-uri",
            "https://k.example/cb",
            "--jwks-uri",
            "https://k.example/jwks",
        ],
        None,
    ));
    assert_eq!(by_url["jwks_uri"], "https://k.example/jwks");
    let insecure = clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "X",
            "--jwks-uri",
            "http://k.example/jwks",
            "--system-scope",
            "system/Patient.rs",
        ],
        None,
    );
    assert!(!insecure.status.success());
    let bad_scope = clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "X",
            "--jwks-file",
            jwks_file.to_str().unwrap(),
            "--system-scope",
            "patient/Patient.rs",
        ],
        None,
    );
    assert!(!bad_scope.status.success());
    let id = by_url["client_id"].as_str().unwrap();
    json(&clearance(
        &db,
        &[
            "client",
            "system-scopes",
            "--client-id",
            id,
            "--system-scope",
            "system/*.rs",
        ],
        None,
    ));
    let rotated = json(&clearance(
        &db,
        &[
            "client",
            "rotate-secret",
            "--client-id",
            confidential["client_id"].as_str().unwrap(),
        ],
        None,
    ));
    assert_ne!(rotated["client_secret"], confidential["client_secret"]);
    assert!(
        !clearance(&db, &["client", "rotate-secret", "--client-id", id], None)
            .status
            .success(),
        "no secret to rotate"
    );
    // A client id that begins with `-` (earlier versions issued base64url ids) still works
    // as the value of --client-id; new ids are alphanumeric and cannot begin with it.
    let legacy = json(&clearance(
        &db,
        &[
            "client",
            "add",
            "--name",
            "Legacy",
            "--confidential",
            "--client-id=-Legacy_id",
            "--redirect-uri",
            "https://legacy.example/cb",
        ],
        None,
    ));
    assert_eq!(legacy["client_id"], "-Legacy_id");
    let rotated = json(&clearance(
        &db,
        &["client", "rotate-secret", "--client-id", "-Legacy_id"],
        None,
    ));
    assert_ne!(rotated["client_secret"], legacy["client_secret"]);
    assert!(
        confidential["client_id"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric()),
        "issued client ids are alphanumeric"
    );
    let token = json(&clearance(
        &db,
        &["client", "token", "--expires-in", "600"],
        None,
    ));
    assert_eq!(token["initial_access_token"].as_str().unwrap().len(), 43);

    let keys = json(&clearance(&db, &["keys", "list"], None));
    let algs: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs.len(), 4, "one key per algorithm on first use");
    for alg in ["RS256", "RS384", "ES256", "ES384"] {
        assert!(algs.contains(&alg), "{alg}");
    }
    let rotated = json(&clearance(&db, &["keys", "rotate"], None));
    let rotated = rotated.as_array().unwrap();
    assert_eq!(rotated.len(), 8);
    assert_eq!(rotated.iter().filter(|k| k["state"] == "active").count(), 4);
}

#[test]
fn invalid_configuration_stops_the_start_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["serve", "--issuer", "ftp://nowhere"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("issuer"));
    let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
        .args(["serve"])
        .env("CLEARANCE_CODE_TTL", "soon")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLEARANCE_CODE_TTL"));
    // The standalone gateway: (label, arguments, what the message names).
    let gateway = [
        (
            "no issuer",
            vec![
                "gateway",
                "--upstream",
                "http://127.0.0.1:1/fhir",
                "--client-id",
                "g",
                "--client-secret",
                "s",
            ],
            "--issuer",
        ),
        (
            "upstream not a URL",
            vec![
                "gateway",
                "--issuer",
                "https://as.example",
                "--upstream",
                "fhir",
                "--client-id",
                "g",
                "--client-secret",
                "s",
            ],
            "--upstream",
        ),
        (
            "base without a path",
            vec![
                "gateway",
                "--issuer",
                "https://as.example",
                "--upstream",
                "http://127.0.0.1:1/fhir",
                "--base",
                "https://fhir.example",
                "--client-id",
                "g",
                "--client-secret",
                "s",
            ],
            "--base",
        ),
    ];
    for (label, args, named) in gateway {
        let out = Command::new(env!("CARGO_BIN_EXE_clearance"))
            .args(&args)
            .env_remove("CLEARANCE_ISSUER")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{label}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(named), "{label}: {stderr}");
    }
}

#[tokio::test]
async fn a_rotation_by_the_command_line_is_used_by_the_running_server() {
    let server = TestServer::start_with(Settings {
        key_reload_seconds: Some(1),
        ..Settings::default()
    })
    .await;
    let db = server.services.config.database_url.clone();
    let http = http_client();
    let jwks = |http: reqwest::Client, url: String| async move {
        let v: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let before = jwks(http.clone(), server.url("/jwks")).await;
    assert_eq!(before.len(), 4);
    let out = tokio::task::spawn_blocking(move || clearance(&db, &["keys", "rotate"], None))
        .await
        .unwrap();
    let listed = json(&out);
    let new_rsa = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "RS256" && k["state"] == "active")
        .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut after = before.clone();
    for _ in 0..150 {
        after = jwks(http.clone(), server.url("/jwks")).await;
        if after.len() == 8 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(after.len(), 8, "new keys published, old ones kept");
    assert!(before.iter().all(|k| after.contains(k)));

    // The new key signs.
    let (code, verifier) = server
        .code_for(&server.public_client.client_id, "openid")
        .await;
    let id = server.public_client.client_id.clone();
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
    use base64::Engine;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(
                body["id_token"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_rsa);
}

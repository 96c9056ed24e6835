//! Browser tests: headless Chromium (Debian's `chromium`) driven by playwright-core signs in
//! and consents through the real pages, by their accessible names.
//!
//! Needs `chromium` and `node`, and `npm install` in tests/browser (`.ci/run` does all three;
//! this test runs `npm install` itself when node_modules is missing). Without Chromium the
//! test fails under CI and is skipped with a loud message elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CHROMIUM").ok(),
        Some("/usr/bin/chromium".into()),
        Some("/usr/bin/chromium-browser".into()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The script's folder with its node_modules installed, or why it cannot be.
fn browser_tools() -> Result<PathBuf, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    chromium().ok_or("Chromium is not installed (apt-get install chromium)")?;
    if !dir.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .map_err(|e| format!("npm is not available: {e}"))?;
        if !status.success() {
            return Err("npm install in tests/browser failed".into());
        }
    }
    Ok(dir)
}

fn tools_or_skip() -> Option<PathBuf> {
    match browser_tools() {
        Ok(dir) => Some(dir),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("browser tests cannot run under CI: {why}")
        }
        Err(why) => {
            eprintln!(
                "\n!!!!!!!!!!\n!!! SKIPPING BROWSER TESTS: {why}\n!!! .ci/run installs what they need.\n!!!!!!!!!!\n"
            );
            None
        }
    }
}

async fn run_script(dir: &Path, args: Vec<String>) -> serde_json::Value {
    let dir = dir.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("sign_in_and_consent.mjs")
            .args(args)
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .expect("run node");
    assert!(
        output.status.success(),
        "browser script failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("JSON result")
}

#[tokio::test]
async fn a_patient_signs_in_ticks_mental_health_and_the_tokens_carry_it() {
    let Some(dir) = tools_or_skip() else { return };
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (url, verifier) = server.authorize_url(
        &id,
        "openid profile email offline_access",
        &[("nonce", "browser-nonce")],
    );

    let args = ["--untick", "Your email address", "--tick", "Mental health"];
    let mut argv = vec![url, REDIRECT_URI.into(), "alice".into(), PASSWORD.into()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let result = run_script(&dir, argv).await;
    assert_eq!(result["heading"], "Public App wants to access your account");
    assert_eq!(
        result["sensitive"], 6,
        "one checkbox per sensitivity category"
    );
    assert_eq!(result["checkboxes"], 4 + 6, "and one per requested scope");
    assert_eq!(
        result["checked"], 4,
        "scopes ticked, categories unticked by default"
    );
    let back = result["redirect"].as_str().unwrap();
    assert_eq!(query_param(back, "state").as_deref(), Some("state-123"));
    assert_eq!(
        query_param(back, "iss").as_deref(),
        Some(server.issuer.as_str())
    );
    let code = query_param(back, "code").expect("code");

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
    assert_eq!(
        body["scope"], "openid profile offline_access",
        "the unticked scope is not granted"
    );
    assert!(body["refresh_token"].is_string());
    let expected = serde_json::json!({"confidentiality": "R", "sensitivity": ["BH", "MH", "PSY"], "purpose_of_use": "PATRQT"});
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["security"],
        expected
    );
    assert_eq!(
        jwt_claims(body["id_token"].as_str().unwrap())["security"],
        expected
    );
}

#[tokio::test]
async fn a_practitioner_picks_a_patient_and_shares_only_lab_results_in_chromium() {
    let Some(dir) = tools_or_skip() else { return };
    let server = TestServer::start().await;
    let store = server.services.store.as_ref();
    for (id, name) in [("p-carmen", "Carmen Ruiz"), ("p-dev", "Dev Patel")] {
        store
            .upsert_patient(
                &clearance::flow::patients::new_patient(
                    id,
                    name,
                    Some("1990-01-01".into()),
                    None,
                    0,
                )
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let id = server.public_client.client_id.clone();
    let fhir = server.url("/fhir");
    let (url, verifier) = server.authorize_url(
        &id,
        "launch/patient openid patient/Patient.rs patient/Observation.rs",
        &[("aud", &fhir)],
    );
    let args = [
        "--patient",
        "Carmen Ruiz",
        "--untick",
        "See your test results, vital signs and other observations",
        "--tick",
        "Laboratory results",
    ];
    let mut argv = vec![url, REDIRECT_URI.into(), "dr.jones".into(), PASSWORD.into()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let result = run_script(&dir, argv).await;
    assert_eq!(result["picker"], 2, "one choice per patient");
    let back = result["redirect"].as_str().unwrap();
    let code = query_param(back, "code").expect("code");
    let body = server.redeem(&id, &code, &verifier).await;
    assert_eq!(body["patient"], "p-carmen");
    assert_eq!(
        body["scope"],
        "launch/patient openid patient/Patient.rs patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
    );
}

/// Issue 9 item 19: Enter on a focused checkbox submitted the consent form as Allow
/// (Chromium's implicit submission clicks the form's first enabled submit button).
#[tokio::test]
async fn pressing_enter_on_a_consent_checkbox_never_grants_in_chromium() {
    let Some(dir) = tools_or_skip() else { return };
    let server = TestServer::start().await;
    let id = server.public_client.client_id.clone();
    let (url, _) = server.authorize_url(&id, "openid profile", &[]);
    let args = [
        "--press-enter-on",
        "Mental health",
        "--tick",
        "Mental health",
    ];
    let mut argv = vec![url, REDIRECT_URI.into(), "alice".into(), PASSWORD.into()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let result = run_script(&dir, argv).await;
    assert_eq!(result["enter"]["leaked"], false, "{result}");
    assert!(
        result["enter"]["alert"]
            .as_str()
            .unwrap()
            .contains("choose Allow or Deny"),
        "{result}"
    );
    assert!(
        result["enter"]["url"]
            .as_str()
            .unwrap()
            .contains("/consent")
    );
    assert_eq!(result["checked"], 2, "the scopes stay as they were");
    // Allow, pressed afterwards, still works.
    assert!(query_param(result["redirect"].as_str().unwrap(), "code").is_some());
}

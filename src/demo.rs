//! `clearance demo`: demo users and a demo app, created once, so a newcomer can walk the
//! whole flow in a browser.

use serde_json::{Value, json};

use crate::config::Config;
use crate::flow::clients::{self, NewClient};
use crate::flow::users::{self, NewUser};
use crate::labels::Confidentiality;
use crate::store::{Role, Store, StoreError};
use crate::tokens::Alg;

pub const DEMO_CLIENT_ID: &str = "demo-app";
/// A second demo app, registered with a label ceiling: it never sees sensitive records.
pub const WELLNESS_CLIENT_ID: &str = "wellness-app";

/// The demo accounts: username, password, role, fhirUser, display name. Dr. Jones's
/// clearance covers mental health and substance use only.
pub const DEMO_USERS: [(&str, &str, Role, &str, &str); 3] = [
    (
        "alice",
        "alice-demo-pass",
        Role::Patient,
        "Patient/alice",
        "Alice Example",
    ),
    (
        "bob",
        "bob-demo-pass",
        Role::Patient,
        "Patient/bob",
        "Bob Example",
    ),
    (
        "dr.jones",
        "jones-demo-pass",
        Role::Practitioner,
        "Practitioner/jones",
        "Dr. Casey Jones",
    ),
];

/// The redirect URI of the demo app: a page of this server that shows the tokens.
pub fn demo_redirect_uri(config: &Config) -> String {
    config.endpoint("/demo/callback")
}

/// Creates what is missing of the demo data; existing rows are left alone.
pub async fn seed(store: &dyn Store, config: &Config, now: i64) -> Result<(), String> {
    for (username, password, role, fhir_user, name) in DEMO_USERS {
        if store
            .user_by_username(username)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue;
        }
        users::create_user(
            store,
            NewUser {
                username,
                password,
                role,
                fhir_user: Some(fhir_user),
                name: Some(name),
                email: Some(&format!("{username}@demo.clearance.invalid")),
                clearance: (role == Role::Practitioner).then_some(Confidentiality::R),
                clearance_sensitivity: (role == Role::Practitioner).then(|| {
                    ["BH", "MH", "PSY", "ETH", "SUD"]
                        .map(str::to_owned)
                        .to_vec()
                }),
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    let apps = [
        (DEMO_CLIENT_ID, "Demo Health App", None, None),
        (
            WELLNESS_CLIENT_ID,
            "Wellness Tracker",
            Some(Confidentiality::N),
            Some(Vec::new()),
        ),
    ];
    for (client_id, name, max_confidentiality, allowed_sensitivity) in apps {
        let existing = store
            .client_by_id(client_id)
            .await
            .map_err(|e: StoreError| e.to_string())?;
        if existing.is_some() {
            continue;
        }
        clients::register(
            store,
            NewClient {
                name,
                redirect_uris: &[demo_redirect_uri(config)],
                confidential: false,
                client_id: Some(client_id),
                id_token_alg: Alg::Rs256,
                max_confidentiality,
                allowed_sensitivity,
                ehr_launcher: false,
                ..Default::default()
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    for (id, name, birth_date, gender) in DEMO_PATIENTS {
        if store
            .patient(id)
            .await
            .map_err(|e| e.to_string())?
            .is_none()
        {
            let patient = crate::flow::patients::new_patient(
                id,
                name,
                Some(birth_date.to_owned()),
                Some(gender.to_owned()),
                now,
            )?;
            store
                .upsert_patient(&patient)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The demo patient directory, for Dr. Jones's patient picker.
pub const DEMO_PATIENTS: [(&str, &str, &str, &str); 4] = [
    ("alice", "Alice Example", "1980-04-12", "female"),
    ("bob", "Bob Example", "1975-09-30", "male"),
    ("carmen", "Carmen Ruiz", "1992-01-05", "female"),
    ("dev", "Dev Patel", "2001-11-23", "male"),
];

/// Labelled sample records, so the demo can show which ones a token releases.
/// (description, confidentiality code or none, sensitivity codes)
pub const SAMPLE_RECORDS: [(&str, Option<&str>, &[&str]); 8] = [
    ("Blood pressure 128/82 mmHg", None, &[]),
    ("Seasonal allergy to pollen", Some("N"), &[]),
    ("Depression, under treatment", Some("R"), &["PSY"]),
    ("Alcohol use disorder, in remission", Some("R"), &["ETHUD"]),
    ("HIV viral load test", Some("R"), &["HIV"]),
    ("BRCA1 genetic test", Some("R"), &["GDIS"]),
    ("Note about domestic violence", Some("R"), &["SDV"]),
    ("Record under legal hold", Some("V"), &[]),
];

/// Where `clearance demo` serves its own small FHIR store: read-only, the demo records only
/// (demo data, not a FHIR server), behind the gateway at the first FHIR base.
pub const DEMO_FHIR_STORE: &str = "/demo/fhir-store";

/// Readies a configuration for `clearance demo`: the demo pages, and, unless the operator
/// named an upstream, the gateway at `<issuer>/fhir` in front of the built-in store, which
/// answers only the gateway (a random credential of this run).
pub fn prepare(config: &mut Config) {
    config.demo = true;
    if config.fhir_upstream.is_some() {
        return;
    }
    let Some(base) = config.fhir_base_urls.first() else {
        return;
    };
    if !crate::config::same_origin(base, &config.issuer) {
        return;
    }
    let mut address = config.listen;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    config.fhir_upstream = Some(format!("http://{address}{DEMO_FHIR_STORE}"));
    config.fhir_upstream_token = Some(crate::secrets::random_token());
}

/// The labels of a sample record as FHIR Codings.
fn labels_of(confidentiality: Option<&str>, sensitivity: &[&str]) -> Value {
    let mut labels: Vec<Value> = confidentiality
        .iter()
        .map(|code| json!({"system": crate::labels::vocab::CONFIDENTIALITY_SYSTEM, "code": code}))
        .collect();
    labels.extend(
        sensitivity
            .iter()
            .map(|code| json!({"system": crate::labels::vocab::ACT_CODE_SYSTEM, "code": code})),
    );
    Value::Array(labels)
}

/// The sample records of one demo patient as FHIR Observations, ids `<patient>-<n>`.
pub fn demo_observations(patient: &str) -> Vec<Value> {
    SAMPLE_RECORDS
        .iter()
        .enumerate()
        .map(|(n, (description, confidentiality, sensitivity))| {
            json!({
                "resourceType": "Observation",
                "id": format!("{patient}-{}", n + 1),
                "status": "final",
                "code": {"text": description},
                "subject": {"reference": format!("Patient/{patient}")},
                "meta": {"security": labels_of(*confidentiality, sensitivity)},
            })
        })
        .collect()
}

/// The built-in store's answer to `GET <store>/<path>?<query>`: its CapabilityStatement, a
/// search of Observations (by `subject`), or one Observation. (status, body)
pub fn demo_store(path: &str, subject: Option<&str>, base: &str) -> (u16, Value) {
    let all = || {
        DEMO_PATIENTS
            .iter()
            .flat_map(|(id, ..)| demo_observations(id))
    };
    match path.split('/').collect::<Vec<_>>().as_slice() {
        ["metadata"] => (
            200,
            json!({
                "resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-29",
                "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
                "implementation": {"description": "Clearance demo records (demo data only)"},
                "rest": [{"mode": "server", "resource": [{"type": "Observation",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [{"name": "subject", "type": "reference"}]}]}],
            }),
        ),
        ["Observation"] => {
            let entries: Vec<Value> = all()
                .filter(|o| subject.is_none_or(|s| o["subject"]["reference"] == s))
                .map(|o| {
                    json!({"fullUrl": format!("{base}/Observation/{}", o["id"].as_str().unwrap_or_default()),
                           "resource": o, "search": {"mode": "match"}})
                })
                .collect();
            (
                200,
                json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries}),
            )
        }
        ["Observation", id] => match all().find(|o| o["id"] == *id) {
            Some(o) => (200, o),
            None => (
                404,
                json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}),
            ),
        },
        _ => (
            404,
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-supported"}]}),
        ),
    }
}

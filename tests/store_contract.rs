//! The store contract, written once and run against SQLite and against PostgreSQL, each test
//! on its own fresh database.

#[allow(dead_code)] // the store contract uses part of the suite's PostgreSQL helpers
#[path = "api/common/pg.rs"]
mod pg;

use std::sync::Arc;

use clearance::scope::ScopeSet;
use clearance::store::postgres::{PoolSettings, PostgresStore};
use clearance::store::sqlite::SqliteStore;
use clearance::store::*;

const NOW: i64 = 1_000_000;

fn user(id: &str, username: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        password_hash: "$argon2id$stub".into(),
        role: Role::Patient,
        fhir_user: Some(format!("Patient/{id}")),
        name: None,
        email: None,
        created_at: NOW,
        clearance_confidentiality: None,
        clearance_sensitivity: None,
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        name: format!("App {id}"),
        redirect_uris: ["https://app.example/cb"].into_iter().collect(),
        secret_hash: None,
        token_endpoint_auth_method: AuthMethod::None,
        id_token_signed_response_alg: "RS256".into(),
        created_at: NOW,
        max_confidentiality: None,
        allowed_sensitivity: None,
        ehr_launcher: false,
        jwks: None,
        jwks_uri: None,
        grant_types: ["authorization_code", "refresh_token"]
            .into_iter()
            .collect(),
        system_scopes: None,
        registration_token_hash: None,
        metadata: "{}".into(),
        resource_server_for: StringList::default(),
    }
}

fn grant(id: &str) -> Grant {
    Grant {
        id: id.into(),
        user_id: "u1".into(),
        client_id: "c1".into(),
        scope: ScopeSet::parse("openid offline_access").unwrap(),
        audience: "https://as.example".into(),
        auth_time: NOW,
        created_at: NOW,
        revoked_at: None,
        security: SecurityClaim::from(
            r#"{"confidentiality":"N","sensitivity":[],"purpose_of_use":"PATRQT"}"#.to_owned(),
        ),
        categories: StringList::default(),
        patient: Some("p1".into()),
        encounter: None,
        fhir_context: "[]".into(),
        need_patient_banner: Some(true),
        intent: None,
        sign_in_id: Some("s1".into()),
    }
}

fn code(hash: &str, grant_id: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.into(),
        grant_id: grant_id.into(),
        client_id: "c1".into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: "x".repeat(43),
        nonce: Some("n".into()),
        expires_at: NOW + 60,
        consumed_at: None,
    }
}

fn refresh(hash: &str, grant_id: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        grant_id: grant_id.into(),
        client_id: "c1".into(),
        expires_at: NOW + 3600,
        created_at: NOW,
        used_at: None,
    }
}

async fn seeded(store: &dyn Store) {
    store.insert_user(&user("u1", "alice")).await.unwrap();
    store.insert_client(&client("c1")).await.unwrap();
    store.insert_client(&client("c2")).await.unwrap();
}

async fn users_and_clients(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    assert_eq!(
        store.user_by_username("alice").await.unwrap().unwrap().id,
        "u1"
    );
    assert_eq!(
        store.user_by_id("u1").await.unwrap().unwrap().username,
        "alice"
    );
    assert!(matches!(
        store.insert_user(&user("u2", "alice")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.insert_client(&client("c1")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.list_users().await.unwrap().len(), 1);
    assert_eq!(store.list_clients().await.unwrap().len(), 2);
    // Deleting a user removes what hangs from it (foreign keys on).
    store
        .insert_grant_with_code(&grant("g1"), &code("h1", "g1"))
        .await
        .unwrap();
    assert!(store.delete_user("alice").await.unwrap());
    assert!(!store.delete_user("alice").await.unwrap());
    assert!(store.grant("g1").await.unwrap().is_none());
    assert!(store.delete_client("c2").await.unwrap());
    assert!(store.client_by_id("c2").await.unwrap().is_none());
}

async fn signing_keys(store: Arc<dyn Store>) {
    let key = |kid: &str, created: i64| SigningKeyRow {
        kid: kid.into(),
        alg: "RS256".into(),
        private_pem: "pem".into(),
        created_at: created,
        retired_at: None,
        activates_at: created,
    };
    assert!(
        store
            .insert_first_signing_key(&key("k1", NOW))
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_first_signing_key(&key("k2", NOW))
            .await
            .unwrap(),
        "one active key per algorithm"
    );
    // Published at NOW + 10, signing from NOW + 130: the old key retires then.
    store
        .rotate_signing_key(
            &SigningKeyRow {
                activates_at: NOW + 130,
                ..key("k3", NOW + 10)
            },
            NOW + 10,
        )
        .await
        .unwrap();
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys.iter().find(|k| k.kid == "k1").unwrap().retired_at,
        Some(NOW + 130)
    );
    assert_eq!(
        keys.iter().find(|k| k.kid == "k3").unwrap().activates_at,
        NOW + 130
    );
    assert_eq!(
        keys.iter().find(|k| k.kid == "k3").unwrap().retired_at,
        None
    );
    assert_eq!(store.delete_retired_keys(NOW + 125).await.unwrap(), 0);
    assert_eq!(store.delete_retired_keys(NOW + 131).await.unwrap(), 1);
}

async fn requests_and_consent(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    let pending = PendingRequest {
        id: "r1".into(),
        client_id: "c1".into(),
        request: "{}".into(),
        created_at: NOW,
        expires_at: NOW + 100,
    };
    store.insert_authorization_request(&pending).await.unwrap();
    assert!(
        store
            .authorization_request("r1", NOW + 99)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .authorization_request("r1", NOW + 100)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    store.delete_authorization_request("r1").await.unwrap();
    assert!(
        store
            .authorization_request("r1", NOW)
            .await
            .unwrap()
            .is_none()
    );

    // Consent written twice is one row with the later value.
    for scope in ["openid", "openid profile"] {
        store.upsert_consent(&consent("", scope)).await.unwrap();
    }
    assert_eq!(
        store
            .consent("u1", "c1", "")
            .await
            .unwrap()
            .unwrap()
            .scope
            .to_string(),
        "openid profile"
    );
    // Per patient: a decision for one patient is not one for another.
    store
        .upsert_consent(&consent("carmen", "openid patient/*.rs"))
        .await
        .unwrap();
    assert!(store.consent("u1", "c1", "dev").await.unwrap().is_none());
    assert_eq!(
        store
            .consent("u1", "c1", "carmen")
            .await
            .unwrap()
            .unwrap()
            .scope
            .to_string(),
        "openid patient/*.rs"
    );
    // A Deny is remembered until the next Allow.
    store
        .deny_consent("u1", "c1", "carmen", NOW + 5)
        .await
        .unwrap();
    assert!(
        store
            .consent("u1", "c1", "carmen")
            .await
            .unwrap()
            .unwrap()
            .denied_since()
    );
    assert!(
        !store
            .consent("u1", "c1", "")
            .await
            .unwrap()
            .unwrap()
            .denied_since()
    );
    store
        .upsert_consent(&Consent {
            updated_at: NOW + 6,
            ..consent("carmen", "openid")
        })
        .await
        .unwrap();
    assert!(
        !store
            .consent("u1", "c1", "carmen")
            .await
            .unwrap()
            .unwrap()
            .denied_since()
    );

    // The picked patient is written into the pending request.
    store
        .insert_authorization_request(&PendingRequest {
            id: "r2".into(),
            client_id: "c1".into(),
            request: "{}".into(),
            created_at: NOW,
            expires_at: NOW + 60,
        })
        .await
        .unwrap();
    store
        .update_authorization_request("r2", "{\"picked\":1}")
        .await
        .unwrap();
    assert_eq!(
        store
            .authorization_request("r2", NOW)
            .await
            .unwrap()
            .unwrap()
            .request,
        "{\"picked\":1}"
    );
}

fn consent(patient: &str, scope: &str) -> Consent {
    Consent {
        user_id: "u1".into(),
        client_id: "c1".into(),
        patient: patient.into(),
        scope: ScopeSet::parse(scope).unwrap(),
        updated_at: NOW,
        categories: StringList::default(),
        denied_at: None,
    }
}

/// The rows of one token response for grant `g`, with a unique access token id.
fn issued(grant_id: &str, refresh_hash: Option<&str>) -> IssuedTokens {
    IssuedTokens {
        access: AccessTokenRecord {
            jti: format!("jti-{}", clearance::secrets::random_id()),
            grant_id: grant_id.into(),
            expires_at: NOW + 300,
        },
        refresh: refresh_hash.map(|h| refresh(h, grant_id)),
    }
}

async fn codes_are_spent_once(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    store
        .insert_grant_with_code(&grant("g1"), &code("h1", "g1"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .redeem_code("h1", "c2", NOW, &issued("g1", None))
            .await
            .unwrap(),
        Redemption::OtherClient
    ));
    assert!(matches!(
        store
            .redeem_code("nope", "c1", NOW, &issued("g1", None))
            .await
            .unwrap(),
        Redemption::Unknown
    ));
    // A write that fails (here: an access token id already taken) leaves the code unspent.
    let taken = issued("g1", Some("rt-1"));
    store.insert_access_token(&taken.access).await.unwrap();
    assert!(store.redeem_code("h1", "c1", NOW, &taken).await.is_err());
    assert!(
        store
            .code("h1")
            .await
            .unwrap()
            .unwrap()
            .consumed_at
            .is_none()
    );
    assert!(
        store.refresh_token("rt-1").await.unwrap().is_none(),
        "nothing half-written"
    );
    let Redemption::Fresh(c) = store
        .redeem_code("h1", "c1", NOW, &issued("g1", Some("rt-2")))
        .await
        .unwrap()
    else {
        panic!("first use")
    };
    assert_eq!(
        store.refresh_token("rt-2").await.unwrap().unwrap().grant_id,
        "g1"
    );
    assert_eq!(c.nonce.as_deref(), Some("n"));
    assert!(
        matches!(store.redeem_code("h1", "c1", NOW, &issued("g1", None)).await.unwrap(), Redemption::Reused { grant_id } if grant_id == "g1")
    );

    // Raced: many redemptions at once, exactly one wins.
    store
        .insert_grant_with_code(&grant("g2"), &code("h2", "g2"))
        .await
        .unwrap();
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .redeem_code("h2", "c1", NOW, &issued("g2", None))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut fresh = 0;
    for attempt in attempts {
        if matches!(attempt.await.unwrap(), Redemption::Fresh(_)) {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}

async fn refresh_tokens_rotate_once(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    store
        .insert_grant_with_code(&grant("g1"), &code("h1", "g1"))
        .await
        .unwrap();
    store
        .insert_refresh_token(&refresh("r1", "g1"))
        .await
        .unwrap();
    assert_eq!(
        store.refresh_token("r1").await.unwrap().unwrap().grant_id,
        "g1"
    );
    assert!(matches!(
        store
            .redeem_refresh_token("r1", "c2", NOW, &issued("g1", None))
            .await
            .unwrap(),
        Redemption::OtherClient
    ));
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .redeem_refresh_token("r1", "c1", NOW, &issued("g1", None))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut fresh = 0;
    let mut reused = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Redemption::Fresh(_) => fresh += 1,
            Redemption::Reused { .. } => reused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((fresh, reused), (1, 7));
}

async fn revocation_and_purge(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    store
        .insert_grant_with_code(&grant("g1"), &code("h1", "g1"))
        .await
        .unwrap();
    store
        .insert_access_token(&AccessTokenRecord {
            jti: "j1".into(),
            grant_id: "g1".into(),
            expires_at: NOW + 300,
        })
        .await
        .unwrap();
    assert!(store.access_token_active("j1", NOW).await.unwrap());
    assert!(
        !store.access_token_active("j1", NOW + 300).await.unwrap(),
        "expired"
    );
    assert!(
        !store.access_token_active("j2", NOW).await.unwrap(),
        "unknown"
    );
    store.revoke_grant("g1", NOW).await.unwrap();
    store.revoke_grant("g1", NOW + 5).await.unwrap();
    assert_eq!(
        store.grant("g1").await.unwrap().unwrap().revoked_at,
        Some(NOW),
        "first revocation time kept"
    );
    assert!(
        !store.access_token_active("j1", NOW).await.unwrap(),
        "revoked grant"
    );

    store
        .insert_refresh_token(&refresh("r1", "g1"))
        .await
        .unwrap();
    // Code (NOW+60), refresh token (NOW+3600), access record (NOW+300) all expired by then.
    assert_eq!(store.purge_expired(NOW + 3600).await.unwrap(), 3);
    store.ping().await.unwrap();
}

/// The account page's and the operator's view of grants: listing, narrowing the labels of an
/// active grant, the remembered categories, and revoking every grant of one client.
async fn grants_are_listed_narrowed_and_revoked_per_client(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    let mut older = grant("g1");
    older.created_at = NOW - 10;
    store
        .insert_grant_with_code(&older, &code("h1", "g1"))
        .await
        .unwrap();
    store
        .insert_grant_with_code(&grant("g2"), &code("h2", "g2"))
        .await
        .unwrap();
    let mut other_client = grant("g3");
    other_client.client_id = "c2".into();
    store
        .insert_grant_with_code(&other_client, &code("h3", "g3"))
        .await
        .unwrap();
    let ids = |grants: Vec<Grant>| grants.into_iter().map(|g| g.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.grants_of_user("u1").await.unwrap()),
        ["g2", "g3", "g1"],
        "newest first"
    );
    assert_eq!(store.grants_of_user("nobody").await.unwrap().len(), 0);
    assert_eq!(store.list_grants().await.unwrap().len(), 3);

    // An access token names its grant while both last.
    store
        .insert_access_token(&AccessTokenRecord {
            jti: "j2".into(),
            grant_id: "g2".into(),
            expires_at: NOW + 300,
        })
        .await
        .unwrap();
    let active = store.active_access_token_grant("j2", NOW).await.unwrap();
    assert_eq!(active.map(|g| g.id).as_deref(), Some("g2"));
    assert!(
        store
            .active_access_token_grant("j2", NOW + 300)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );

    // Narrowing replaces the claim and its categories, typed in and typed out.
    let narrowed = SecurityClaim::from(
        r#"{"confidentiality":"N","sensitivity":["PSY"],"purpose_of_use":"PATRQT"}"#.to_owned(),
    );
    let categories: StringList = ["mental-health"].into_iter().collect();
    store
        .narrow_grant("g2", &narrowed, &categories)
        .await
        .unwrap();
    let g2 = store.grant("g2").await.unwrap().unwrap();
    assert_eq!(g2.security, narrowed);
    assert_eq!(g2.category_ids(), ["mental-health"]);
    assert_eq!(g2.need_patient_banner, Some(true));

    store
        .upsert_consent(&consent("", "openid offline_access"))
        .await
        .unwrap();
    store
        .set_consent_categories("u1", "c1", &categories, NOW + 1)
        .await
        .unwrap();
    let remembered = store.consent("u1", "c1", "").await.unwrap().unwrap();
    assert_eq!(remembered.category_ids(), ["mental-health"]);
    assert_eq!(remembered.updated_at, NOW + 1);

    // Revoking the client's grants ends both of c1's, forgets the consent, and leaves c2's.
    assert_eq!(
        store
            .revoke_client_grants("u1", "c1", NOW + 2)
            .await
            .unwrap(),
        2
    );
    assert!(
        store
            .grant("g1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        store
            .grant("g3")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(store.consent("u1", "c1", "").await.unwrap().is_none());
    assert!(
        store
            .active_access_token_grant("j2", NOW)
            .await
            .unwrap()
            .is_none(),
        "a revoked grant's token is not active"
    );
    assert_eq!(
        store
            .revoke_client_grants("u1", "c1", NOW + 3)
            .await
            .unwrap(),
        0
    );
    store.ping().await.unwrap();
}

async fn patients_and_launches(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    for (id, name) in [
        ("p1", "Ana Lopez"),
        ("p2", "Ben Okafor"),
        ("p3", "Anabel Smith"),
    ] {
        store
            .upsert_patient(&Patient {
                id: id.into(),
                name: name.into(),
                birth_date: None,
                gender: None,
                created_at: NOW,
            })
            .await
            .unwrap();
    }
    store
        .upsert_patient(&Patient {
            id: "p2".into(),
            name: "Ben O. Okafor".into(),
            birth_date: Some("2000-01-01".into()),
            gender: None,
            created_at: NOW,
        })
        .await
        .unwrap();
    assert_eq!(
        store.count_patients().await.unwrap(),
        3,
        "an upsert does not duplicate"
    );
    let found: Vec<String> = store
        .search_patients("ANA", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(found, ["p1", "p3"]);
    assert_eq!(
        store.search_patients("%", 10).await.unwrap().len(),
        3,
        "wildcards in the query are literal-free"
    );
    assert_eq!(
        store.patient("p2").await.unwrap().unwrap().name,
        "Ben O. Okafor"
    );

    let launch = Launch {
        launch_hash: "l1".into(),
        issued_to: "c1".into(),
        client_id: None,
        patient: Some("p1".into()),
        encounter: Some("e1".into()),
        user_id: None,
        fhir_context: "[]".into(),
        need_patient_banner: true,
        intent: None,
        created_at: NOW,
        expires_at: NOW + 300,
        used_at: None,
    };
    store.insert_launch(&launch).await.unwrap();
    store
        .insert_launch(&Launch {
            launch_hash: "l2".into(),
            ..launch.clone()
        })
        .await
        .unwrap();
    assert!(
        store
            .spend_launch("l2", "c1", NOW + 300)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    // A handle for one app is not spent by another.
    store
        .insert_launch(&Launch {
            launch_hash: "l3".into(),
            client_id: Some("c1".into()),
            ..launch.clone()
        })
        .await
        .unwrap();
    assert!(store.spend_launch("l3", "c2", NOW).await.unwrap().is_none());
    assert!(store.spend_launch("l3", "c1", NOW).await.unwrap().is_some());
    let attempts: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.spend_launch("l1", "c1", NOW).await.unwrap() })
        })
        .collect();
    let mut spent = 0;
    for attempt in attempts {
        if let Some(l) = attempt.await.unwrap() {
            assert_eq!(l.encounter.as_deref(), Some("e1"));
            spent += 1;
        }
    }
    assert_eq!(spent, 1, "a launch handle works once");
}

async fn client_updates_jtis_and_initial_tokens(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    let mut c = store.client_by_id("c1").await.unwrap().unwrap();
    c.name = "Renamed".into();
    c.system_scopes = Some("system/Observation.rs".into());
    assert!(store.update_client(&c).await.unwrap());
    let back = store.client_by_id("c1").await.unwrap().unwrap();
    assert_eq!(
        (back.name.as_str(), back.system_scopes.as_deref()),
        ("Renamed", Some("system/Observation.rs"))
    );
    assert!(!store.update_client(&client("nope")).await.unwrap());

    assert!(
        store
            .record_assertion_jti("c1", "j1", NOW + 300)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_assertion_jti("c1", "j1", NOW + 300)
            .await
            .unwrap(),
        "a jti is accepted once"
    );
    assert!(
        store
            .record_assertion_jti("c2", "j1", NOW + 300)
            .await
            .unwrap(),
        "per client"
    );

    store
        .insert_initial_access_token("t1", NOW, NOW + 60)
        .await
        .unwrap();
    assert!(
        !store
            .spend_initial_access_token("t1", NOW + 60)
            .await
            .unwrap(),
        "expired"
    );
    assert!(store.spend_initial_access_token("t1", NOW).await.unwrap());
    assert!(
        !store.spend_initial_access_token("t1", NOW).await.unwrap(),
        "single use"
    );

    store
        .insert_client_token(
            "b1",
            "c1",
            NOW + 300,
            &AuditEvent {
                at: NOW,
                event: "backend_token_issued".into(),
                user_id: None,
                client_id: Some("c1".into()),
                grant_id: None,
                detail: "system/*.rs".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.audit_events(None, 10).await.unwrap()[0].event,
        "backend_token_issued",
        "the token is recorded with its audit entry"
    );
    assert_eq!(
        store
            .client_token_active("b1", NOW)
            .await
            .unwrap()
            .as_deref(),
        Some("c1")
    );
    store.revoke_client_token("b1", NOW).await.unwrap();
    assert!(
        store
            .client_token_active("b1", NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.purge_expired(NOW + 400).await.unwrap() >= 4);
}

/// Sign-ins (SMART online_access): active until ended or expired, then purged; the grant
/// keeps the sign-in that approved it.
async fn sign_ins(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    store
        .insert_sign_in("s1", "u1", NOW, NOW + 100)
        .await
        .unwrap();
    store
        .insert_sign_in("s2", "u1", NOW, NOW + 100)
        .await
        .unwrap();
    assert!(store.sign_in_active("s1", NOW).await.unwrap());
    assert!(!store.sign_in_active("nope", NOW).await.unwrap());
    store.end_sign_in("s1", NOW + 1).await.unwrap();
    assert!(!store.sign_in_active("s1", NOW + 2).await.unwrap());
    assert!(store.sign_in_active("s2", NOW + 99).await.unwrap());
    assert!(
        !store.sign_in_active("s2", NOW + 100).await.unwrap(),
        "expired"
    );
    store
        .insert_grant_with_code(&grant("g1"), &code("h1", "g1"))
        .await
        .unwrap();
    assert_eq!(
        store
            .grant("g1")
            .await
            .unwrap()
            .unwrap()
            .sign_in_id
            .as_deref(),
        Some("s1")
    );
    assert!(store.purge_expired(NOW + 100).await.unwrap() >= 2);
}

/// The audit trail: appended in order, read newest first (all, or one user's), bounded by
/// `limit`, purged by age; rows naming users and clients that do not exist are fine.
async fn audit_trail(store: Arc<dyn Store>) {
    let event = |at: i64, event: &str, user: Option<&str>| AuditEvent {
        at,
        event: event.into(),
        user_id: user.map(str::to_owned),
        client_id: Some("gone-client".into()),
        grant_id: None,
        detail: "patient/*.rs".into(),
    };
    store
        .record_audit_event(&event(NOW - 100, "sign_in", Some("u1")))
        .await
        .unwrap();
    store
        .record_audit_event(&event(NOW, "token_request_refused", None))
        .await
        .unwrap();
    store
        .record_audit_event(&event(NOW, "tokens_issued", Some("u1")))
        .await
        .unwrap();
    store
        .record_audit_event(&event(NOW, "sign_in", Some("u2")))
        .await
        .unwrap();
    let all = store.audit_events(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        [
            "sign_in",
            "tokens_issued",
            "token_request_refused",
            "sign_in"
        ],
        "newest first"
    );
    assert_eq!(all[1], event(NOW, "tokens_issued", Some("u1")));
    let u1 = store.audit_events(Some("u1"), 10).await.unwrap();
    assert_eq!(
        u1.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["tokens_issued", "sign_in"]
    );
    assert_eq!(store.audit_events(Some("u1"), 1).await.unwrap().len(), 1);
    assert_eq!(store.purge_audit_events(NOW - 50).await.unwrap(), 1);
    assert_eq!(store.audit_events(Some("u1"), 10).await.unwrap().len(), 1);
}

async fn sign_in_attempts_are_reserved_atomically(store: Arc<dyn Store>) {
    seeded(store.as_ref()).await;
    // Twenty parallel attempts: exactly five are allowed a password check.
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .reserve_sign_in_attempt("u1", NOW, 900, 5)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut allowed = 0;
    for attempt in attempts {
        if attempt.await.unwrap() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5);
    assert!(
        !store
            .reserve_sign_in_attempt("u1", NOW + 899, 900, 5)
            .await
            .unwrap()
    );
    assert!(
        store
            .reserve_sign_in_attempt("u1", NOW + 900, 900, 5)
            .await
            .unwrap(),
        "a new window"
    );
    store.clear_sign_in_attempts("u1").await.unwrap();
    for _ in 0..5 {
        assert!(
            store
                .reserve_sign_in_attempt("u1", NOW + 901, 900, 5)
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .reserve_sign_in_attempt("u1", NOW + 901, 900, 5)
            .await
            .unwrap()
    );
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/store.db", dir.path().display());
    let store = SqliteStore::open(&url, 4, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

async fn postgres() -> Option<(Arc<dyn Store>, String)> {
    let url = pg::fresh_database().await?;
    let settings = PoolSettings {
        max_connections: 8,
        acquire_timeout: std::time::Duration::from_secs(5),
        connect_attempts: 1,
    };
    let store = PostgresStore::open(&url, &settings).await.unwrap();
    Some((Arc::new(store), url))
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (store, _dir) = sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod on_postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some((store, url)) = postgres().await else { return };
                    super::$name(store.clone()).await;
                    drop(store);
                    pg::drop_database(&url).await;
                }
            )*
        }
    };
}

contract!(
    client_updates_jtis_and_initial_tokens,
    patients_and_launches,
    users_and_clients,
    signing_keys,
    requests_and_consent,
    codes_are_spent_once,
    refresh_tokens_rotate_once,
    revocation_and_purge,
    audit_trail,
    sign_ins,
    sign_in_attempts_are_reserved_atomically,
    grants_are_listed_narrowed_and_revoked_per_client
);

/// `migrations/sqlite` and `migrations/postgres` stay in step: the same files, and the same
/// statements in each but for the dialect differences named here.
mod migrations_in_step {
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Phrases that differ by dialect only: (SQLite, PostgreSQL).
    const DIALECT: &[(&str, &str)] =
        &[("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")];

    /// Files whose statements differ by design; the applied schemas are compared instead.
    const DIVERGENT: &[(&str, &str)] = &[
        (
            "0007_review_fixes.sql",
            "SQLite cannot change a primary key: it rebuilds the table",
        ),
        (
            "0008_typed_columns.sql",
            "PostgreSQL makes its flags BOOLEAN; SQLite has no boolean type",
        ),
    ];

    fn files(dialect: &str) -> BTreeMap<String, String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect);
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect()
    }

    /// The statements of a file: comments dropped, whitespace collapsed.
    fn statements(sql: &str) -> Vec<String> {
        let code: String = sql
            .lines()
            .map(|line| line.split("--").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        code.split(';')
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
            .collect()
    }

    #[test]
    fn both_dialects_have_the_same_files_and_statements() {
        let sqlite = files("sqlite");
        let postgres = files("postgres");
        assert_eq!(
            sqlite.keys().collect::<Vec<_>>(),
            postgres.keys().collect::<Vec<_>>(),
            "the same migration files, in the same order"
        );
        for (name, sqlite_sql) in &sqlite {
            if DIVERGENT.iter().any(|(file, _)| file == name) {
                continue;
            }
            let translated: Vec<String> = statements(sqlite_sql)
                .into_iter()
                .map(|s| DIALECT.iter().fold(s, |s, (lite, pg)| s.replace(lite, pg)))
                .collect();
            assert_eq!(translated, statements(&postgres[name]), "{name}");
        }
    }

    /// The tables and columns both back ends end with after every migration.
    #[tokio::test]
    async fn both_dialects_end_with_the_same_tables_and_columns() {
        let (sqlite, dir) = super::sqlite().await;
        drop(sqlite);
        let file = dir.path().join("store.db");
        let mut lite = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
            "sqlite://{}",
            file.display()
        ))
        .await
        .unwrap();
        let lite_columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
             ORDER BY m.name, p.name",
        )
        .fetch_all(&mut lite)
        .await
        .unwrap();
        let Some((postgres, url)) = super::postgres().await else {
            return;
        };
        drop(postgres);
        let mut pg = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let pg_columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
             ORDER BY table_name, column_name",
        )
        .fetch_all(&mut pg)
        .await
        .unwrap();
        drop(pg);
        super::pg::drop_database(&url).await;
        // Sorted here: the two databases collate names differently.
        let (mut lite_columns, mut pg_columns) = (lite_columns, pg_columns);
        lite_columns.sort();
        pg_columns.sort();
        assert!(lite_columns.len() > 50, "the schema was read");
        assert_eq!(lite_columns, pg_columns);
    }
}

//! Apps as OAuth clients: dynamic registration (RFC 7591) and management (RFC 7592),
//! private_key_jwt (RFC 7523 as SMART profiles it) with keys made here, a jwks_uri served by a
//! local server that changes its keys, and SMART Backend Services end to end.

use std::sync::{Arc, Mutex};

use crate::common::*;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use clearance::config::Settings;
use clearance::flow::clients::{self, NewClient, Registered};
use clearance::secrets;
use josekit::jwk::KeyPair;
use josekit::jws::{ES384, JwsHeader, JwsSigner, RS384};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Value, json};

// ---------------------------------------------------------------- registration

async fn register(server: &TestServer, body: Value, token: Option<&str>) -> (u16, Value) {
    let mut request = http_client().post(server.url("/register")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn open() -> Settings {
    Settings {
        registration: Some("open".into()),
        ..Settings::default()
    }
}

#[tokio::test]
async fn registration_with_the_openidconnect_crate_then_a_whole_flow() {
    use openidconnect::core::{
        CoreClientAuthMethod, CoreClientRegistrationRequest, CoreProviderMetadata,
    };
    use openidconnect::registration::EmptyAdditionalClientMetadata;
    use openidconnect::{IssuerUrl, RedirectUrl, RegistrationUrl};
    let server = TestServer::start_with(open()).await;
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let endpoint: RegistrationUrl = metadata
        .registration_endpoint()
        .cloned()
        .expect("registration_endpoint in discovery");
    let response = CoreClientRegistrationRequest::new(
        vec![RedirectUrl::new(REDIRECT_URI.into()).unwrap()],
        EmptyAdditionalClientMetadata::default(),
    )
    .set_token_endpoint_auth_method(Some(CoreClientAuthMethod::ClientSecretBasic))
    .register_async(&endpoint, &http)
    .await
    .expect("registered");
    let client_id = response.client_id().to_string();
    let secret = response
        .client_secret()
        .expect("a secret is issued")
        .secret()
        .clone();
    assert!(response.registration_access_token().is_some());

    // The new client works: code flow with client_secret_basic.
    let (code, verifier) = server.code_for(&client_id, "openid").await;
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
            Some((&client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn registration_happy_paths() {
    let server = TestServer::start_with(open()).await;
    let (status, public) = register(&server, json!({"client_name": "Phone App", "redirect_uris": ["com.example.app:/cb"], "token_endpoint_auth_method": "none"}), None).await;
    assert_eq!(status, 201, "{public}");
    assert!(public.get("client_secret").is_none());
    assert_eq!(public["grant_types"], json!(["authorization_code"]));
    assert_eq!(
        public["registration_client_uri"],
        server.url(&format!(
            "/register/{}",
            public["client_id"].as_str().unwrap()
        ))
    );

    let (status, confidential) = register(&server, json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code", "refresh_token"], "logo_uri": "https://app.example/logo.png"}), None).await;
    assert_eq!(status, 201);
    assert_eq!(
        confidential["token_endpoint_auth_method"], "client_secret_basic",
        "the RFC 7591 default"
    );
    assert_eq!(confidential["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(confidential["client_secret_expires_at"], 0);
    assert_eq!(confidential["logo_uri"], "https://app.example/logo.png");

    let key = Key::es384("k1");
    let (status, asymmetric) = register(
        &server,
        json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"], "jwks": key.jwks(), "scope": "system/Observation.rs", "max_confidentiality": "V"}),
        None,
    )
    .await;
    assert_eq!(status, 201, "{asymmetric}");
    assert!(asymmetric.get("client_secret").is_none());
    assert!(
        asymmetric.get("max_confidentiality").is_none(),
        "a label ceiling is never self-asserted"
    );
    // Its system scope is not pre-authorized: only the operator does that.
    let id = asymmetric["client_id"].as_str().unwrap();
    let (status, body) = backend_token(
        &server,
        &key.assertion(id, &server.url("/token"), 60),
        "system/Observation.rs",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    clients::set_system_scopes(
        server.services.store.as_ref(),
        id,
        &["system/Observation.rs".into()],
    )
    .await
    .unwrap();
    let (status, body) = backend_token(
        &server,
        &key.assertion(id, &server.url("/token"), 60),
        "system/Observation.rs",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn registration_metadata_errors() {
    let server = TestServer::start_with(open()).await;
    let key = Key::es384("k1");
    let mut private = key.jwks();
    private["keys"][0]["d"] = json!("AAAA");
    let cases = [
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": ["/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "tls_client_auth"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"], "jwks": key.jwks(), "jwks_uri": "https://a.example/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"], "jwks": private}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"], "jwks_uri": "http://a.example/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "scope": "patient/Observation.dus"}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (body, error) in cases {
        let (status, answer) = register(&server, body.clone(), None).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(error)),
            "{body}"
        );
    }
    let r = http_client()
        .post(server.url("/register"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn registration_policy_initial_access_token_and_closed() {
    let server = TestServer::start().await; // the default policy: an initial access token
    let body = json!({"redirect_uris": [REDIRECT_URI]});
    let (status, _) = register(&server, body.clone(), None).await;
    assert_eq!(status, 401);
    let token = secrets::random_token();
    let now = server.services.now();
    server
        .services
        .store
        .insert_initial_access_token(&secrets::hash_secret(&token), now, now + 600)
        .await
        .unwrap();
    let (status, _) = register(&server, body.clone(), Some("wrong")).await;
    assert_eq!(status, 401);
    let (status, registered) = register(&server, body.clone(), Some(&token)).await;
    assert_eq!(status, 201, "{registered}");
    let (status, _) = register(&server, body.clone(), Some(&token)).await;
    assert_eq!(status, 401, "an initial access token is single use");

    let closed = TestServer::start_with(Settings {
        registration: Some("closed".into()),
        ..Settings::default()
    })
    .await;
    let (status, _) = register(&closed, body, None).await;
    assert_eq!(status, 403);
    let d: Value = http_client()
        .get(closed.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        d.get("registration_endpoint").is_none(),
        "not advertised when closed"
    );
}

#[tokio::test]
async fn registration_management_needs_the_registration_access_token() {
    let server = TestServer::start_with(open()).await;
    let (_, registered) = register(&server, json!({"client_name": "Before", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}), None).await;
    let uri = registered["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = registered["client_id"].as_str().unwrap().to_owned();
    let http = http_client();

    assert_eq!(http.get(&uri).send().await.unwrap().status(), 401);
    assert_eq!(
        http.get(&uri)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let read: Value = http
        .get(&uri)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["client_name"], "Before");
    // RFC 7592 §3: the token rotates on use; the old one no longer works.
    let old = token;
    let token = read["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(token, old);
    assert_eq!(
        http.get(&uri)
            .bearer_auth(&old)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let replacement = json!({"client_id": id, "client_name": "After", "redirect_uris": ["https://new.example/cb"], "token_endpoint_auth_method": "none"});
    let r = http
        .put(&uri)
        .bearer_auth(&token)
        .json(&replacement)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    let token = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(updated["client_name"], "After");
    assert_eq!(updated["redirect_uris"], json!(["https://new.example/cb"]));
    let stored = server
        .services
        .store
        .client_by_id(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.redirect_uris(),
        vec!["https://new.example/cb".to_owned()]
    );
    let wrong_id = json!({"client_id": "other", "redirect_uris": ["https://new.example/cb"], "token_endpoint_auth_method": "none"});
    assert_eq!(
        http.put(&uri)
            .bearer_auth(&token)
            .json(&wrong_id)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        http.put(&uri)
            .json(&replacement)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    assert_eq!(http.delete(&uri).send().await.unwrap().status(), 401);
    assert_eq!(
        http.delete(&uri)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        http.get(&uri)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(
        server
            .services
            .store
            .client_by_id(&id)
            .await
            .unwrap()
            .is_none()
    );
}

// ---------------------------------------------------------------- private_key_jwt

/// A client key pair made by the test.
struct Key {
    kid: String,
    alg: &'static str,
    signer: Box<dyn JwsSigner>,
    public: Value,
}

impl Key {
    fn es384(kid: &str) -> Key {
        let pair = ES384.generate_key_pair().unwrap();
        Key::from(
            kid,
            "ES384",
            Box::new(ES384.signer_from_jwk(&pair.to_jwk_key_pair()).unwrap()),
            pair.to_jwk_public_key(),
        )
    }

    fn rs384(kid: &str) -> Key {
        let pair = RS384.generate_key_pair(2048).unwrap();
        Key::from(
            kid,
            "RS384",
            Box::new(RS384.signer_from_jwk(&pair.to_jwk_key_pair()).unwrap()),
            pair.to_jwk_public_key(),
        )
    }

    fn from(
        kid: &str,
        alg: &'static str,
        signer: Box<dyn JwsSigner>,
        mut public: josekit::jwk::Jwk,
    ) -> Key {
        public.set_key_id(kid);
        public.set_algorithm(alg);
        Key {
            kid: kid.into(),
            alg,
            signer,
            public: Value::Object(public.as_ref().clone()),
        }
    }

    fn jwks(&self) -> Value {
        json!({"keys": [self.public]})
    }

    fn sign(&self, claims: Value, kid: Option<&str>) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("JWT");
        if let Some(kid) = kid {
            header.set_key_id(kid);
        }
        let payload = JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap();
        jwt::encode_with_signer(&payload, &header, self.signer.as_ref()).unwrap()
    }

    /// A valid SMART client assertion expiring in `ttl` seconds.
    fn assertion(&self, client_id: &str, aud: &str, ttl: i64) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.sign(json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now + ttl, "jti": secrets::random_id()}), Some(&self.kid))
    }
}

async fn backend_client(
    server: &TestServer,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
) -> Registered {
    clients::register(
        server.services.store.as_ref(),
        NewClient {
            name: "Backend",
            jwks: jwks.map(|j| j.to_string()),
            jwks_uri,
            system_scopes: vec!["system/Observation.rs".into(), "system/Patient.r".into()],
            ..Default::default()
        },
        server.services.now(),
    )
    .await
    .unwrap()
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn backend_token(server: &TestServer, assertion: &str, scope: &str) -> (u16, Value) {
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
                ("scope", scope),
            ],
            None,
        )
        .await;
    (status, body)
}

#[tokio::test]
async fn backend_services_with_rs384_and_es384_assertions() {
    let server = TestServer::start().await;
    let token_endpoint = server.url("/token");
    for key in [Key::rs384("rsa-1"), Key::es384("ec-1")] {
        let client = backend_client(&server, Some(key.jwks()), None).await;
        let (status, body) = backend_token(
            &server,
            &key.assertion(&client.client_id, &token_endpoint, 120),
            "system/Observation.rs",
        )
        .await;
        assert_eq!(status, 200, "{} {body}", key.alg);
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_i64().unwrap() <= 300);
        assert_eq!(body["scope"], "system/Observation.rs");
        assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
        let claims = jwt_claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["sub"], client.client_id);
        assert_eq!(claims["aud"], server.url("/fhir"));
        assert_eq!(
            claims["security"],
            json!({"confidentiality": "N", "sensitivity": [], "purpose_of_use": "HOPERAT"})
        );

        // The issuer as aud is accepted too (OpenID conformance), and the token introspects.
        let (status, body) = backend_token(
            &server,
            &key.assertion(&client.client_id, &server.issuer, 120),
            "system/Patient.r",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        // A resource server that authenticates with its own keys may introspect too.
        let assertion = key.assertion(&client.client_id, &server.url("/token"), 60);
        let active = server
            .post_form(
                "/introspect",
                &[
                    ("token", body["access_token"].as_str().unwrap()),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &assertion),
                ],
            )
            .send()
            .await
            .body;
        assert_eq!(active["active"], true);
        assert_eq!(active["client_id"], client.client_id);
    }
}

#[tokio::test]
async fn backend_assertion_failures_are_invalid_client() {
    let server = TestServer::start().await;
    let key = Key::es384("k1");
    let client = backend_client(&server, Some(key.jwks()), None).await;
    let id = client.client_id.as_str();
    let aud = server.url("/token");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // Replayed jti.
    let once = key.assertion(id, &aud, 60);
    assert_eq!(
        backend_token(&server, &once, "system/Observation.rs")
            .await
            .0,
        200
    );
    let (status, body) = backend_token(&server, &once, "system/Observation.rs").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "replayed jti"
    );

    let failures = [
        ("expired", key.sign(json!({"iss": id, "sub": id, "aud": aud, "exp": now - 120, "jti": "a1"}), Some("k1"))),
        ("too far ahead", key.sign(json!({"iss": id, "sub": id, "aud": aud, "exp": now + 3600, "jti": "a2"}), Some("k1"))),
        ("wrong aud", key.sign(json!({"iss": id, "sub": id, "aud": "https://elsewhere.example/token", "exp": now + 60, "jti": "a3"}), Some("k1"))),
        ("unknown kid", key.sign(json!({"iss": id, "sub": id, "aud": aud, "exp": now + 60, "jti": "a4"}), Some("k9"))),
        ("no kid", key.sign(json!({"iss": id, "sub": id, "aud": aud, "exp": now + 60, "jti": "a5"}), None)),
        ("sub differs", key.sign(json!({"iss": id, "sub": "other", "aud": aud, "exp": now + 60, "jti": "a6"}), Some("k1"))),
        ("no jti", key.sign(json!({"iss": id, "sub": id, "aud": aud, "exp": now + 60}), Some("k1"))),
        ("no exp", key.sign(json!({"iss": id, "sub": id, "aud": aud, "jti": "a7"}), Some("k1"))),
        ("another key", Key::es384("k1").assertion(id, &aud, 60)),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];
    for (why, assertion) in failures {
        let (status, body) = backend_token(&server, &assertion, "system/Observation.rs").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client")),
            "{why}"
        );
    }
    // A bad client_assertion_type.
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:bad"),
                ("client_assertion", &key.assertion(id, &aud, 60)),
                ("scope", "system/Observation.rs"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // An asymmetric client cannot fall back to client_id only.
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("scope", "system/Observation.rs"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn backend_services_error_cases() {
    let server = TestServer::start().await;
    let key = Key::es384("k1");
    let client = backend_client(&server, Some(key.jwks()), None).await;
    let id = client.client_id.as_str();
    let aud = server.url("/token");
    let (status, body) =
        backend_token(&server, &key.assertion(id, &aud, 60), "system/Condition.rs").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "outside the pre-authorized scopes"
    );
    let (status, body) = backend_token(
        &server,
        &key.assertion(id, &aud, 60),
        "system/Observation.cruds",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "more letters than pre-authorized"
    );
    let (status, body) = backend_token(
        &server,
        &key.assertion(id, &aud, 60),
        "patient/Observation.rs",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = backend_token(&server, &key.assertion(id, &aud, 60), "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "not_a_grant_type"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &key.assertion(id, &aud, 60)),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &"a".repeat(43)),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &key.assertion(id, &aud, 60)),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client")),
        "a backend registered for client_credentials only"
    );
    // A public client cannot use client_credentials.
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &server.public_client.client_id),
                ("scope", "system/Observation.rs"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );

    // client_credentials with client_secret_basic, for a client the operator allows.
    let secret_backend = clients::register(
        server.services.store.as_ref(),
        NewClient {
            name: "Secret Backend",
            confidential: true,
            system_scopes: vec!["system/*.rs".into()],
            ..Default::default()
        },
        server.services.now(),
    )
    .await
    .unwrap();
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "client_credentials"),
                ("scope", "system/Observation.rs system/Patient.rs"),
            ],
            Some((
                &secret_backend.client_id,
                secret_backend.client_secret.as_deref().unwrap(),
            )),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A JWKS server the test can change.
async fn jwks_server(jwks: Arc<Mutex<(Value, &'static str)>>) -> String {
    async fn serve(
        State(state): State<Arc<Mutex<(Value, &'static str)>>>,
    ) -> impl axum::response::IntoResponse {
        let (jwks, cache) = state.lock().unwrap().clone();
        (
            [
                ("cache-control", cache),
                ("content-type", "application/json"),
            ],
            jwks.to_string(),
        )
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/jwks", get(serve)).with_state(jwks);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/jwks")
}

#[tokio::test]
async fn jwks_uri_keys_are_fetched_and_follow_their_cache_headers() {
    let server = TestServer::start().await;
    let first = Key::es384("k1");
    let second = Key::rs384("k2");
    let state = Arc::new(Mutex::new((first.jwks(), "no-store")));
    let uri = jwks_server(state.clone()).await;
    let client = backend_client(&server, None, Some(uri)).await;
    let id = client.client_id.as_str();
    let aud = server.url("/token");
    assert_eq!(
        backend_token(
            &server,
            &first.assertion(id, &aud, 60),
            "system/Observation.rs"
        )
        .await
        .0,
        200
    );

    // The client rotates its keys; no-store means the new set is read as soon as the
    // refetch pause (10 s) has passed; before, the cached set still answers.
    *state.lock().unwrap() = (second.jwks(), "public, max-age=3600");
    assert_eq!(
        backend_token(
            &server,
            &second.assertion(id, &aud, 60),
            "system/Observation.rs"
        )
        .await
        .0,
        401,
        "an unknown kid does not refetch within the pause"
    );
    server.clock.advance(11);
    assert_eq!(
        backend_token(
            &server,
            &first.assertion(id, &aud, 60),
            "system/Observation.rs"
        )
        .await
        .0,
        401
    );
    assert_eq!(
        backend_token(
            &server,
            &second.assertion(id, &aud, 60),
            "system/Observation.rs"
        )
        .await
        .0,
        200
    );

    // Now cached for an hour, as the header allows: a further change is not seen yet.
    *state.lock().unwrap() = (first.jwks(), "no-store");
    assert_eq!(
        backend_token(
            &server,
            &second.assertion(id, &aud, 60),
            "system/Observation.rs"
        )
        .await
        .0,
        200
    );
    assert_eq!(
        backend_token(
            &server,
            &first.assertion(id, &aud, 60),
            "system/Observation.rs"
        )
        .await
        .0,
        401
    );
}

#[tokio::test]
async fn an_asymmetric_client_can_do_the_code_flow_with_an_assertion() {
    let server = TestServer::start().await;
    let key = Key::rs384("app-key");
    let client = clients::register(
        server.services.store.as_ref(),
        NewClient {
            name: "Asymmetric App",
            redirect_uris: &[REDIRECT_URI.to_owned()],
            jwks: Some(key.jwks().to_string()),
            ..Default::default()
        },
        server.services.now(),
    )
    .await
    .unwrap();
    assert_eq!(client.token_endpoint_auth_method, "private_key_jwt");
    let (code, verifier) = server
        .code_for(&client.client_id, "openid offline_access")
        .await;
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
                ("client_assertion_type", ASSERTION_TYPE),
                (
                    "client_assertion",
                    &key.assertion(&client.client_id, &server.url("/token"), 60),
                ),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = server
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("client_assertion_type", ASSERTION_TYPE),
                (
                    "client_assertion",
                    &key.assertion(&client.client_id, &server.url("/token"), 60),
                ),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rotate_secret_replaces_the_old_one() {
    let server = TestServer::start().await;
    let c = &server.confidential_client;
    let new = clients::rotate_secret(server.services.store.as_ref(), &c.client_id)
        .await
        .unwrap();
    let rs_introspect = |secret: String| {
        let server = &server;
        async move {
            http_client()
                .post(server.url("/introspect"))
                .basic_auth(&server.confidential_client.client_id, Some(secret))
                .form(&[("token", "x")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(rs_introspect(c.client_secret.clone().unwrap()).await, 401);
    assert_eq!(rs_introspect(new).await, 200);
}

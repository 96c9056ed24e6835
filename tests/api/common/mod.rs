//! Test helpers: boot the real app on 127.0.0.1:0 with a fresh SQLite file, and walk the
//! browser part of the flow (sign-in and consent pages) with a cookie-keeping HTTP client.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod pg;
pub mod proxy;

use std::sync::Arc;

use clearance::app::App;
use clearance::clock::ManualClock;
use clearance::config::{Config, Settings};
use clearance::flow::clients::{self, NewClient, Registered};
use clearance::flow::users::{self, NewUser};
use clearance::services::Services;
use clearance::store::{Role, User};
use clearance::tokens::Alg;
use reqwest::redirect::Policy;
use tokio::net::TcpListener;

pub const PASSWORD: &str = "correct horse battery";
pub const REDIRECT_URI: &str = "http://127.0.0.1:45678/callback";

pub struct TestServer {
    pub issuer: String,
    pub services: Arc<Services>,
    pub clock: Arc<ManualClock>,
    pub public_client: Registered,
    pub confidential_client: Registered,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The PostgreSQL database made for this server, dropped with it.
    postgres: Option<String>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(url) = self.postgres.take() {
            // Drop cannot await; a short-lived runtime on its own thread drops the database.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(pg::drop_database(&url));
                }
            })
            .join();
        }
    }
}

impl TestServer {
    /// Boots the app with users `alice` (patient) and `dr.jones` (practitioner), a public
    /// client and a confidential client, both with `REDIRECT_URI`.
    pub async fn start() -> TestServer {
        TestServer::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> TestServer {
        TestServer::boot(settings, false).await
    }

    /// Like `clearance demo`: demo users, the demo app and the `/demo` pages.
    pub async fn start_demo() -> TestServer {
        TestServer::boot(Settings::default(), true).await
    }

    /// Like `start_with`, on a listener bound by the test (which may need its address in the
    /// settings, say for a second FHIR base).
    pub async fn start_on(listener: TcpListener, settings: Settings) -> TestServer {
        TestServer::boot_on(listener, settings, false).await
    }

    async fn boot(settings: Settings, demo: bool) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        TestServer::boot_on(listener, settings, demo).await
    }

    async fn boot_on(listener: TcpListener, settings: Settings, demo: bool) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let addr = listener.local_addr().expect("addr");
        let issuer = format!("http://{addr}");
        // CLEARANCE_TEST_BACKEND=postgres runs the same black-box tests on a fresh PostgreSQL
        // database (`.ci/run` does both).
        let postgres = match std::env::var("CLEARANCE_TEST_BACKEND").as_deref() {
            Ok("postgres") => Some(
                pg::fresh_database()
                    .await
                    .expect("PostgreSQL for CLEARANCE_TEST_BACKEND=postgres"),
            ),
            _ => None,
        };
        let database_url = postgres
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/clearance.db", dir.path().display()));
        let settings = Settings {
            listen: Some(addr.to_string()),
            issuer: Some(issuer.clone()),
            database_url: Some(database_url),
            ..Settings::default()
        }
        .overlay(settings);
        let mut config = Config::from_settings(settings).expect("config");
        if demo {
            clearance::demo::prepare(&mut config);
        }
        let clock = Arc::new(ManualClock::new());
        let app = App::build_on(config, clock.clone(), listener)
            .await
            .expect("app");
        let services = app.services.clone();
        let now = services.now();
        let store = services.store.as_ref();
        if demo {
            clearance::demo::seed(store, &services.config, now)
                .await
                .expect("demo data");
        }
        let test_users: &[(&str, Role, &str)] = if demo {
            &[] // the demo has its own users, with their own passwords
        } else {
            &[
                ("alice", Role::Patient, "Patient/alice"),
                ("dr.jones", Role::Practitioner, "Practitioner/jones"),
            ]
        };
        for &(username, role, fhir_user) in test_users {
            users::create_user(
                store,
                NewUser {
                    username,
                    password: PASSWORD,
                    role,
                    fhir_user: Some(fhir_user),
                    name: Some("Test User"),
                    email: Some("test@example.org"),
                    clearance: None,
                    clearance_sensitivity: None,
                },
                now,
            )
            .await
            .expect("user");
        }
        let public_client = register(&services, "Public App", false).await;
        let confidential_client = register(&services, "Confidential App", true).await;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestServer {
            issuer,
            services,
            clock,
            public_client,
            confidential_client,
            _dir: dir,
            stop: Some(stop),
            postgres,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// A seeded user, as stored.
    pub async fn user(&self, username: &str) -> User {
        self.services
            .store
            .user_by_username(username)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user {username}"))
    }
}

/// Registers a client with `REDIRECT_URI`. A confidential one also stands for a resource
/// server of every audience (the FHIR bases and the issuer), so that it may introspect any
/// token (RFC 7662 §4 otherwise answers only a token's own client).
pub async fn register(services: &Services, name: &str, confidential: bool) -> Registered {
    let mut audiences = services.config.fhir_base_urls.clone();
    audiences.push(services.config.issuer.clone());
    clients::register(
        services.store.as_ref(),
        NewClient {
            name,
            redirect_uris: &[REDIRECT_URI.to_owned()],
            confidential,
            client_id: None,
            id_token_alg: Alg::Rs256,
            max_confidentiality: None,
            allowed_sensitivity: None,
            ehr_launcher: false,
            resource_server_for: if confidential { audiences } else { Vec::new() },
            ..Default::default()
        },
        services.now(),
    )
    .await
    .expect("client")
}

/// An HTTP client for protocol calls: no redirects followed (oauth2's SSRF advice).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// A browser stand-in: keeps cookies, follows no redirects so each step can be checked.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .expect("browser")
}

/// The value of a hidden input in a page.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in page:\n{page}"))
        + marker.len();
    let end = page[start..].find('"').expect("closing quote") + start;
    page[start..end].to_owned()
}

/// Every value of the checkboxes named `scope` on the consent page.
pub fn scope_boxes(page: &str) -> Vec<String> {
    let marker = "name=\"scope\" value=\"";
    page.match_indices(marker)
        .map(|(i, _)| {
            let start = i + marker.len();
            let end = page[start..].find('"').expect("quote") + start;
            page[start..end].to_owned()
        })
        .collect()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location header; status {}", response.status()))
        .to_str()
        .expect("location")
        .to_owned()
}

/// What the walk through the pages ended with.
pub enum Outcome {
    /// The browser was sent back to the client with this URL.
    Redirected(String),
    /// The server showed a page (status, body).
    Page(u16, String),
}

impl Outcome {
    pub fn redirect(self) -> String {
        match self {
            Outcome::Redirected(url) => url,
            Outcome::Page(status, body) => {
                panic!("expected a redirect to the client, got page {status}:\n{body}")
            }
        }
    }
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The claims of a JWT, without verification (the flow tests verify signatures).
pub fn jwt_claims(token: &str) -> serde_json::Value {
    jwt_part(token, 1)
}

/// The JOSE header of a JWT, unverified.
pub fn jwt_header(token: &str) -> serde_json::Value {
    jwt_part(token, 0)
}

fn jwt_part(token: &str, index: usize) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(index).expect("JWT part");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url"),
    )
    .expect("JSON")
}

/// The walks and token calls a test makes against this server.
impl TestServer {
    /// An authorization URL with a valid PKCE challenge; returns it and the verifier.
    pub fn authorize_url(
        &self,
        client_id: &str,
        scope: &str,
        extra: &[(&str, &str)],
    ) -> (String, String) {
        use base64::Engine;
        use sha2::Digest;
        let verifier = clearance::secrets::random_token();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let mut url = url::Url::parse(&self.url("/authorize")).expect("url");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", scope)
            .append_pair("state", "state-123")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            url.query_pairs_mut().append_pair(k, v);
        }
        (url.to_string(), verifier)
    }

    /// POSTs a form to the token endpoint.
    pub async fn token_request(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
        let mut post = self.post_form("/token", form);
        if let Some((id, secret)) = basic {
            post = post.basic(id, secret);
        }
        let answer = post.send().await;
        (answer.status, answer.headers, answer.body)
    }

    /// A form POST to one of the protocol endpoints (`/token`, `/introspect`, `/revoke`,
    /// `/launch`), to be sent with [`FormPost::send`].
    pub fn post_form(&self, path: &str, form: &[(&str, &str)]) -> FormPost {
        FormPost {
            request: http_client().post(self.url(path)).form(form),
        }
    }

    /// Runs the whole flow for a public client and returns the code and the verifier.
    pub async fn code_for(&self, client_id: &str, scope: &str) -> (String, String) {
        let browser = browser();
        let (url, verifier) = self.authorize_url(client_id, scope, &[]);
        let back = self
            .authorize(&browser, &url, "alice", None)
            .await
            .redirect();
        (query_param(&back, "code").expect("code"), verifier)
    }

    /// Exchanges a code for tokens as the public client `client_id`.
    pub async fn redeem(&self, client_id: &str, code: &str, verifier: &str) -> serde_json::Value {
        let (status, _, body) = self
            .token_request(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", verifier),
                    ("client_id", client_id),
                ],
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Refreshes as the public client `client_id`; returns (status, body).
    pub async fn refresh(&self, client_id: &str, token: &str) -> (u16, serde_json::Value) {
        let (status, _, body) = self
            .token_request(
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token),
                    ("client_id", client_id),
                ],
                None,
            )
            .await;
        (status, body)
    }

    /// Follows the server's own redirects (relative Locations) until one leaves the self.
    pub async fn follow(
        &self,
        browser: &reqwest::Client,
        mut url: String,
    ) -> (reqwest::Response, String) {
        loop {
            let response = browser.get(&url).send().await.expect("get");
            if !response.status().is_redirection() {
                return (response, url);
            }
            let next = location(&response);
            if next.starts_with('/') {
                url = self.url(&next);
            } else if next.starts_with(&format!("{}/authorize", self.issuer)) {
                url = next;
            } else {
                return (response, next);
            }
        }
    }

    /// Signs in on the sign-in page this response shows.
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        page: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        browser
            .post(self.url("/login"))
            .form(&[
                ("csrf", hidden(page, "csrf")),
                ("request", hidden(page, "request")),
                ("username", username.to_owned()),
                ("password", password.to_owned()),
            ])
            .send()
            .await
            .expect("sign in")
    }

    /// Like `authorize`, choosing these sensitivity categories (by id) on the consent page.
    pub async fn authorize_with(
        &self,
        browser: &reqwest::Client,
        authorize_url: &str,
        username: &str,
        keep: Option<&[&str]>,
        categories: &[&str],
    ) -> Outcome {
        let (mut response, mut url) = self.follow(browser, authorize_url.to_owned()).await;
        loop {
            if response.status().is_redirection() {
                return Outcome::Redirected(url);
            }
            let status = response.status().as_u16();
            let body = response.text().await.expect("body");
            if url.contains("/login") && body.contains("name=\"password\"") {
                let r = self.sign_in(browser, &body, username, PASSWORD).await;
                assert_eq!(r.status().as_u16(), 303, "sign-in should redirect");
                let (r2, u2) = self.follow(browser, self.url(&location(&r))).await;
                response = r2;
                url = u2;
                continue;
            }
            if url.contains("/consent") && body.contains("name=\"decision\"") {
                let mut form = vec![
                    ("csrf".to_owned(), hidden(&body, "csrf")),
                    ("request".to_owned(), hidden(&body, "request")),
                    ("decision".to_owned(), "allow".to_owned()),
                ];
                for scope in scope_boxes(&body) {
                    if keep.is_none_or(|k| k.contains(&scope.as_str())) {
                        form.push(("scope".to_owned(), scope));
                    }
                }
                for category in categories {
                    form.push(("category".to_owned(), (*category).to_owned()));
                }
                let r = browser
                    .post(self.url("/consent"))
                    .form(&form)
                    .send()
                    .await
                    .expect("consent");
                assert_eq!(r.status().as_u16(), 303, "consent should redirect");
                return Outcome::Redirected(location(&r));
            }
            return Outcome::Page(status, body);
        }
    }

    /// Walks authorize -> sign-in (if shown) -> consent (if shown, granting `keep` or all
    /// ticked scopes) -> back to the client.
    pub async fn authorize(
        &self,
        browser: &reqwest::Client,
        authorize_url: &str,
        username: &str,
        keep: Option<&[&str]>,
    ) -> Outcome {
        self.authorize_with(browser, authorize_url, username, keep, &[])
            .await
    }

    /// Starts an authorization in `browser`, signs in as `username` on the sign-in page, and
    /// returns the page that comes next (consent, or the picker) with its URL.
    pub async fn page_after_sign_in(
        &self,
        browser: &reqwest::Client,
        authorize_url: String,
        username: &str,
    ) -> (String, String) {
        let (response, page_url) = self.follow(browser, authorize_url).await;
        assert!(
            page_url.contains("/login"),
            "expected the sign-in page, got {page_url}"
        );
        let login = response.text().await.expect("sign-in page");
        let r = self.sign_in(browser, &login, username, PASSWORD).await;
        let (response, next_url) = self.follow(browser, self.url(&location(&r))).await;
        (response.text().await.expect("page"), next_url)
    }
}

/// A form POST being built: credentials and headers, then `send`.
pub struct FormPost {
    request: reqwest::RequestBuilder,
}

/// What a protocol endpoint answered: status, headers and JSON body (`Null` when empty).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl FormPost {
    pub fn basic(self, client_id: &str, secret: &str) -> FormPost {
        FormPost {
            request: self.request.basic_auth(client_id, Some(secret)),
        }
    }

    pub fn header(self, name: &str, value: &str) -> FormPost {
        FormPost {
            request: self.request.header(name, value),
        }
    }

    pub async fn send(self) -> Answer {
        let response = self.request.send().await.expect("form POST");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        Answer {
            status,
            headers,
            body,
        }
    }
}

//! Configuration: defaults, then an optional TOML file, then `CLEARANCE_*` environment
//! variables, then command-line flags. Validated once at start; invalid settings stop the
//! start with a message that names the setting (fail fast, no globals).

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use url::Url;

use crate::labels::categories::{self, Category, default_categories};
use crate::smart_style;

/// Every setting, after layering. Durations are whole seconds.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The issuer identifier (OIDC Discovery §3): scheme, host, optional port and path, no
    /// query or fragment, no trailing slash.
    pub issuer: String,
    pub database_url: String,
    /// FHIR base URLs a token may be issued for (`aud` / `resource`). Default `<issuer>/fhir`.
    pub fhir_base_urls: Vec<String>,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub code_ttl: i64,
    pub refresh_token_ttl: i64,
    pub session_ttl: i64,
    /// How long a started authorization request may wait for sign-in and consent.
    pub authorization_request_ttl: i64,
    /// How often each instance re-reads the signing keys from the database.
    pub key_reload_seconds: u64,
    pub database_max_connections: u32,
    /// Seconds a request waits for a database connection before failing with 503.
    pub database_acquire_timeout: u64,
    /// How many times the start tries to reach PostgreSQL (pauses double from 0.5 s to 10 s).
    pub database_connect_attempts: u32,
    /// The patient-facing sensitivity categories of the consent page.
    pub categories: Vec<Category>,
    /// Who may use dynamic client registration (RFC 7591).
    pub registration: RegistrationPolicy,
    /// Days the audit trail is kept. Default six years, the retention HIPAA asks of
    /// security documentation (45 CFR 164.316(b)(2)).
    pub audit_retention_days: i64,
    /// The SMART Style JSON given to EHR-launched apps (`smart_style_url`): the operator's
    /// (the EHR's own) or, by default, Clearance's `/smart-style.json`.
    pub smart_style_url: String,
    /// The longest a browser sign-in lasts, however active (seconds after the password).
    pub session_absolute_ttl: i64,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// How long a rotated key is published before it signs: longer than a resource server
    /// can go without seeing it (reload on other instances + JWKS max-age + a refetch pause).
    pub key_activation_seconds: i64,
    /// Let dynamically registered clients' `jwks_uri` name loopback, private or link-local
    /// addresses (development only; an SSRF risk otherwise).
    pub jwks_uri_allow_private: bool,
    /// Demo mode: seeds demo data and enables the `/demo` relying party pages.
    pub demo: bool,
}

/// `Cache-Control: max-age` of the JWKS document.
pub const JWKS_MAX_AGE: i64 = 60;
/// How long common JWKS clients (PyJWT's PyJWKClient, jose's remote key set) wait before
/// they refetch a key set on an unknown `kid`.
pub const JWKS_REFETCH_PAUSE: i64 = 30;

/// Dynamic client registration (RFC 7591 §3): open to anyone (demo, development), behind an
/// initial access token the operator issues (the default), or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationPolicy {
    Open,
    InitialAccessToken,
    Closed,
}

/// The part of the configuration an operator may set. Every field is optional: what is
/// absent keeps the value of the layer below.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub database_url: Option<String>,
    pub fhir_base_urls: Option<Vec<String>>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub code_ttl: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub session_ttl: Option<i64>,
    pub authorization_request_ttl: Option<i64>,
    pub key_reload_seconds: Option<u64>,
    pub database_max_connections: Option<u32>,
    pub database_acquire_timeout: Option<u64>,
    pub database_connect_attempts: Option<u32>,
    pub categories: Option<Vec<Category>>,
    /// `open`, `token` (an initial access token from `clearance client token`) or `closed`.
    pub registration: Option<String>,
    /// An absolute http(s) URL of the EHR's SMART Style JSON.
    pub smart_style_url: Option<String>,
    pub audit_retention_days: Option<i64>,
    pub session_absolute_ttl: Option<i64>,
    pub metrics_token: Option<String>,
    pub key_activation_seconds: Option<i64>,
    pub jwks_uri_allow_private: Option<bool>,
}

/// A configuration problem, worded for the operator.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// The values read from a TOML file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }

    /// The values set in `CLEARANCE_*` environment variables, read through `lookup` so tests
    /// need not touch the process environment.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        fn number<T: std::str::FromStr>(
            lookup: &impl Fn(&str) -> Option<String>,
            name: &str,
        ) -> Result<Option<T>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(v) => {
                    v.trim().parse().map(Some).map_err(|_| {
                        ConfigError(format!("{name} must be a whole number, got {v:?}"))
                    })
                }
            }
        }
        Ok(Settings {
            listen: lookup("CLEARANCE_LISTEN"),
            issuer: lookup("CLEARANCE_ISSUER"),
            database_url: lookup("CLEARANCE_DATABASE_URL"),
            fhir_base_urls: lookup("CLEARANCE_FHIR_BASE_URLS").map(|v| {
                v.split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            access_token_ttl: number(&lookup, "CLEARANCE_ACCESS_TOKEN_TTL")?,
            id_token_ttl: number(&lookup, "CLEARANCE_ID_TOKEN_TTL")?,
            code_ttl: number(&lookup, "CLEARANCE_CODE_TTL")?,
            refresh_token_ttl: number(&lookup, "CLEARANCE_REFRESH_TOKEN_TTL")?,
            session_ttl: number(&lookup, "CLEARANCE_SESSION_TTL")?,
            authorization_request_ttl: number(&lookup, "CLEARANCE_AUTHORIZATION_REQUEST_TTL")?,
            key_reload_seconds: number(&lookup, "CLEARANCE_KEY_RELOAD_SECONDS")?,
            database_max_connections: number(&lookup, "CLEARANCE_DATABASE_MAX_CONNECTIONS")?,
            database_acquire_timeout: number(&lookup, "CLEARANCE_DATABASE_ACQUIRE_TIMEOUT")?,
            database_connect_attempts: number(&lookup, "CLEARANCE_DATABASE_CONNECT_ATTEMPTS")?,
            // Categories are structured; they are set in the TOML file only.
            categories: None,
            registration: lookup("CLEARANCE_REGISTRATION"),
            smart_style_url: lookup("CLEARANCE_SMART_STYLE_URL"),
            audit_retention_days: number(&lookup, "CLEARANCE_AUDIT_RETENTION_DAYS")?,
            session_absolute_ttl: number(&lookup, "CLEARANCE_SESSION_ABSOLUTE_TTL")?,
            metrics_token: lookup("CLEARANCE_METRICS_TOKEN"),
            key_activation_seconds: number(&lookup, "CLEARANCE_KEY_ACTIVATION_SECONDS")?,
            jwks_uri_allow_private: match lookup("CLEARANCE_JWKS_URI_ALLOW_PRIVATE").as_deref() {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(other) => {
                    return Err(ConfigError(format!(
                        "CLEARANCE_JWKS_URI_ALLOW_PRIVATE must be true or false, got {other:?}"
                    )));
                }
            },
        })
    }

    /// `self` with every value that `over` sets replaced.
    pub fn overlay(self, over: Settings) -> Settings {
        Settings {
            listen: over.listen.or(self.listen),
            issuer: over.issuer.or(self.issuer),
            database_url: over.database_url.or(self.database_url),
            fhir_base_urls: over.fhir_base_urls.or(self.fhir_base_urls),
            access_token_ttl: over.access_token_ttl.or(self.access_token_ttl),
            id_token_ttl: over.id_token_ttl.or(self.id_token_ttl),
            code_ttl: over.code_ttl.or(self.code_ttl),
            refresh_token_ttl: over.refresh_token_ttl.or(self.refresh_token_ttl),
            session_ttl: over.session_ttl.or(self.session_ttl),
            authorization_request_ttl: over
                .authorization_request_ttl
                .or(self.authorization_request_ttl),
            key_reload_seconds: over.key_reload_seconds.or(self.key_reload_seconds),
            database_max_connections: over
                .database_max_connections
                .or(self.database_max_connections),
            database_acquire_timeout: over
                .database_acquire_timeout
                .or(self.database_acquire_timeout),
            database_connect_attempts: over
                .database_connect_attempts
                .or(self.database_connect_attempts),
            categories: over.categories.or(self.categories),
            registration: over.registration.or(self.registration),
            smart_style_url: over.smart_style_url.or(self.smart_style_url),
            audit_retention_days: over.audit_retention_days.or(self.audit_retention_days),
            session_absolute_ttl: over.session_absolute_ttl.or(self.session_absolute_ttl),
            metrics_token: over.metrics_token.or(self.metrics_token),
            key_activation_seconds: over.key_activation_seconds.or(self.key_activation_seconds),
            jwks_uri_allow_private: over.jwks_uri_allow_private.or(self.jwks_uri_allow_private),
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/clearance.db";

impl Config {
    /// Applies the defaults to the layered settings and validates the result.
    pub fn from_settings(s: Settings) -> Result<Config, ConfigError> {
        let listen_text = s.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError(format!(
                "listen must be an address and port such as 127.0.0.1:8080, got {listen_text:?}"
            ))
        })?;
        let issuer = match s.issuer {
            Some(i) => i,
            None => format!("http://{listen}"),
        };
        let issuer = validate_issuer(&issuer)?;
        let database_url = s
            .database_url
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError(format!(
                "database_url must start with sqlite: or postgres://, got {database_url:?}"
            )));
        }
        let fhir_base_urls = s
            .fhir_base_urls
            .unwrap_or_else(|| vec![format!("{issuer}/fhir")]);
        if fhir_base_urls.is_empty() {
            return Err(ConfigError(
                "fhir_base_urls must name at least one URL".into(),
            ));
        }
        for base in &fhir_base_urls {
            let url = Url::parse(base)
                .map_err(|e| ConfigError(format!("fhir_base_urls: {base:?} is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
                return Err(ConfigError(format!(
                    "fhir_base_urls: {base:?} must be an http(s) URL without a fragment"
                )));
            }
        }
        let smart_style_url = match s.smart_style_url {
            Some(url) => {
                let parsed = Url::parse(&url).map_err(|e| {
                    ConfigError(format!("smart_style_url {url:?} is not a URL: {e}"))
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(ConfigError(format!(
                        "smart_style_url {url:?} must be an http(s) URL"
                    )));
                }
                url
            }
            None => smart_style::default_url(&issuer),
        };
        let config = Config {
            listen,
            issuer,
            database_url,
            fhir_base_urls,
            access_token_ttl: s.access_token_ttl.unwrap_or(300),
            id_token_ttl: s.id_token_ttl.unwrap_or(300),
            code_ttl: s.code_ttl.unwrap_or(60),
            refresh_token_ttl: s.refresh_token_ttl.unwrap_or(30 * 24 * 3600),
            session_ttl: s.session_ttl.unwrap_or(8 * 3600),
            authorization_request_ttl: s.authorization_request_ttl.unwrap_or(30 * 60),
            key_reload_seconds: s.key_reload_seconds.unwrap_or(30),
            database_max_connections: s.database_max_connections.unwrap_or(10),
            database_acquire_timeout: s.database_acquire_timeout.unwrap_or(5),
            database_connect_attempts: s.database_connect_attempts.unwrap_or(10),
            categories: s.categories.unwrap_or_else(default_categories),
            registration: match s.registration.as_deref().unwrap_or("token") {
                "open" => RegistrationPolicy::Open,
                "token" => RegistrationPolicy::InitialAccessToken,
                "closed" => RegistrationPolicy::Closed,
                other => {
                    return Err(ConfigError(format!(
                        "registration must be open, token or closed, got {other:?}"
                    )));
                }
            },
            smart_style_url,
            audit_retention_days: s.audit_retention_days.unwrap_or(6 * 365),
            session_absolute_ttl: s.session_absolute_ttl.unwrap_or(24 * 3600),
            metrics_token: match s.metrics_token {
                Some(t) if t.len() < 16 => {
                    return Err(ConfigError(
                        "metrics_token must be at least 16 characters".into(),
                    ));
                }
                other => other,
            },
            key_activation_seconds: s
                .key_activation_seconds
                .unwrap_or_else(|| minimum_key_activation(s.key_reload_seconds.unwrap_or(30))),
            jwks_uri_allow_private: s.jwks_uri_allow_private.unwrap_or(false),
            demo: false,
        };
        categories::validate(&config.categories)
            .map_err(|e| ConfigError(format!("categories: {e}")))?;
        config.validate_lifetimes()?;
        Ok(config)
    }

    fn validate_lifetimes(&self) -> Result<(), ConfigError> {
        let positive = [
            ("access_token_ttl", self.access_token_ttl),
            ("id_token_ttl", self.id_token_ttl),
            ("code_ttl", self.code_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
            ("session_ttl", self.session_ttl),
            ("authorization_request_ttl", self.authorization_request_ttl),
            ("audit_retention_days", self.audit_retention_days),
            ("session_absolute_ttl", self.session_absolute_ttl),
        ];
        for (name, value) in positive {
            if value <= 0 {
                return Err(ConfigError(format!("{name} must be positive, got {value}")));
            }
        }
        // SMART App Launch §"Obtain access token": access tokens SHOULD live at most an hour.
        if self.access_token_ttl > 3600 {
            return Err(ConfigError(
                "access_token_ttl must be at most 3600 seconds".into(),
            ));
        }
        // RFC 6749 §4.1.2: a code lives at most ten minutes.
        if self.code_ttl > 600 {
            return Err(ConfigError("code_ttl must be at most 600 seconds".into()));
        }
        if self.refresh_token_ttl < self.access_token_ttl {
            return Err(ConfigError(
                "refresh_token_ttl must not be shorter than access_token_ttl".into(),
            ));
        }
        let minimum = minimum_key_activation(self.key_reload_seconds);
        if self.key_activation_seconds < minimum {
            return Err(ConfigError(format!(
                "key_activation_seconds must be at least {minimum} (key_reload_seconds + the JWKS max-age of {JWKS_MAX_AGE} s + {JWKS_REFETCH_PAUSE} s), so that resource servers know a key before it signs"
            )));
        }
        if self.key_reload_seconds == 0
            || self.database_max_connections == 0
            || self.database_acquire_timeout == 0
            || self.database_connect_attempts == 0
        {
            return Err(ConfigError(
                "key_reload_seconds and the database_* settings must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Is the browser sign-in made at `auth_time` still within its absolute lifetime?
    pub fn sign_in_lasts(&self, auth_time: i64, now: i64) -> bool {
        now - auth_time < self.session_absolute_ttl
    }

    /// The longest time a token signed now stays valid: how long a retired key stays
    /// published in the JWKS.
    pub fn longest_token_lifetime(&self) -> i64 {
        self.access_token_ttl.max(self.id_token_ttl)
    }

    /// Cookies get `Secure` when the issuer is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Is `url` one of the configured FHIR base URLs (a trailing slash does not matter)?
    pub fn is_fhir_base(&self, url: &str) -> bool {
        self.fhir_base(url).is_some()
    }

    /// The configured spelling of the FHIR base `url` names (a trailing slash does not
    /// matter): what tokens carry as `aud`, since resource servers compare it exactly.
    pub fn fhir_base(&self, url: &str) -> Option<&str> {
        self.fhir_base_urls
            .iter()
            .find(|base| base.trim_end_matches('/') == url.trim_end_matches('/'))
            .map(String::as_str)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The shortest safe delay between publishing a rotated key and signing with it: every
/// instance has reloaded it, every cached JWKS has expired, and a resource server that met
/// the new `kid` early has been allowed to refetch.
fn minimum_key_activation(key_reload_seconds: u64) -> i64 {
    key_reload_seconds as i64 + JWKS_MAX_AGE + JWKS_REFETCH_PAUSE
}

/// OIDC Discovery §3: `issuer` is an https URL with no query or fragment. Plain http is
/// allowed on loopback and for development; a trailing slash is removed so that endpoint
/// URLs join cleanly and the `iss` claim matches the discovery document byte for byte.
fn validate_issuer(issuer: &str) -> Result<String, ConfigError> {
    let url = Url::parse(issuer)
        .map_err(|e| ConfigError(format!("issuer {issuer:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError(format!(
            "issuer {issuer:?} must use https (or http)"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError(format!(
            "issuer {issuer:?} must not have a query or fragment"
        )));
    }
    if url.host_str().is_none() {
        return Err(ConfigError(format!("issuer {issuer:?} has no host")));
    }
    Ok(issuer.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn defaults_match_the_product_brief() {
        let c = Config::from_settings(Settings::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://data/clearance.db");
        assert_eq!(c.fhir_base_urls, vec!["http://127.0.0.1:8080/fhir"]);
        assert!(
            c.smart_style_url
                .starts_with("http://127.0.0.1:8080/smart-style.json?v=")
        );
        let ehr = Settings::from_env(env(&[(
            "CLEARANCE_SMART_STYLE_URL",
            "https://ehr.example/style.json",
        )]))
        .unwrap();
        let c = Config::from_settings(ehr).unwrap();
        assert_eq!(c.smart_style_url, "https://ehr.example/style.json");
    }

    #[test]
    fn later_layers_win() {
        let file: Settings =
            toml::from_str("listen = \"127.0.0.1:9000\"\naccess_token_ttl = 120").unwrap();
        let from_env = Settings::from_env(env(&[("CLEARANCE_LISTEN", "127.0.0.1:9100")])).unwrap();
        let flags = Settings {
            issuer: Some("https://auth.example.org/".into()),
            ..Settings::default()
        };
        let c = Config::from_settings(
            Settings::default()
                .overlay(file)
                .overlay(from_env)
                .overlay(flags),
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.access_token_ttl, 120);
        assert_eq!(c.issuer, "https://auth.example.org");
        assert!(c.secure_cookies());
    }

    #[test]
    fn invalid_settings_are_refused_with_the_setting_named() {
        let bad = [
            Settings {
                listen: Some("nowhere".into()),
                ..Default::default()
            },
            Settings {
                issuer: Some("ftp://x".into()),
                ..Default::default()
            },
            Settings {
                issuer: Some("https://x/?a=b".into()),
                ..Default::default()
            },
            Settings {
                database_url: Some("mysql://x".into()),
                ..Default::default()
            },
            Settings {
                code_ttl: Some(3600),
                ..Default::default()
            },
            Settings {
                access_token_ttl: Some(0),
                ..Default::default()
            },
            Settings {
                smart_style_url: Some("javascript:alert(1)".into()),
                ..Default::default()
            },
        ];
        for s in bad {
            assert!(Config::from_settings(s).is_err());
        }
        assert!(Settings::from_env(env(&[("CLEARANCE_CODE_TTL", "soon")])).is_err());
        assert!(toml::from_str::<Settings>("no_such_setting = 1").is_err());
    }
}

//! Configuration: defaults, then (for `clearance demo`) the demo preset, then an optional TOML
//! file, then `CLEARANCE_*` environment variables, then command-line flags. Each setting is
//! declared once, in `settings!` below. Validated once at start; invalid settings stop the
//! start with a message that names the setting (fail fast, no globals).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;
use url::Url;

use crate::labels::categories::{self, Category, default_categories};
use crate::smart_style;

/// Declares every setting once: its name (the TOML key; `CLEARANCE_<NAME>` in the
/// environment), its type and, for a plain setting, its default. From that one line come
/// the optional field of [`Settings`] (a layer), its environment lookup, its overlay and the
/// field of [`Config`]. A derived setting's default and checks depend on other settings; its
/// value is worked out in [`Config::from_settings`].
macro_rules! settings {
    (
        plain { $( $(#[doc = $pdoc:literal])* $plain:ident : $pty:ty = $default:expr ),* $(,)? }
        derived { $( $(#[doc = $ddoc:literal])* $derived:ident : $raw:ty => $resolved:ty ),* $(,)? }
    ) => {
        /// Every setting, after layering and defaults. Durations are whole seconds.
        #[derive(Debug, Clone)]
        pub struct Config {
            $( $(#[doc = $pdoc])* pub $plain: $pty, )*
            $( $(#[doc = $ddoc])* pub $derived: $resolved, )*
            /// Demo mode: seeds demo data and enables the `/demo` relying party pages.
            pub demo: bool,
        }

        /// One layer of settings (the defaults, the demo preset, a TOML file, the
        /// environment, the command line). What a layer leaves out keeps the value of the
        /// layer below.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $( pub $plain: Option<$pty>, )*
            $( pub $derived: Option<$raw>, )*
        }

        /// The derived settings, resolved and checked.
        struct Derived {
            $( $derived: $resolved, )*
        }

        impl Settings {
            /// The values set in `CLEARANCE_*` environment variables, read through `lookup`
            /// so tests need not touch the process environment.
            pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
                Ok(Settings {
                    $( $plain: from_env_var(&lookup, stringify!($plain))?, )*
                    $( $derived: from_env_var(&lookup, stringify!($derived))?, )*
                })
            }

            /// `self` with every value that `over` sets replaced.
            pub fn overlay(self, over: Settings) -> Settings {
                Settings {
                    $( $plain: over.$plain.or(self.$plain), )*
                    $( $derived: over.$derived.or(self.$derived), )*
                }
            }
        }

        impl Config {
            fn assemble(s: Settings, derived: Derived) -> Config {
                Config {
                    $( $plain: s.$plain.unwrap_or_else(|| $default), )*
                    $( $derived: derived.$derived, )*
                    demo: false,
                }
            }
        }
    };
}

settings! {
    plain {
        access_token_ttl: i64 = 300,
        id_token_ttl: i64 = 300,
        code_ttl: i64 = 60,
        refresh_token_ttl: i64 = 30 * 24 * 3600,
        session_ttl: i64 = 8 * 3600,
        /// How long a started authorization request may wait for sign-in and consent.
        authorization_request_ttl: i64 = 30 * 60,
        /// How often each instance re-reads the signing keys from the database.
        key_reload_seconds: u64 = DEFAULT_KEY_RELOAD_SECONDS,
        database_max_connections: u32 = 10,
        /// Seconds a request waits for a database connection before failing with 503.
        database_acquire_timeout: u64 = 5,
        /// How many times the start tries to reach PostgreSQL (pauses double from 0.5 s to 10 s).
        database_connect_attempts: u32 = 10,
        /// The patient-facing sensitivity categories of the consent page.
        categories: Vec<Category> = default_categories(),
        /// Days the audit trail is kept. Default six years, the retention HIPAA asks of
        /// security documentation (45 CFR 164.316(b)(2)).
        audit_retention_days: i64 = 6 * 365,
        /// The longest a browser sign-in lasts, however active (seconds after the password).
        session_absolute_ttl: i64 = 24 * 3600,
        /// Let dynamically registered clients' `jwks_uri` name loopback, private or
        /// link-local addresses (development only; an SSRF risk otherwise).
        jwks_uri_allow_private: bool = false,
    }
    derived {
        /// The address and port to listen on. Default 127.0.0.1:8080.
        listen: String => SocketAddr,
        /// The issuer identifier (OIDC Discovery §3): scheme, host, optional port and path,
        /// no query or fragment, no trailing slash. Default `http://<listen>`.
        issuer: String => String,
        /// `sqlite:...` (default `sqlite://data/clearance.db`) or `postgres://...`.
        database_url: String => String,
        /// FHIR base URLs a token may be issued for (`aud` / `resource`). Default
        /// `<issuer>/fhir`.
        fhir_base_urls: Vec<String> => Vec<String>,
        /// Who may use dynamic client registration (RFC 7591): `open`, `token` (an initial
        /// access token from `clearance client token`, the default) or `closed`.
        registration: String => RegistrationPolicy,
        /// The SMART Style JSON given to EHR-launched apps (`smart_style_url`): the
        /// operator's (the EHR's own) or, by default, Clearance's `/smart-style.json`.
        smart_style_url: String => String,
        /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
        metrics_token: String => Option<String>,
        /// How long a rotated key is published before it signs: longer than a resource
        /// server can go without seeing it (reload on other instances + JWKS max-age + a
        /// refetch pause).
        key_activation_seconds: i64 => i64,
        /// The FHIR server the gateway serves at the first FHIR base (`fhir_base_urls[0]`,
        /// which must then live on the issuer's origin). None: no gateway; that base answers
        /// 404 but for its SMART discovery.
        fhir_upstream: String => Option<String>,
        /// The gateway's own credential at its upstream, sent as `Authorization: Bearer`
        /// (16 characters or more). None: the gateway sends no credential. The client's
        /// token never goes upstream.
        fhir_upstream_token: String => Option<String>,
        /// More FHIR bases, each with its own upstream: a TOML table `[fhir_upstreams]` of
        /// `"<base>" = "<upstream>"` (env: a JSON object). Each base must be one of
        /// `fhir_base_urls`, on the issuer's origin.
        fhir_upstreams: BTreeMap<String, String> => Vec<(String, String)>,
    }
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

/// A configuration problem, worded for the operator.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// How an environment variable's text becomes a setting's value.
trait FromEnv: Sized {
    fn from_env(text: &str) -> Result<Self, String>;
}

impl FromEnv for String {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

macro_rules! whole_numbers_from_env {
    ($($t:ty),*) => {$(
        impl FromEnv for $t {
            fn from_env(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|_| "must be a whole number".to_owned())
            }
        }
    )*};
}
whole_numbers_from_env!(i64, u64, u32);

impl FromEnv for bool {
    fn from_env(text: &str) -> Result<Self, String> {
        match text.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("must be true or false".to_owned()),
        }
    }
}

/// A list: values separated by commas or spaces.
impl FromEnv for Vec<String> {
    fn from_env(text: &str) -> Result<Self, String> {
        Ok(text
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// A table: a JSON object of strings.
impl FromEnv for BTreeMap<String, String> {
    fn from_env(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("must be a JSON object of strings: {e}"))
    }
}

/// Categories are structured: a JSON array of the objects the TOML file would hold.
impl FromEnv for Vec<Category> {
    fn from_env(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("must be a JSON array of categories: {e}"))
    }
}

fn from_env_var<T: FromEnv>(
    lookup: &impl Fn(&str) -> Option<String>,
    setting: &str,
) -> Result<Option<T>, ConfigError> {
    let name = format!("CLEARANCE_{}", setting.to_ascii_uppercase());
    match lookup(&name) {
        None => Ok(None),
        Some(text) => T::from_env(&text)
            .map(Some)
            .map_err(|problem| ConfigError(format!("{name} {problem}, got {text:?}"))),
    }
}

impl Settings {
    /// The values read from a TOML file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }

    /// The demo's preset, a layer just above the defaults: anyone may register an app (the
    /// demo is for trying things). A file, the environment or a flag still decide.
    pub fn demo_preset() -> Settings {
        Settings {
            registration: Some("open".into()),
            ..Settings::default()
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/clearance.db";
pub const DEFAULT_KEY_RELOAD_SECONDS: u64 = 30;

impl Config {
    /// Applies the defaults to the layered settings, works out the derived settings and
    /// validates the result.
    pub fn from_settings(s: Settings) -> Result<Config, ConfigError> {
        let derived = Derived::resolve(&s)?;
        let config = Config::assemble(s, derived);
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

    /// Every FHIR base the gateway serves beside this server, with its upstream: the first
    /// base with `fhir_upstream`, then `fhir_upstreams`.
    pub fn gateways(&self) -> Vec<(&str, &str)> {
        let first = self
            .fhir_upstream
            .as_deref()
            .zip(self.fhir_base_urls.first())
            .map(|(upstream, base)| (base.as_str(), upstream));
        first
            .into_iter()
            .chain(
                self.fhir_upstreams
                    .iter()
                    .map(|(b, u)| (b.as_str(), u.as_str())),
            )
            .collect()
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

impl Derived {
    fn resolve(s: &Settings) -> Result<Derived, ConfigError> {
        let listen_text = s.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError(format!(
                "listen must be an address and port such as 127.0.0.1:8080, got {listen_text:?}"
            ))
        })?;
        let issuer = match &s.issuer {
            Some(i) => validate_issuer(i)?,
            None => validate_issuer(&format!("http://{listen}"))?,
        };
        let database_url = s
            .database_url
            .clone()
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
            .clone()
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
        let smart_style_url = match &s.smart_style_url {
            Some(url) => {
                let parsed = Url::parse(url).map_err(|e| {
                    ConfigError(format!("smart_style_url {url:?} is not a URL: {e}"))
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(ConfigError(format!(
                        "smart_style_url {url:?} must be an http(s) URL"
                    )));
                }
                url.clone()
            }
            None => smart_style::default_url(&issuer),
        };
        let registration = match s.registration.as_deref().unwrap_or("token") {
            "open" => RegistrationPolicy::Open,
            "token" => RegistrationPolicy::InitialAccessToken,
            "closed" => RegistrationPolicy::Closed,
            other => {
                return Err(ConfigError(format!(
                    "registration must be open, token or closed, got {other:?}"
                )));
            }
        };
        let metrics_token = match &s.metrics_token {
            Some(t) if t.len() < 16 => {
                return Err(ConfigError(
                    "metrics_token must be at least 16 characters".into(),
                ));
            }
            other => other.clone(),
        };
        let key_activation_seconds = s.key_activation_seconds.unwrap_or_else(|| {
            minimum_key_activation(s.key_reload_seconds.unwrap_or(DEFAULT_KEY_RELOAD_SECONDS))
        });
        let fhir_upstream = match &s.fhir_upstream {
            None => None,
            Some(upstream) => {
                let url = Url::parse(upstream).map_err(|e| {
                    ConfigError(format!("fhir_upstream {upstream:?} is not a URL: {e}"))
                })?;
                if !matches!(url.scheme(), "http" | "https")
                    || url.query().is_some()
                    || url.fragment().is_some()
                {
                    return Err(ConfigError(format!(
                        "fhir_upstream {upstream:?} must be an http(s) URL without query or fragment"
                    )));
                }
                if !same_origin(&issuer, &fhir_base_urls[0]) {
                    return Err(ConfigError(format!(
                        "fhir_upstream: the gateway serves the first FHIR base, {:?}, which must be on the issuer's origin",
                        fhir_base_urls[0]
                    )));
                }
                Some(upstream.trim_end_matches('/').to_owned())
            }
        };
        let fhir_upstream_token = match &s.fhir_upstream_token {
            Some(t) if t.len() < 16 => {
                return Err(ConfigError(
                    "fhir_upstream_token must be at least 16 characters".into(),
                ));
            }
            other => other.clone(),
        };
        let mut fhir_upstreams = Vec::new();
        for (base, upstream) in s.fhir_upstreams.iter().flatten() {
            let base = fhir_base_urls
                .iter()
                .find(|b| b.trim_end_matches('/') == base.trim_end_matches('/'))
                .ok_or_else(|| {
                    ConfigError(format!(
                        "fhir_upstreams: {base:?} is not one of fhir_base_urls"
                    ))
                })?;
            if fhir_upstream.is_some() && *base == fhir_base_urls[0] {
                return Err(ConfigError(format!(
                    "fhir_upstreams: {base:?} already has fhir_upstream"
                )));
            }
            let has_path =
                Url::parse(base).is_ok_and(|b| !b.path().trim_end_matches('/').is_empty());
            let on_issuer = same_origin(base, &issuer) && has_path;
            if !on_issuer {
                return Err(ConfigError(format!(
                    "fhir_upstreams: {base:?} must be on the issuer's origin, with a path"
                )));
            }
            match Url::parse(upstream) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => {}
                _ => {
                    return Err(ConfigError(format!(
                        "fhir_upstreams: {upstream:?} must be an http(s) URL without a query"
                    )));
                }
            }
            fhir_upstreams.push((base.clone(), upstream.trim_end_matches('/').to_owned()));
        }
        Ok(Derived {
            fhir_upstreams,
            fhir_upstream,
            fhir_upstream_token,
            listen,
            issuer,
            database_url,
            fhir_base_urls,
            registration,
            smart_style_url,
            metrics_token,
            key_activation_seconds,
        })
    }
}

/// Do two URLs share scheme, host and port (both parsed)? The gateway serves only FHIR bases
/// on the issuer's own origin.
pub fn same_origin(a: &str, b: &str) -> bool {
    matches!((Url::parse(a), Url::parse(b)), (Ok(a), Ok(b)) if a.origin() == b.origin())
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

    #[test]
    fn the_demo_preset_sits_below_the_file_the_environment_and_the_flags() {
        let demo = Config::from_settings(Settings::demo_preset()).unwrap();
        assert_eq!(demo.registration, RegistrationPolicy::Open);
        let file: Settings = toml::from_str("registration = \"token\"").unwrap();
        let c = Config::from_settings(Settings::demo_preset().overlay(file)).unwrap();
        assert_eq!(c.registration, RegistrationPolicy::InitialAccessToken);
        let closed = Settings::from_env(env(&[("CLEARANCE_REGISTRATION", "closed")])).unwrap();
        let c = Config::from_settings(Settings::demo_preset().overlay(closed)).unwrap();
        assert_eq!(c.registration, RegistrationPolicy::Closed);
    }

    #[test]
    fn settings_are_read_from_the_environment_by_their_names() {
        let s = Settings::from_env(env(&[
            ("CLEARANCE_JWKS_URI_ALLOW_PRIVATE", "true"),
            ("CLEARANCE_DATABASE_MAX_CONNECTIONS", "3"),
            (
                "CLEARANCE_FHIR_BASE_URLS",
                "https://a.example/fhir, https://b.example/r4",
            ),
            ("CLEARANCE_METRICS_TOKEN", "1234567890123456"),
        ]))
        .unwrap();
        let c = Config::from_settings(s).unwrap();
        assert!(c.jwks_uri_allow_private);
        assert_eq!(c.database_max_connections, 3);
        assert_eq!(
            c.fhir_base_urls,
            vec!["https://a.example/fhir", "https://b.example/r4"]
        );
        assert_eq!(c.metrics_token.as_deref(), Some("1234567890123456"));
        let bad = Settings::from_env(env(&[("CLEARANCE_JWKS_URI_ALLOW_PRIVATE", "maybe")]));
        assert!(
            bad.unwrap_err()
                .0
                .contains("CLEARANCE_JWKS_URI_ALLOW_PRIVATE")
        );
    }

    #[test]
    fn each_extra_fhir_base_names_its_own_upstream() {
        let base = |extra: &str| {
            toml::from_str::<Settings>(&format!(
                "issuer = \"https://as.example\"\nfhir_base_urls = [\"https://as.example/fhir\", \"https://as.example/clinic/\"]\n{extra}"
            ))
            .unwrap()
        };
        let c = Config::from_settings(base(
            "fhir_upstream = \"http://hapi:8080/fhir\"\n[fhir_upstreams]\n\"https://as.example/clinic\" = \"http://clinic:8080/r4/\"",
        ))
        .unwrap();
        assert_eq!(
            c.gateways(),
            [
                ("https://as.example/fhir", "http://hapi:8080/fhir"),
                ("https://as.example/clinic/", "http://clinic:8080/r4"),
            ]
        );
        for (label, extra) in [
            (
                "not a configured base",
                "[fhir_upstreams]\n\"https://as.example/other\" = \"http://x/fhir\"",
            ),
            (
                "twice for the first base",
                "fhir_upstream = \"http://a/fhir\"\n[fhir_upstreams]\n\"https://as.example/fhir\" = \"http://b/fhir\"",
            ),
            (
                "not a URL",
                "[fhir_upstreams]\n\"https://as.example/clinic\" = \"clinic\"",
            ),
        ] {
            assert!(Config::from_settings(base(extra)).is_err(), "{label}");
        }
    }
}

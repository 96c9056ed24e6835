//! The command line: `serve`, `demo`, and the operator's `user`, `client` and `keys`
//! commands, which act on the same database as `serve` (also while it runs).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

mod admin;

use clap::{Args, Parser, Subcommand};

use crate::app::{self, App};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Settings};
use crate::demo;
use crate::labels::Confidentiality;

#[derive(Parser)]
#[command(
    name = "clearance",
    version,
    about = "An OpenID Connect authorization server for FHIR APIs that issues label-aware tokens"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address to listen on (CLEARANCE_LISTEN).
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Issuer URL (CLEARANCE_ISSUER).
    #[arg(long, global = true)]
    issuer: Option<String>,
    /// sqlite://path or postgres://... (CLEARANCE_DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Run the server with demo users and a demo app, and print how to try it.
    Demo,
    /// Run the FHIR gateway alone, in front of a FHIR server: tokens checked with the
    /// issuer's JWKS and introspection (give the issuer with --issuer).
    Gateway(GatewayArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients (apps).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Show patients' consent decisions (grants).
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// The patient directory of the practitioner's patient picker.
    #[command(subcommand)]
    Patient(PatientCommand),
    /// Print the audit trail, newest first, as JSON: sign-ins, consents, tokens, refreshes,
    /// revocations, refused requests.
    Audit {
        /// Only the events of this user.
        #[arg(long)]
        username: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Args)]
struct GatewayArgs {
    /// The FHIR server's base URL.
    #[arg(long, env = "CLEARANCE_GATEWAY_UPSTREAM")]
    upstream: String,
    /// The public FHIR base this gateway serves, as tokens name it in `aud`. Default:
    /// <issuer>/fhir.
    #[arg(long, env = "CLEARANCE_GATEWAY_BASE")]
    base: Option<String>,
    /// The gateway's client id at the issuer: a confidential client registered with
    /// `clearance client add --confidential --resource-server <base>`.
    #[arg(long, env = "CLEARANCE_GATEWAY_CLIENT_ID")]
    client_id: String,
    /// That client's secret.
    #[arg(long, env = "CLEARANCE_GATEWAY_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    /// The gateway's own credential at the upstream, sent as a bearer token.
    #[arg(long, env = "CLEARANCE_GATEWAY_UPSTREAM_TOKEN", hide_env_values = true)]
    upstream_token: Option<String>,
    /// How long an introspection answer is reused: a revocation reaches this gateway
    /// within this many seconds.
    #[arg(
        long,
        env = "CLEARANCE_GATEWAY_INTROSPECTION_CACHE_SECONDS",
        default_value_t = 10
    )]
    introspection_cache_seconds: i64,
}

#[derive(Subcommand)]
enum PatientCommand {
    /// Add (or update) one patient.
    Add {
        /// The FHIR Patient id.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        birth_date: Option<String>,
        #[arg(long)]
        gender: Option<String>,
    },
    /// Import the Patient resources of a FHIR Bundle (JSON file, or - for standard input).
    Import { file: PathBuf },
    /// List patients, optionally those whose name contains --name.
    List {
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConsentCommand {
    /// List grants (newest first): id, user, app, scope, security claim, state.
    List {
        #[arg(long)]
        username: Option<String>,
    },
    /// Print one grant as a FHIR R4 Consent resource (JSON).
    Show {
        /// The grant id. One beginning with `-` (issued by an earlier version) is accepted.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. Without --password-stdin a random password is generated and printed.
    Add(UserAdd),
    List,
    Remove {
        #[arg(long)]
        username: String,
    },
}

#[derive(Args)]
struct UserAdd {
    #[arg(long)]
    username: String,
    /// The user's FHIR resource, e.g. Patient/123.
    #[arg(long)]
    fhir_user: Option<String>,
    #[arg(long, default_value = "patient", value_parser = ["patient", "practitioner"])]
    role: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// The highest confidentiality this user's grants may carry (U, L, M, N, R, V); for
    /// practitioners. Without it: no limit.
    #[arg(long, value_parser = parse_confidentiality)]
    clearance: Option<Confidentiality>,
    /// A sensitivity category id (e.g. mental-health) or ActCode code (e.g. ETHUD) the
    /// clearance covers; repeat for several. Without it: no limit.
    #[arg(long = "clearance-sensitivity")]
    clearance_sensitivity: Vec<String>,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client and print it as JSON (with client_secret when one is issued).
    Add(ClientAdd),
    List,
    Remove {
        /// The client to act on. An identifier beginning with `-` (issued by an earlier version) is accepted.
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
    },
    /// Pre-authorize system/ scopes for a backend service (none given: withdraw them).
    SystemScopes {
        /// The client to act on. An identifier beginning with `-` (issued by an earlier version) is accepted.
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
        #[arg(long = "system-scope")]
        system_scopes: Vec<String>,
    },
    /// Issue a new client secret; the old one stops working at once.
    RotateSecret {
        /// The client to act on. An identifier beginning with `-` (issued by an earlier version) is accepted.
        #[arg(long, allow_hyphen_values = true)]
        client_id: String,
    },
    /// Issue an initial access token for dynamic registration (RFC 7591 §3), single use.
    Token {
        /// Seconds until it expires.
        #[arg(long, default_value_t = 86400)]
        expires_in: i64,
    },
}

#[derive(Args)]
struct ClientAdd {
    #[arg(long)]
    name: String,
    /// A redirect URI; repeat for several. Compared as exact strings.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// A public client (browser or native app): no secret, PKCE only. The default.
    #[arg(long, conflicts_with = "confidential")]
    public: bool,
    /// A confidential client with a client secret.
    #[arg(long)]
    confidential: bool,
    /// A fixed client_id instead of a random one.
    #[arg(long)]
    client_id: Option<String>,
    /// The ID token signing algorithm.
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "RS384", "ES256", "ES384"])]
    id_token_alg: String,
    /// The label ceiling: the highest confidentiality the app may ever be granted (U, L, M,
    /// N, R, V). A wellness app capped at N never sees restricted records.
    #[arg(long, value_parser = parse_confidentiality)]
    max_confidentiality: Option<Confidentiality>,
    /// A sensitivity category id (e.g. mental-health) or ActCode code the app may ever be
    /// granted; repeat for several. Without it: any the patient chooses.
    #[arg(long = "allow-sensitivity")]
    allow_sensitivity: Vec<String>,
    /// The app may be granted no sensitive category at all.
    #[arg(long, conflicts_with = "allow_sensitivity")]
    no_sensitivity: bool,
    /// An EHR that may request SMART launch handles at POST /launch (needs --confidential).
    #[arg(long, requires = "confidential")]
    ehr_launcher: bool,
    /// A confidential asymmetric client (private_key_jwt) whose keys are published here.
    #[arg(long, conflicts_with_all = ["confidential", "public", "jwks_file"])]
    jwks_uri: Option<String>,
    /// A confidential asymmetric client (private_key_jwt) with this JWKS (JSON file).
    #[arg(long, conflicts_with_all = ["confidential", "public"])]
    jwks_file: Option<PathBuf>,
    /// A system/ scope pre-authorized for client_credentials (backend services); repeat.
    #[arg(long = "system-scope")]
    system_scopes: Vec<String>,
    /// Allow client_credentials for a client-secret client (non-SMART use).
    #[arg(long, requires = "confidential")]
    client_credentials: bool,
    /// A resource server for this audience (a FHIR base URL): it may introspect tokens
    /// issued for it, not only its own; repeat. Needs a secret or keys.
    #[arg(long = "resource-server")]
    resource_server_for: Vec<String>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List the signing keys (kid, algorithm, state).
    List,
    /// Generate new keys that sign from now on; the old ones stay published until every
    /// token they signed has expired.
    Rotate,
}

fn parse_confidentiality(text: &str) -> Result<Confidentiality, String> {
    Confidentiality::parse(&text.to_ascii_uppercase())
        .ok_or_else(|| format!("{text:?} is not a v3-Confidentiality code (U, L, M, N, R, V)"))
}

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("clearance: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: `clearance demo | tee log` gets plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The layers, lowest first: defaults (in `Config`), the demo preset for `clearance demo`,
/// the TOML file, the environment, the flags.
fn load_config(cli: &Cli) -> Result<Config, String> {
    let mut settings = match cli.command {
        Command::Demo => Settings::demo_preset(),
        _ => Settings::default(),
    };
    if let Some(path) = &cli.config {
        settings = settings.overlay(Settings::from_file(path).map_err(|e| e.to_string())?);
    }
    settings =
        settings.overlay(Settings::from_env(|k| std::env::var(k).ok()).map_err(|e| e.to_string())?);
    settings = settings.overlay(Settings {
        listen: cli.listen.clone(),
        issuer: cli.issuer.clone(),
        database_url: cli.database_url.clone(),
        ..Settings::default()
    });
    Config::from_settings(settings).map_err(|e| e.to_string())
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut config = load_config(&cli)?;
    let now = SystemClock.now();
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Demo => {
            demo::prepare(&mut config);
            let database = app::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            demo::seed(database.store.as_ref(), &config, now).await?;
            drop(database);
            print_demo_banner(&config);
            serve(config).await
        }
        Command::Gateway(args) => {
            let issuer_given =
                cli.issuer.is_some() || std::env::var_os("CLEARANCE_ISSUER").is_some();
            if !issuer_given {
                return Err("clearance gateway needs the issuer: --issuer URL".into());
            }
            gateway(&config, args).await
        }
        Command::User(command) => admin::user_command(&config, command, now).await,
        Command::Client(command) => admin::client_command(&config, command, now).await,
        Command::Keys(command) => admin::keys_command(&config, command, now).await,
        Command::Consent(command) => admin::consent_command(&config, command).await,
        Command::Patient(command) => admin::patient_command(&config, command, now).await,
        Command::Audit { username, limit } => {
            admin::audit_command(&config, username.as_deref(), limit).await
        }
    }
}

/// The standalone gateway. The issuer's endpoints are Clearance's own paths under it.
async fn gateway(config: &Config, args: GatewayArgs) -> Result<(), String> {
    let upstream = url::Url::parse(&args.upstream)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| format!("--upstream {:?} is not an http(s) URL", args.upstream))?;
    if args.introspection_cache_seconds < 0 || args.introspection_cache_seconds > 300 {
        return Err("--introspection-cache-seconds must be between 0 and 300".into());
    }
    let base = args
        .base
        .unwrap_or_else(|| config.endpoint("/fhir"))
        .trim_end_matches('/')
        .to_owned();
    if crate::http::fhir::base_path(&base).is_none() {
        return Err(format!(
            "--base {base:?} must be a URL with a path, such as https://fhir.example/r4"
        ));
    }
    let uris = crate::gateway::OAuthUris::of(config, false);
    let standalone = crate::http::fhir::Standalone {
        gateway: crate::gateway::Gateway::new(&base, upstream.as_str(), args.upstream_token, uris),
        verifier: crate::gateway::remote::Remote::new(crate::gateway::remote::RemoteSettings {
            issuer: config.issuer.clone(),
            jwks_uri: config.endpoint("/jwks"),
            introspection_endpoint: config.endpoint("/introspect"),
            client_id: args.client_id,
            client_secret: args.client_secret,
            cache_seconds: args.introspection_cache_seconds,
        }),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!(address = %config.listen, base = %base, upstream = %upstream, "the Clearance FHIR gateway is listening");
    app::run_gateway(listener, standalone)
        .await
        .map_err(|e| e.to_string())
}

async fn serve(config: Config) -> Result<(), String> {
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    tracing::info!(address = %app.local_addr(), issuer = %app.services.config.issuer, "Clearance is listening");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

fn print_demo_banner(config: &Config) {
    println!();
    println!("Clearance demo is starting.");
    println!();
    println!("  Open        {}/demo", config.issuer);
    println!(
        "              (the demo app asks you to sign in and choose what it may see, then shows"
    );
    println!("               its tokens and reads the patient's labelled records through the FHIR");
    println!(
        "               gateway at {}: released or withheld by what you chose)",
        config.fhir_base_urls.first().map_or("", String::as_str)
    );
    println!(
        "  Also        {}/demo?app=wellness   (an app capped at normal records)",
        config.issuer
    );
    println!(
        "              {}/account             (your apps: revoke, share less, export)",
        config.issuer
    );
    println!();
    println!("  Sign in as  username          password");
    for (username, password, role, fhir_user, _) in demo::DEMO_USERS {
        println!(
            "              {username:<17} {password:<18} {} {fhir_user}",
            role.as_str()
        );
    }
    println!();
    println!(
        "  Discovery   {}/.well-known/openid-configuration",
        config.issuer
    );
    println!();
}

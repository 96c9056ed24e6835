//! The command line: `serve`, `demo`, and the operator's `user`, `client` and `keys`
//! commands, which act on the same database as `serve` (also while it runs).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::app::{self, App};
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Settings};
use crate::demo;
use crate::flow::clients::{self, NewClient};
use crate::flow::users::{self, NewUser};
use crate::labels::{self, Confidentiality};
use crate::secrets;
use crate::store::Role;
use crate::tokens::Alg;
use crate::tokens::keys::generate_key;

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
    Show { id: String },
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
        #[arg(long)]
        client_id: String,
    },
    /// Pre-authorize system/ scopes for a backend service (none given: withdraw them).
    SystemScopes {
        #[arg(long)]
        client_id: String,
        #[arg(long = "system-scope")]
        system_scopes: Vec<String>,
    },
    /// Issue a new client secret; the old one stops working at once.
    RotateSecret {
        #[arg(long)]
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
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256"])]
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

/// Category ids become their codes; ActCode sensitivity codes stand for themselves.
fn resolve_sensitivity(config: &Config, values: &[String]) -> Result<Vec<String>, String> {
    let mut codes: Vec<String> = Vec::new();
    for value in values {
        let resolved = match config.category(value) {
            Some(category) => category.codes.clone(),
            None if labels::vocab::is_sensitivity(value) => vec![value.clone()],
            None => {
                let ids: Vec<&str> = config.categories.iter().map(|c| c.id.as_str()).collect();
                return Err(format!(
                    "{value:?} is neither a category ({}) nor a v3-ActCode sensitivity code",
                    ids.join(", ")
                ));
            }
        };
        for code in resolved {
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
    }
    Ok(codes)
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn load_config(cli: &Cli) -> Result<Config, String> {
    let mut settings = Settings::default();
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
            config.demo = true;
            // The demo is for trying things: anyone may register an app.
            if std::env::var_os("CLEARANCE_REGISTRATION").is_none() {
                config.registration = crate::config::RegistrationPolicy::Open;
            }
            let database = app::open_database(&config)
                .await
                .map_err(|e| e.to_string())?;
            demo::seed(database.store.as_ref(), &config, now).await?;
            drop(database);
            print_demo_banner(&config);
            serve(config).await
        }
        Command::User(command) => user_command(&config, command, now).await,
        Command::Client(command) => client_command(&config, command, now).await,
        Command::Keys(command) => keys_command(&config, command, now).await,
        Command::Consent(command) => consent_command(&config, command).await,
        Command::Patient(command) => patient_command(&config, command, now).await,
    }
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
    println!(
        "               its tokens and which labelled sample records a FHIR server would release)"
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

async fn user_command(config: &Config, command: UserCommand, now: i64) -> Result<(), String> {
    let database = app::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let store = database.store.as_ref();
    match command {
        UserCommand::Add(add) => {
            let (password, generated) = if add.password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (secrets::random_token(), true)
            };
            let role = Role::parse(&add.role).unwrap_or(Role::Patient);
            let clearance_sensitivity = if add.clearance_sensitivity.is_empty() {
                None
            } else {
                Some(resolve_sensitivity(config, &add.clearance_sensitivity)?)
            };
            let user = users::create_user(
                store,
                NewUser {
                    username: &add.username,
                    password: &password,
                    role,
                    fhir_user: add.fhir_user.as_deref(),
                    name: add.name.as_deref(),
                    email: add.email.as_deref(),
                    clearance: add.clearance,
                    clearance_sensitivity,
                },
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            let mut out = json!({
                "id": user.id, "username": user.username, "role": user.role, "fhir_user": user.fhir_user,
            });
            if generated {
                out["password"] = json!(password);
            }
            println!("{out:#}");
        }
        UserCommand::List => {
            let users = store.list_users().await.map_err(|e| e.to_string())?;
            let list: Vec<_> = users
                .iter()
                .map(|u| json!({"id": u.id, "username": u.username, "role": u.role, "fhir_user": u.fhir_user, "name": u.name, "clearance": u.clearance_confidentiality, "clearance_sensitivity": u.clearance_sensitivity.as_deref().and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())}))
                .collect();
            println!("{:#}", json!(list));
        }
        UserCommand::Remove { username } => {
            if !store
                .delete_user(&username)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no user {username:?}"));
            }
            println!("{:#}", json!({"removed": username}));
        }
    }
    Ok(())
}

async fn client_command(config: &Config, command: ClientCommand, now: i64) -> Result<(), String> {
    let database = app::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let store = database.store.as_ref();
    match command {
        ClientCommand::Add(add) => {
            let jwks = match &add.jwks_file {
                Some(path) => Some(
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
                ),
                None => None,
            };
            let allowed_sensitivity = if add.no_sensitivity {
                Some(Vec::new())
            } else if add.allow_sensitivity.is_empty() {
                None
            } else {
                Some(resolve_sensitivity(config, &add.allow_sensitivity)?)
            };
            let registered = clients::register(
                store,
                NewClient {
                    name: &add.name,
                    redirect_uris: &add.redirect_uris,
                    confidential: add.confidential,
                    client_id: add.client_id.as_deref(),
                    id_token_alg: Alg::parse(&add.id_token_alg).unwrap_or(Alg::Rs256),
                    max_confidentiality: add.max_confidentiality,
                    allowed_sensitivity,
                    ehr_launcher: add.ehr_launcher,
                    jwks,
                    jwks_uri: add.jwks_uri.clone(),
                    system_scopes: add.system_scopes.clone(),
                    client_credentials: add.client_credentials,
                },
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&registered).map_err(|e| e.to_string())?
            );
        }
        ClientCommand::List => {
            let clients = store.list_clients().await.map_err(|e| e.to_string())?;
            let list: Vec<_> = clients
                .iter()
                .map(|c| json!({"client_id": c.client_id, "client_name": c.name, "redirect_uris": c.redirect_uris(), "token_endpoint_auth_method": c.token_endpoint_auth_method, "grant_types": c.grant_types(), "jwks_uri": c.jwks_uri, "system_scopes": c.system_scopes, "max_confidentiality": c.max_confidentiality, "allowed_sensitivity": c.allowed_sensitivity.as_deref().and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())}))
                .collect();
            println!("{:#}", json!(list));
        }
        ClientCommand::Remove { client_id } => {
            if !store
                .delete_client(&client_id)
                .await
                .map_err(|e| e.to_string())?
            {
                return Err(format!("no client {client_id:?}"));
            }
            println!("{:#}", json!({"removed": client_id}));
        }
        ClientCommand::SystemScopes {
            client_id,
            system_scopes,
        } => {
            clients::set_system_scopes(store, &client_id, &system_scopes)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:#}",
                json!({"client_id": client_id, "system_scopes": system_scopes})
            );
        }
        ClientCommand::RotateSecret { client_id } => {
            let secret = clients::rotate_secret(store, &client_id)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:#}",
                json!({"client_id": client_id, "client_secret": secret})
            );
        }
        ClientCommand::Token { expires_in } => {
            if expires_in <= 0 {
                return Err("--expires-in must be positive".into());
            }
            let token = secrets::random_token();
            store
                .insert_initial_access_token(&secrets::hash_secret(&token), now, now + expires_in)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:#}",
                json!({"initial_access_token": token, "expires_in": expires_in})
            );
        }
    }
    Ok(())
}

async fn patient_command(config: &Config, command: PatientCommand, now: i64) -> Result<(), String> {
    let database = app::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let store = database.store.as_ref();
    match command {
        PatientCommand::Add {
            id,
            name,
            birth_date,
            gender,
        } => {
            let patient = crate::flow::patients::new_patient(&id, &name, birth_date, gender, now)?;
            store
                .upsert_patient(&patient)
                .await
                .map_err(|e| e.to_string())?;
            println!("{:#}", json!({"id": patient.id, "name": patient.name}));
        }
        PatientCommand::Import { file } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?
            };
            let bundle: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
            let patients = crate::flow::patients::from_bundle(&bundle, now)?;
            for patient in &patients {
                store
                    .upsert_patient(patient)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            println!("{:#}", json!({"imported": patients.len()}));
        }
        PatientCommand::List { name } => {
            let found = store
                .search_patients(name.as_deref().unwrap_or(""), 1000)
                .await
                .map_err(|e| e.to_string())?;
            let list: Vec<_> = found
                .iter()
                .map(|p| json!({"id": p.id, "name": p.name, "birth_date": p.birth_date, "gender": p.gender}))
                .collect();
            println!("{:#}", json!(list));
        }
    }
    Ok(())
}

async fn consent_command(config: &Config, command: ConsentCommand) -> Result<(), String> {
    let database = app::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let store = database.store.as_ref();
    match command {
        ConsentCommand::List { username } => {
            let grants = match username {
                Some(name) => {
                    let user = store
                        .user_by_username(&name)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| format!("no user {name:?}"))?;
                    store.grants_of_user(&user.id).await
                }
                None => store.list_grants().await,
            }
            .map_err(|e| e.to_string())?;
            let list: Vec<_> = grants
                .iter()
                .map(|g| json!({"id": g.id, "user_id": g.user_id, "client_id": g.client_id, "scope": g.scope, "security": g.security(), "created_at": g.created_at, "state": if g.revoked_at.is_some() { "revoked" } else { "active" }}))
                .collect();
            println!("{:#}", json!(list));
        }
        ConsentCommand::Show { id } => {
            let grant = store
                .grant(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no consent {id:?}"))?;
            let user = store
                .user_by_id(&grant.user_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the consent's user is gone")?;
            let client = store
                .client_by_id(&grant.client_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the consent's app is gone")?;
            let resource =
                crate::flow::consent_export::consent_resource(config, &grant, &user, &client);
            println!("{resource:#}");
        }
    }
    Ok(())
}

async fn keys_command(config: &Config, command: KeysCommand, now: i64) -> Result<(), String> {
    let database = app::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let store = database.store.as_ref();
    match command {
        KeysCommand::List => {
            app::load_keys(store, config, now)
                .await
                .map_err(|e| e.to_string())?;
        }
        KeysCommand::Rotate => {
            for alg in Alg::ALL {
                let key = tokio::task::spawn_blocking(move || generate_key(alg, now))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                store
                    .rotate_signing_key(&key, now)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    let rows = store.signing_keys().await.map_err(|e| e.to_string())?;
    let list: Vec<_> = rows
        .iter()
        .map(|k| json!({"kid": k.kid, "alg": k.alg, "created_at": k.created_at, "retired_at": k.retired_at, "state": if k.retired_at.is_some() { "retired" } else { "active" }}))
        .collect();
    println!("{:#}", json!(list));
    Ok(())
}

//! The operator's commands: users, clients, keys, consents and the patient directory. They
//! act on the same database as `serve`, also while it runs.

use std::io::BufRead;

use serde_json::json;

use super::{ClientCommand, ConsentCommand, KeysCommand, PatientCommand, UserCommand};
use crate::app;
use crate::config::Config;
use crate::flow::clients::{self, NewClient};
use crate::flow::users::{self, NewUser};
use crate::labels;
use crate::secrets;
use crate::store::{Role, Store, User};
use crate::tokens::Alg;
use crate::tokens::keys::generate_key;

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

pub(super) async fn user_command(
    config: &Config,
    command: UserCommand,
    now: i64,
) -> Result<(), String> {
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

pub(super) async fn client_command(
    config: &Config,
    command: ClientCommand,
    now: i64,
) -> Result<(), String> {
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
                    resource_server_for: add.resource_server_for.clone(),
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

pub(super) async fn patient_command(
    config: &Config,
    command: PatientCommand,
    now: i64,
) -> Result<(), String> {
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

pub(super) async fn consent_command(
    config: &Config,
    command: ConsentCommand,
) -> Result<(), String> {
    let database = app::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let store = database.store.as_ref();
    match command {
        ConsentCommand::List { username } => {
            let grants = match username {
                Some(name) => {
                    store
                        .grants_of_user(&find_user(store, &name).await?.id)
                        .await
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

pub(super) async fn keys_command(
    config: &Config,
    command: KeysCommand,
    now: i64,
) -> Result<(), String> {
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
                let mut key = tokio::task::spawn_blocking(move || generate_key(alg, now))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                // Published now; signs once resource servers can have seen it.
                key.activates_at = now + config.key_activation_seconds;
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
        .map(|k| json!({"kid": k.kid, "alg": k.alg, "created_at": k.created_at, "activates_at": k.activates_at, "retired_at": k.retired_at, "state": key_state(k, now)}))
        .collect();
    println!("{:#}", json!(list));
    Ok(())
}

/// `published` (rotated, not signing yet), `active` (signing or about to hand over), or
/// `retired` (published until its tokens expire).
fn key_state(key: &crate::store::SigningKeyRow, now: i64) -> &'static str {
    match key.retired_at {
        _ if key.activates_at > now => "published",
        Some(retired) if retired <= now => "retired",
        _ => "active",
    }
}

pub(super) async fn audit_command(
    config: &Config,
    username: Option<&str>,
    limit: i64,
) -> Result<(), String> {
    let database = app::open_database(config)
        .await
        .map_err(|e| e.to_string())?;
    let store = database.store.as_ref();
    let user_id = match username {
        Some(name) => Some(find_user(store, name).await?.id),
        None => None,
    };
    let events = store
        .audit_events(user_id.as_deref(), limit.clamp(1, 100_000))
        .await
        .map_err(|e| e.to_string())?;
    let list: Vec<_> = events
        .iter()
        .map(|e| json!({"at": e.at, "event": e.event, "user_id": e.user_id, "client_id": e.client_id, "grant_id": e.grant_id, "detail": e.detail}))
        .collect();
    println!("{:#}", json!(list));
    Ok(())
}

/// The user named `username`, or the operator's error message.
async fn find_user(store: &dyn Store, username: &str) -> Result<User, String> {
    store
        .user_by_username(username)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user {username:?}"))
}

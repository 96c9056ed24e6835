//! A fresh PostgreSQL database per test, on the server that runs on the machine
//! (127.0.0.1:5432, user postgres, trust auth). Under CI an unreachable server is a failure;
//! elsewhere the test is skipped with a loud message.

use sqlx::{Connection, PgConnection};

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("CLEARANCE_TEST_POSTGRES").unwrap_or_else(|_| ADMIN_URL.to_owned())
}

/// Creates an empty database and returns its URL, or `None` (after a loud message) when
/// PostgreSQL cannot be reached outside CI.
pub async fn fresh_database() -> Option<String> {
    let admin = admin_url();
    let mut conn = match PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("PostgreSQL at {admin} is required under CI: {e}")
        }
        Err(e) => {
            eprintln!(
                "\n!!!!!!!!!!\n!!! SKIPPING POSTGRESQL TEST: cannot reach {admin}: {e}\n!!!!!!!!!!\n"
            );
            return None;
        }
    };
    // Once per test process is enough.
    if !LEFTOVERS_DROPPED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        drop_leftovers(&mut conn).await;
    }
    // The creation time is in the name, so that a later run can drop what a panicking test
    // left behind (Drop does not run on every panic path).
    let name = format!(
        "{PREFIX}{}_{}",
        now(),
        clearance::secrets::random_id().to_lowercase()
    );
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin.clone());
    Some(format!("{base}/{name}"))
}

const PREFIX: &str = "clearance_test_";
static LEFTOVERS_DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Test databases older than this are leftovers: no test runs that long.
const LEFTOVER_AGE: u64 = 3600;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Drops test databases whose name says they were made over an hour ago.
async fn drop_leftovers(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'clearance_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let made = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|stamp| stamp.parse::<u64>().ok());
        // Names from before the timestamp was added have none: they are leftovers too, as
        // every run since then names its databases with one.
        if made.is_none_or(|made| made + LEFTOVER_AGE < now()) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// Drops a database made by `fresh_database` (best effort; connections are closed by force).
pub async fn drop_database(url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

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
    let name = format!(
        "clearance_test_{}",
        clearance::secrets::random_id()
            .to_lowercase()
            .replace(['-', '_'], "")
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

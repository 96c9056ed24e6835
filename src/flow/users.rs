//! Users: creation with an argon2id password hash, and password verification that takes the
//! same time whether or not the username exists.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::flow::audit::{self, Event, Kind};
use crate::flow::authorize::SignedIn;
use crate::gate::Gate;
use crate::labels::Confidentiality;
use crate::secrets;
use crate::services::Services;
use crate::store::{Role, Store, StoreError, StoreResult, User};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// argon2id with the crate defaults (m=19456 KiB, t=2, p=1: the OWASP minimum).
pub fn hash_password(password: &str) -> Result<String, UserError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| UserError::Invalid(format!("cannot hash password: {e}")))
}

fn verify(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// A hash to verify against when the username is unknown, so the answer takes as long.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&secrets::random_token()).unwrap_or_default())
}

pub struct NewUser<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub fhir_user: Option<&'a str>,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    /// The operator's clearance for a practitioner; `None` means no limit.
    pub clearance: Option<Confidentiality>,
    /// Sensitivity codes the clearance allows; `None` means no limit.
    pub clearance_sensitivity: Option<Vec<String>>,
}

pub async fn create_user(store: &dyn Store, new: NewUser<'_>, now: i64) -> Result<User, UserError> {
    let username = new.username.trim();
    if username.is_empty() || username.len() > 128 || username.chars().any(char::is_whitespace) {
        return Err(UserError::Invalid(
            "username must be 1 to 128 characters without spaces".into(),
        ));
    }
    if new.password.chars().count() < 8 {
        return Err(UserError::Invalid(
            "password must be at least 8 characters".into(),
        ));
    }
    if let Some(f) = new.fhir_user
        && !is_fhir_user_reference(f)
    {
        return Err(UserError::Invalid(format!(
            "fhir-user must be a Patient, Practitioner, RelatedPerson or Person reference such as Patient/123, got {f:?}"
        )));
    }
    let password = new.password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| UserError::Invalid(e.to_string()))??;
    let user = User {
        id: secrets::random_id(),
        username: username.to_owned(),
        password_hash,
        role: new.role,
        fhir_user: new.fhir_user.map(str::to_owned),
        name: new.name.map(str::to_owned),
        email: new.email.map(str::to_owned),
        created_at: now,
        clearance_confidentiality: new.clearance.map(|c| c.code().to_owned()),
        clearance_sensitivity: new
            .clearance_sensitivity
            .as_ref()
            .map(|codes| serde_json::to_string(codes).unwrap_or_else(|_| "[]".into())),
    };
    store.insert_user(&user).await.map_err(|e| match e {
        StoreError::Conflict(_) => UserError::Invalid(format!("user {username:?} already exists")),
        other => UserError::Store(other),
    })?;
    Ok(user)
}

/// `Type/id` (relative to the FHIR base) or an absolute URL ending in `Type/id`, where Type is
/// one the SMART `fhirUser` claim allows.
pub fn is_fhir_user_reference(value: &str) -> bool {
    let mut parts = value.rsplitn(3, '/');
    let id = parts.next().unwrap_or("");
    let kind = parts.next().unwrap_or("");
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    id_ok
        && matches!(
            kind,
            "Patient" | "Practitioner" | "PractitionerRole" | "RelatedPerson" | "Person"
        )
}

/// The outcome of a sign-in attempt. The page says the same for both failures; the audit
/// trail tells the account holder that someone tried their password.
#[derive(Debug)]
pub enum SignIn {
    Valid(User),
    WrongPassword {
        user_id: String,
    },
    UnknownUser,
    /// Too many wrong passwords lately: the password was not even compared.
    Throttled {
        user_id: String,
    },
    /// Too many sign-ins are being checked right now: try again in a moment.
    Busy,
}

/// Online guessing protection (NIST SP 800-63B §5.2.2, rate limiting): at most this many
/// password checks for one account within [`THROTTLE_WINDOW`]; then its sign-in pauses until
/// the window passes. Each check reserves its attempt first, in one atomic statement in the
/// database, so parallel guesses cannot overshoot and every instance applies it; a right
/// password starts the count again. A pause rather than a lockout, so that an attacker cannot
/// lock a patient out for good.
pub const MAX_FAILED_SIGN_INS: i64 = 5;
pub const THROTTLE_WINDOW: i64 = 15 * 60;

/// Checks a username and password. argon2 runs off the async runtime (ARCHITECTURE habit
/// 12) behind the password gate (a bounded number at once), against a decoy hash for an
/// unknown username or a paused account, so that timing does not tell which it was.
pub async fn authenticate(
    store: &dyn Store,
    gate: &Gate,
    username: &str,
    password: &str,
    now: i64,
) -> Result<SignIn, StoreError> {
    let Some(_permit) = gate.enter().await else {
        return Ok(SignIn::Busy);
    };
    let user = store.user_by_username(username.trim()).await?;
    let paused = match &user {
        Some(user) => {
            !store
                .reserve_sign_in_attempt(&user.id, now, THROTTLE_WINDOW, MAX_FAILED_SIGN_INS)
                .await?
        }
        None => false,
    };
    let hash = match &user {
        Some(u) if !paused => u.password_hash.clone(),
        _ => decoy_hash().to_owned(),
    };
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || verify(&password, &hash))
        .await
        .unwrap_or(false);
    Ok(match user {
        Some(user) if paused => SignIn::Throttled { user_id: user.id },
        Some(user) if matches => {
            store.clear_sign_in_attempts(&user.id).await?;
            SignIn::Valid(user)
        }
        Some(user) => SignIn::WrongPassword { user_id: user.id },
        None => SignIn::UnknownUser,
    })
}

/// A sign-in attempt at the sign-in page: [`authenticate`] with this instance's store,
/// password gate and clock.
pub async fn sign_in(services: &Services, username: &str, password: &str) -> StoreResult<SignIn> {
    authenticate(
        services.store.as_ref(),
        &services.password_checks,
        username,
        password,
        services.now(),
    )
    .await
}

/// Records a successful sign-in (its row ends `online_access` grants at sign-out) and
/// returns what the browser session keeps. `request_id`: the authorization request the
/// password was typed for, if any.
pub async fn begin_sign_in(
    services: &Services,
    user: &User,
    request_id: Option<String>,
) -> StoreResult<SignedIn> {
    let now = services.now();
    let signed_in = SignedIn {
        user_id: user.id.clone(),
        auth_time: now,
        signed_in_for: request_id,
        sign_in_id: secrets::random_id(),
    };
    services
        .store
        .insert_sign_in(
            &signed_in.sign_in_id,
            &user.id,
            now,
            now + services.config.session_ttl,
        )
        .await?;
    audit::record(services, Event::new(Kind::SignIn).user(&user.id)).await;
    Ok(signed_in)
}

/// Ends a sign-in: what `online_access` grants of it may do ends too (SMART: while online).
pub async fn end_sign_in(services: &Services, signed_in: &SignedIn) {
    if let Err(e) = services
        .store
        .end_sign_in(&signed_in.sign_in_id, services.now())
        .await
    {
        tracing::error!(error = %e, "sign-out not recorded; online_access tokens last until the sign-in expires");
    }
    audit::record(services, Event::new(Kind::SignOut).user(&signed_in.user_id)).await;
}

/// The account of a browser sign-in, unless it was deleted since.
pub async fn user_of(services: &Services, signed_in: &SignedIn) -> StoreResult<Option<User>> {
    services.store.user_by_id(&signed_in.user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify("correct horse", &hash));
        assert!(!verify("wrong horse", &hash));
    }

    #[test]
    fn fhir_user_references() {
        assert!(is_fhir_user_reference("Patient/123"));
        assert!(is_fhir_user_reference(
            "https://ehr.example/fhir/Practitioner/abc-1"
        ));
        assert!(!is_fhir_user_reference("Observation/1"));
        assert!(!is_fhir_user_reference("Patient/"));
        assert!(!is_fhir_user_reference("123"));
    }
}

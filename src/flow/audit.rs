//! The audit trail (PRODUCT.md, "Around it"): every sign-in, consent decision, token issued,
//! refresh, revocation and refused request is written to the `audit_events` table, so that a
//! deployment of several instances keeps one trail that the operator can read
//! (`clearance audit`) and a patient can see their own access history on the account page.
//! Each event also goes to the log under the `audit` tracing target.
//!
//! Nothing secret is ever recorded: no code, token, secret or password, and not the username
//! typed at a failed sign-in (people type passwords into the username field).
//!
//! Writing is best effort: a failed write is logged as an error and does not fail the request,
//! which has already happened (the tokens are minted, the grant is revoked).

use crate::services::Services;
use crate::store::AuditEvent;

/// What happened. Stored as its `as_str()` name; the names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SignIn,
    SignInFailed,
    SignInThrottled,
    SignOut,
    ConsentGiven,
    ConsentDenied,
    AuthorizationRefused,
    PatientPicked,
    CodeIssued,
    TokensIssued,
    Refreshed,
    CodeReused,
    RefreshTokenReused,
    TokenRefused,
    TokenRevoked,
    BackendTokenIssued,
    GrantRevokedByUser,
    GrantNarrowedByUser,
    LaunchIssued,
    ClientRegistered,
    ClientDeleted,
    ClientAuthFailed,
    AssertionReplayed,
}

impl Kind {
    pub const ALL: [Kind; 23] = [
        Kind::SignIn,
        Kind::SignInFailed,
        Kind::SignInThrottled,
        Kind::SignOut,
        Kind::ConsentGiven,
        Kind::ConsentDenied,
        Kind::AuthorizationRefused,
        Kind::PatientPicked,
        Kind::CodeIssued,
        Kind::TokensIssued,
        Kind::Refreshed,
        Kind::CodeReused,
        Kind::RefreshTokenReused,
        Kind::TokenRefused,
        Kind::TokenRevoked,
        Kind::BackendTokenIssued,
        Kind::GrantRevokedByUser,
        Kind::GrantNarrowedByUser,
        Kind::LaunchIssued,
        Kind::ClientRegistered,
        Kind::ClientDeleted,
        Kind::ClientAuthFailed,
        Kind::AssertionReplayed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignIn => "sign_in",
            Kind::SignInFailed => "sign_in_failed",
            Kind::SignInThrottled => "sign_in_throttled",
            Kind::SignOut => "sign_out",
            Kind::ConsentGiven => "consent_given",
            Kind::ConsentDenied => "consent_denied",
            Kind::AuthorizationRefused => "authorization_refused",
            Kind::PatientPicked => "patient_picked",
            Kind::CodeIssued => "code_issued",
            Kind::TokensIssued => "tokens_issued",
            Kind::Refreshed => "refreshed",
            Kind::CodeReused => "code_reused",
            Kind::RefreshTokenReused => "refresh_token_reused",
            Kind::TokenRefused => "token_request_refused",
            Kind::TokenRevoked => "token_revoked",
            Kind::BackendTokenIssued => "backend_token_issued",
            Kind::GrantRevokedByUser => "grant_revoked_by_user",
            Kind::GrantNarrowedByUser => "grant_narrowed_by_user",
            Kind::LaunchIssued => "launch_issued",
            Kind::ClientRegistered => "client_registered",
            Kind::ClientDeleted => "client_deleted",
            Kind::ClientAuthFailed => "client_auth_failed",
            Kind::AssertionReplayed => "assertion_replayed",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// An event about to be recorded; the builder methods name who and what it concerns.
#[derive(Debug)]
pub struct Event<'a> {
    kind: Kind,
    user_id: Option<&'a str>,
    client_id: Option<&'a str>,
    grant_id: Option<&'a str>,
    detail: String,
}

impl<'a> Event<'a> {
    pub fn new(kind: Kind) -> Event<'a> {
        Event {
            kind,
            user_id: None,
            client_id: None,
            grant_id: None,
            detail: String::new(),
        }
    }

    pub fn user(mut self, user_id: &'a str) -> Self {
        self.user_id = Some(user_id);
        self
    }

    pub fn client(mut self, client_id: &'a str) -> Self {
        self.client_id = Some(client_id);
        self
    }

    pub fn grant(mut self, grant_id: &'a str) -> Self {
        self.grant_id = Some(grant_id);
        self
    }

    /// Short plain text: a scope, an error code, a grant type. Never a secret.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// Logs the event under the `audit` target and stores it.
pub async fn record(services: &Services, event: Event<'_>) {
    let row = entry(services, event);
    if let Err(e) = services.store.record_audit_event(&row).await {
        tracing::error!(error = %e, event = row.event, "audit event not stored");
    }
}

/// Logs the event under the `audit` target and returns its row, for a caller whose request
/// must fail when the entry cannot be stored (a backend token is not handed out without it).
pub fn entry(services: &Services, event: Event<'_>) -> AuditEvent {
    tracing::info!(
        target: "audit",
        event = event.kind.as_str(),
        user_id = event.user_id,
        client_id = event.client_id,
        grant_id = event.grant_id,
        detail = %event.detail,
    );
    AuditEvent {
        at: services.now(),
        event: event.kind.as_str().to_owned(),
        user_id: event.user_id.map(str::to_owned),
        client_id: event.client_id.map(str::to_owned),
        grant_id: event.grant_id.map(str::to_owned),
        detail: event.detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_stable_name() {
        let names: std::collections::HashSet<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), Kind::ALL.len());
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("nothing"), None);
    }
}

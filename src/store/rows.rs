//! Row types shared by every back end. Types that hold a secret have a redacting `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::labels::vocab::{self, Confidentiality};
use crate::labels::{Ceiling, SecurityClaim, Sensitivity};
use crate::scope::ScopeSet;

/// What a user is: the patient-facing and clinician-facing flows differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Patient,
    Practitioner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Practitioner => "practitioner",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "patient" => Some(Role::Patient),
            "practitioner" => Some(Role::Practitioner),
            _ => None,
        }
    }
}

/// Decoded from its TEXT column by sqlx (`#[sqlx(try_from = "String")]`).
impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(text: String) -> Result<Role, String> {
        Role::parse(&text).ok_or_else(|| format!("unknown role {text:?}"))
    }
}

/// A list of strings kept as a JSON array in a TEXT column (redirect URIs, grant types,
/// category ids, audiences). NULL reads as the empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StringList(pub Vec<String>);

impl StringList {
    /// The column's text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".to_owned())
    }

    /// The column's text, NULL for the empty list (for columns where NULL means "none").
    pub fn to_json_or_null(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.to_json())
    }
}

impl std::ops::Deref for StringList {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl<S: Into<String>> FromIterator<S> for StringList {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> StringList {
        StringList(items.into_iter().map(Into::into).collect())
    }
}

impl TryFrom<String> for StringList {
    type Error = serde_json::Error;

    fn try_from(json: String) -> Result<StringList, serde_json::Error> {
        serde_json::from_str(&json)
    }
}

impl TryFrom<Option<String>> for StringList {
    type Error = serde_json::Error;

    fn try_from(json: Option<String>) -> Result<StringList, serde_json::Error> {
        json.map_or(Ok(StringList::default()), StringList::try_from)
    }
}

#[derive(Clone, sqlx::FromRow)]
pub struct User {
    /// The stable, opaque subject identifier (`sub`); never reassigned.
    pub id: String,
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// `Patient/123`, `Practitioner/abc`, ... relative to the FHIR base, or absolute.
    pub fhir_user: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: i64,
    /// The operator-set clearance: highest confidentiality (NULL: no limit) ...
    pub clearance_confidentiality: Option<String>,
    /// ... and the sensitivity codes (JSON array; NULL: no limit).
    pub clearance_sensitivity: Option<String>,
}

impl User {
    pub fn role(&self) -> Role {
        self.role
    }

    /// The user's clearance as a ceiling on what their grants may carry.
    pub fn clearance(&self) -> Ceiling {
        ceiling(&self.clearance_confidentiality, &self.clearance_sensitivity)
    }

    /// The purpose of use of this user's grants: a patient's own request, or treatment.
    pub fn purpose_of_use(&self) -> &'static str {
        match self.role() {
            Role::Patient => vocab::PATIENT_REQUESTED,
            Role::Practitioner => vocab::TREATMENT,
        }
    }
}

/// A ceiling from stored columns; anything unreadable counts as the narrowest ceiling, so a
/// damaged row can only withhold, never release.
fn ceiling(confidentiality: &Option<String>, sensitivity: &Option<String>) -> Ceiling {
    let unrestricted = Ceiling::unrestricted();
    Ceiling {
        confidentiality: match confidentiality {
            None => unrestricted.confidentiality,
            Some(c) => Confidentiality::parse(c).unwrap_or(Confidentiality::U),
        },
        sensitivity: match sensitivity {
            None => Sensitivity::All,
            Some(json) => serde_json::from_str::<Vec<String>>(json)
                .map(Sensitivity::codes)
                .unwrap_or_else(|_| Sensitivity::none()),
        },
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 §2 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: no secret; PKCE and the exact redirect URI protect it.
    None,
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 JWT assertion signed with the client's private key (SMART asymmetric).
    PrivateKeyJwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(text: &str) -> Option<AuthMethod> {
        match text {
            "none" => Some(AuthMethod::None),
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "private_key_jwt" => Some(AuthMethod::PrivateKeyJwt),
            _ => None,
        }
    }
}

impl TryFrom<String> for AuthMethod {
    type Error = String;

    fn try_from(text: String) -> Result<AuthMethod, String> {
        AuthMethod::parse(&text).ok_or_else(|| format!("unknown authentication method {text:?}"))
    }
}

#[derive(Clone, sqlx::FromRow)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// The registered redirect URIs, compared as exact strings.
    #[sqlx(try_from = "String")]
    pub redirect_uris: StringList,
    /// SHA-256 of the client secret; `None` for public clients.
    pub secret_hash: Option<String>,
    #[sqlx(try_from = "String")]
    pub token_endpoint_auth_method: AuthMethod,
    /// `RS256` (the default, OIDC Core §15.1) or `ES256`.
    pub id_token_signed_response_alg: String,
    pub created_at: i64,
    /// The label ceiling set by the operator: highest confidentiality (NULL: no limit) ...
    pub max_confidentiality: Option<String>,
    /// ... and the allowed sensitivity codes (JSON array; NULL: no limit).
    pub allowed_sensitivity: Option<String>,
    /// This (confidential) client is an EHR that may request launch handles.
    pub ehr_launcher: bool,
    /// Inline JWKS (JSON) for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Where the client publishes its JWKS for `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// The grant types the client may use.
    #[sqlx(try_from = "String")]
    pub grant_types: StringList,
    /// The `system/` scopes the operator pre-authorized (space-separated).
    pub system_scopes: Option<String>,
    /// SHA-256 of the RFC 7592 registration access token (dynamically registered clients).
    pub registration_token_hash: Option<String>,
    /// The registration metadata as accepted (JSON object).
    pub metadata: String,
    /// The audiences (FHIR base URLs) this client serves as a resource server, which lets it
    /// introspect tokens for them (empty: not a resource server). Operator-set.
    #[sqlx(try_from = "Option<String>")]
    pub resource_server_for: StringList,
}

impl Client {
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    pub fn auth_method(&self) -> AuthMethod {
        self.token_endpoint_auth_method
    }

    /// A public client proves nothing at the token endpoint (no secret, no keys).
    pub fn is_public(&self) -> bool {
        self.auth_method() == AuthMethod::None
    }

    pub fn grant_types(&self) -> &[String] {
        &self.grant_types
    }

    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.grant_types().iter().any(|g| g == grant_type)
    }

    /// Was the client registered through `/register` (RFC 7591), by anyone, rather than by
    /// the operator? Its redirect URIs are then not trusted before the user interacts.
    pub fn is_dynamically_registered(&self) -> bool {
        self.registration_token_hash.is_some()
    }

    /// Is this client a resource server the operator registered for `audience`?
    pub fn serves_audience(&self, audience: &str) -> bool {
        self.resource_server_for
            .iter()
            .any(|a| a.trim_end_matches('/') == audience.trim_end_matches('/'))
    }

    /// The label ceiling of this client.
    pub fn ceiling(&self) -> Ceiling {
        ceiling(&self.max_confidentiality, &self.allowed_sensitivity)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .finish_non_exhaustive()
    }
}

#[derive(Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    pub private_pem: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    /// When the key starts signing. A rotated key is published first and signs only once
    /// resource servers have had time to refetch the JWKS; a first key signs at once.
    pub activates_at: i64,
}

impl fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pem", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("activates_at", &self.activates_at)
            .finish()
    }
}

/// A validated authorization request waiting for sign-in and consent. `request` is the
/// JSON of `flow::authorize::AuthorizationRequest`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRequest {
    pub id: String,
    pub client_id: String,
    pub request: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Consent {
    pub user_id: String,
    pub client_id: String,
    /// The patient in context when the user decided ('' when none): a decision for one
    /// patient is never reused for another.
    pub patient: String,
    /// The scopes the user allowed this client.
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    pub updated_at: i64,
    /// The sensitivity category ids the user chose.
    #[sqlx(try_from = "String")]
    pub categories: StringList,
    /// The last time the user pressed Deny for this app and patient.
    pub denied_at: Option<i64>,
}

impl Consent {
    pub fn category_ids(&self) -> &[String] {
        &self.categories
    }

    /// Was the last answer a Deny (after the last Allow)?
    pub fn denied_since(&self) -> bool {
        self.denied_at.is_some_and(|d| d >= self.updated_at)
    }
}

/// The rows written together with the tokens of one token response: the access token's
/// record and, when one is issued, the new refresh token.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access: AccessTokenRecord,
    pub refresh: Option<RefreshToken>,
}

/// One authorization: what a user allowed a client, from the code it started to every
/// refresh. Revoking it ends every token issued from it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Grant {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    /// The audience of its access tokens: a FHIR base URL, or the issuer.
    pub audience: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// The effective `security` claim (JSON in its column); it only narrows over the
    /// grant's life. An unreadable value reads as the narrowest claim.
    #[sqlx(try_from = "String")]
    pub security: SecurityClaim,
    /// The category ids the claim came from.
    #[sqlx(try_from = "String")]
    pub categories: StringList,
    /// SMART launch context: the patient id, encounter id, `fhirContext` (JSON array),
    /// `need_patient_banner` (NULL when not an EHR launch) and `intent`.
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub fhir_context: String,
    pub need_patient_banner: Option<bool>,
    pub intent: Option<String>,
    /// The sign-in that approved it; an `online_access` grant refreshes only while it lasts.
    pub sign_in_id: Option<String>,
}

impl Grant {
    /// The grant's `security` claim.
    pub fn security(&self) -> SecurityClaim {
        self.security.clone()
    }

    pub fn category_ids(&self) -> &[String] {
        &self.categories
    }
}

/// A stored `security` claim. An unreadable value reads as the narrowest claim, so a
/// damaged row can only withhold, never release.
impl From<String> for SecurityClaim {
    fn from(json: String) -> SecurityClaim {
        serde_json::from_str(&json).unwrap_or_else(|_| SecurityClaim {
            confidentiality: Confidentiality::U,
            sensitivity: Vec::new(),
            purpose_of_use: vocab::PATIENT_REQUESTED.to_owned(),
        })
    }
}

#[derive(Clone, sqlx::FromRow)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("grant_id", &self.grant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, sqlx::FromRow)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshToken")
            .field("grant_id", &self.grant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessTokenRecord {
    pub jti: String,
    pub grant_id: String,
    pub expires_at: i64,
}

/// An entry of the patient directory, for the practitioner's patient picker.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Patient {
    pub id: String,
    pub name: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub created_at: i64,
}

/// An EHR launch handle: single use, short-lived, bound to its context (SMART EHR launch).
#[derive(Clone, sqlx::FromRow)]
pub struct Launch {
    pub launch_hash: String,
    /// The EHR client that asked for it.
    pub issued_to: String,
    /// The app it is for, when the EHR named one.
    pub client_id: Option<String>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    /// The user it is bound to, when the EHR named one.
    pub user_id: Option<String>,
    pub fhir_context: String,
    pub need_patient_banner: bool,
    pub intent: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl fmt::Debug for Launch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Launch")
            .field("issued_to", &self.issued_to)
            .field("patient", &self.patient)
            .finish_non_exhaustive()
    }
}

/// One entry of the audit trail: what happened, when, to whom, through which app and grant.
/// `detail` is short plain text (a scope, an error code, a grant type), never a secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEvent {
    pub at: i64,
    pub event: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub grant_id: Option<String>,
    pub detail: String,
}

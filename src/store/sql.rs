//! SQL text shared by the back ends. `$n` placeholders work on SQLite and PostgreSQL alike.

pub const PING: &str = "SELECT 1";

pub const INSERT_USER: &str = "INSERT INTO users (id, username, password_hash, role, fhir_user, name, email, created_at, clearance_confidentiality, clearance_sensitivity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub const USER_BY_USERNAME: &str = "SELECT * FROM users WHERE username = $1";
pub const USER_BY_ID: &str = "SELECT * FROM users WHERE id = $1";
pub const LIST_USERS: &str = "SELECT * FROM users ORDER BY username";
pub const DELETE_USER: &str = "DELETE FROM users WHERE username = $1";

pub const INSERT_CLIENT: &str = "INSERT INTO clients (client_id, name, redirect_uris, secret_hash, token_endpoint_auth_method, id_token_signed_response_alg, created_at, max_confidentiality, allowed_sensitivity, ehr_launcher, jwks, jwks_uri, grant_types, system_scopes, registration_token_hash, metadata, resource_server_for) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
/// Replaces everything but the id and creation time (RFC 7592 PUT, secret rotation).
pub const UPDATE_CLIENT: &str = "UPDATE clients SET name = $2, redirect_uris = $3, secret_hash = $4, token_endpoint_auth_method = $5, id_token_signed_response_alg = $6, max_confidentiality = $7, allowed_sensitivity = $8, ehr_launcher = $9, jwks = $10, jwks_uri = $11, grant_types = $12, system_scopes = $13, registration_token_hash = $14, metadata = $15, resource_server_for = $16 WHERE client_id = $1";
pub const CLIENT_BY_ID: &str = "SELECT * FROM clients WHERE client_id = $1";
pub const LIST_CLIENTS: &str = "SELECT * FROM clients ORDER BY created_at, client_id";
pub const DELETE_CLIENT: &str = "DELETE FROM clients WHERE client_id = $1";

pub const SIGNING_KEYS: &str = "SELECT * FROM signing_keys ORDER BY created_at, kid";
pub const RETIRE_ACTIVE_KEYS: &str =
    "UPDATE signing_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL";
pub const INSERT_KEY: &str = "INSERT INTO signing_keys (kid, alg, private_pem, created_at, retired_at, activates_at) VALUES ($1, $2, $3, $4, NULL, $5)";
pub const INSERT_FIRST_KEY: &str = "INSERT INTO signing_keys (kid, alg, private_pem, created_at, retired_at, activates_at) VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT DO NOTHING";
pub const DELETE_RETIRED_KEYS: &str =
    "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1";

pub const INSERT_REQUEST: &str = "INSERT INTO authorization_requests (id, client_id, request, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
pub const REQUEST_BY_ID: &str =
    "SELECT * FROM authorization_requests WHERE id = $1 AND expires_at > $2";
pub const DELETE_REQUEST: &str = "DELETE FROM authorization_requests WHERE id = $1";
pub const UPDATE_REQUEST: &str = "UPDATE authorization_requests SET request = $2 WHERE id = $1";

pub const CONSENT: &str =
    "SELECT * FROM consents WHERE user_id = $1 AND client_id = $2 AND patient = $3";
pub const UPSERT_CONSENT: &str = "INSERT INTO consents (user_id, client_id, patient, scope, updated_at, categories, denied_at) VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (user_id, client_id, patient) DO UPDATE SET scope = excluded.scope, updated_at = excluded.updated_at, categories = excluded.categories, denied_at = NULL";
pub const DENY_CONSENT: &str =
    "UPDATE consents SET denied_at = $4 WHERE user_id = $1 AND client_id = $2 AND patient = $3";
pub const DELETE_CONSENT: &str = "DELETE FROM consents WHERE user_id = $1 AND client_id = $2";
pub const NARROW_CONSENT: &str =
    "UPDATE consents SET categories = $3, updated_at = $4 WHERE user_id = $1 AND client_id = $2";

pub const INSERT_GRANT: &str = "INSERT INTO grants (id, user_id, client_id, scope, audience, auth_time, created_at, revoked_at, security, categories, patient, encounter, fhir_context, need_patient_banner, intent, sign_in_id) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, $13, $14, $15)";
pub const GRANTS_OF_USER: &str =
    "SELECT * FROM grants WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 200";
pub const LIST_GRANTS: &str = "SELECT * FROM grants ORDER BY created_at DESC, id LIMIT 1000";
pub const REVOKE_CLIENT_GRANTS: &str = "UPDATE grants SET revoked_at = $3 WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL";
pub const NARROW_GRANT: &str =
    "UPDATE grants SET security = $2, categories = $3 WHERE id = $1 AND revoked_at IS NULL";
pub const GRANT_BY_ID: &str = "SELECT * FROM grants WHERE id = $1";
pub const REVOKE_GRANT: &str =
    "UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

pub const INSERT_CODE: &str = "INSERT INTO authorization_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, nonce, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)";
/// The single atomic step that spends a code.
pub const SPEND_CODE: &str = "UPDATE authorization_codes SET consumed_at = $3 WHERE code_hash = $1 AND client_id = $2 AND consumed_at IS NULL RETURNING *";
pub const CODE_BY_HASH: &str = "SELECT * FROM authorization_codes WHERE code_hash = $1";

pub const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (token_hash, grant_id, client_id, expires_at, created_at, used_at) VALUES ($1, $2, $3, $4, $5, NULL)";
/// The single atomic step that spends a refresh token (rotation).
pub const SPEND_REFRESH: &str = "UPDATE refresh_tokens SET used_at = $3 WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL RETURNING *";
pub const REFRESH_BY_HASH: &str = "SELECT * FROM refresh_tokens WHERE token_hash = $1";

pub const INSERT_ACCESS: &str =
    "INSERT INTO access_tokens (jti, grant_id, expires_at) VALUES ($1, $2, $3)";
pub const ACCESS_ACTIVE: &str = "SELECT COUNT(*) FROM access_tokens a JOIN grants g ON g.id = a.grant_id WHERE a.jti = $1 AND a.expires_at > $2 AND g.revoked_at IS NULL";

pub const PURGE: [&str; 4] = [
    "DELETE FROM authorization_requests WHERE expires_at <= $1",
    "DELETE FROM authorization_codes WHERE expires_at <= $1",
    "DELETE FROM refresh_tokens WHERE expires_at <= $1",
    "DELETE FROM access_tokens WHERE expires_at <= $1",
];

pub const UPSERT_PATIENT: &str = "INSERT INTO patients (id, name, birth_date, gender, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, birth_date = excluded.birth_date, gender = excluded.gender";
pub const PATIENT_BY_ID: &str = "SELECT * FROM patients WHERE id = $1";
/// Case-insensitive substring search on the name; `$1` is already lower-cased with `%`s.
pub const SEARCH_PATIENTS: &str =
    "SELECT * FROM patients WHERE LOWER(name) LIKE $1 ORDER BY name, id LIMIT $2";
pub const COUNT_PATIENTS: &str = "SELECT COUNT(*) FROM patients";

pub const INSERT_LAUNCH: &str = "INSERT INTO launches (launch_hash, issued_to, client_id, patient, encounter, user_id, fhir_context, need_patient_banner, intent, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)";
/// The single atomic step that spends a launch handle.
/// A handle named for one app is spent only by that app: another client's attempt leaves it.
pub const SPEND_LAUNCH: &str = "UPDATE launches SET used_at = $2 WHERE launch_hash = $1 AND used_at IS NULL AND expires_at > $2 AND (client_id IS NULL OR client_id = $3) RETURNING *";
pub const PURGE_LAUNCHES: &str = "DELETE FROM launches WHERE expires_at <= $1";
pub const ACTIVE_ACCESS_GRANT: &str = "SELECT g.* FROM grants g JOIN access_tokens a ON a.grant_id = g.id WHERE a.jti = $1 AND a.expires_at > $2 AND g.revoked_at IS NULL";
pub const RECORD_JTI: &str = "INSERT INTO assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub const INSERT_INITIAL_TOKEN: &str = "INSERT INTO initial_access_tokens (token_hash, created_at, expires_at, used_at) VALUES ($1, $2, $3, NULL)";
pub const SPEND_INITIAL_TOKEN: &str = "UPDATE initial_access_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
pub const INSERT_CLIENT_TOKEN: &str =
    "INSERT INTO client_tokens (jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, NULL)";
pub const CLIENT_TOKEN_ACTIVE: &str =
    "SELECT client_id FROM client_tokens WHERE jti = $1 AND expires_at > $2 AND revoked_at IS NULL";
pub const REVOKE_CLIENT_TOKEN: &str =
    "UPDATE client_tokens SET revoked_at = $2 WHERE jti = $1 AND revoked_at IS NULL";
pub const PURGE_MORE: [&str; 4] = [
    "DELETE FROM sign_ins WHERE expires_at <= $1",
    "DELETE FROM client_tokens WHERE expires_at <= $1",
    "DELETE FROM assertion_jtis WHERE expires_at <= $1",
    "DELETE FROM initial_access_tokens WHERE expires_at <= $1",
];

pub const INSERT_AUDIT_EVENT: &str = "INSERT INTO audit_events (at, event, user_id, client_id, grant_id, detail) VALUES ($1, $2, $3, $4, $5, $6)";
pub const AUDIT_EVENTS: &str = "SELECT at, event, user_id, client_id, grant_id, detail FROM audit_events ORDER BY id DESC LIMIT $1";
pub const AUDIT_EVENTS_OF_USER: &str = "SELECT at, event, user_id, client_id, grant_id, detail FROM audit_events WHERE user_id = $1 ORDER BY id DESC LIMIT $2";
pub const PURGE_AUDIT_EVENTS: &str = "DELETE FROM audit_events WHERE at < $1";
pub const INSERT_SIGN_IN: &str = "INSERT INTO sign_ins (id, user_id, created_at, expires_at, ended_at) VALUES ($1, $2, $3, $4, NULL)";
pub const END_SIGN_IN: &str =
    "UPDATE sign_ins SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL";
pub const SIGN_IN_ACTIVE: &str =
    "SELECT COUNT(*) FROM sign_ins WHERE id = $1 AND ended_at IS NULL AND expires_at > $2";

/// Reserves one password check for the account: a new window when the last one has passed,
/// else one more attempt while fewer than `$4` were made. No row comes back when the account
/// is paused. One statement, so parallel attempts cannot overshoot (SQLite serializes
/// writers; PostgreSQL re-checks the WHERE under the row lock).
pub const RESERVE_SIGN_IN: &str = "INSERT INTO sign_in_guard (user_id, window_start, attempts) VALUES ($1, $2, 1) ON CONFLICT (user_id) DO UPDATE SET window_start = CASE WHEN sign_in_guard.window_start <= $3 THEN excluded.window_start ELSE sign_in_guard.window_start END, attempts = CASE WHEN sign_in_guard.window_start <= $3 THEN 1 ELSE sign_in_guard.attempts + 1 END WHERE sign_in_guard.window_start <= $3 OR sign_in_guard.attempts < $4 RETURNING attempts";
pub const CLEAR_SIGN_IN: &str = "DELETE FROM sign_in_guard WHERE user_id = $1";

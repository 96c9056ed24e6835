-- Apps as OAuth clients: dynamic registration (RFC 7591/7592), asymmetric client
-- authentication (RFC 7523, private_key_jwt) and backend services (client_credentials).

-- The client's public keys: an inline JWKS (JSON) or a URL, never both.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
-- JSON array of the grant types the client may use.
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '["authorization_code","refresh_token"]';
-- The system/ scopes the operator pre-authorized for client_credentials (space-separated).
ALTER TABLE clients ADD COLUMN system_scopes TEXT;
-- RFC 7592: the SHA-256 of the registration access token; NULL for operator-made clients.
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT;
-- The registration metadata as last accepted (JSON), returned by GET /register/{id}.
ALTER TABLE clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- RFC 7523 §3: a client assertion's jti is accepted once within its lifetime; kept in the
-- database so the rule holds across instances.
CREATE TABLE assertion_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- Initial access tokens for dynamic registration, issued by `clearance client token`.
CREATE TABLE initial_access_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- Access tokens issued to backend services (client_credentials): no user, no grant; recorded
-- so introspection and revocation work for them too.
CREATE TABLE client_tokens (
    jti        TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- The audit trail (PRODUCT.md, "Around it"): sign-ins, consent decisions, tokens issued,
-- refreshes, revocations and refused requests. In the database, so that a deployment of
-- several instances keeps one trail and a patient's account page can show their own access
-- history. No foreign keys: the trail outlives the users, clients and grants it names.
-- It never holds a secret (no code, token, password, nor an attempted username).
CREATE TABLE audit_events (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    event     TEXT NOT NULL,
    user_id   TEXT,
    client_id TEXT,
    grant_id  TEXT,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);
CREATE INDEX audit_events_by_at ON audit_events (at);

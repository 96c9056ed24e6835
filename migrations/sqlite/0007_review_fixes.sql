-- Fixes from the security review (issue 9).

-- Remembered consent is per user, client and patient: a practitioner's decision for one
-- patient is not reused for another. '' stands for "no patient in context". `denied_at`: the
-- last Deny for this app and patient, after which nothing is pre-ticked from the old choice.
CREATE TABLE consents_by_patient (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    patient    TEXT NOT NULL DEFAULT '',
    scope      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    categories TEXT NOT NULL DEFAULT '[]',
    denied_at  BIGINT,
    PRIMARY KEY (user_id, client_id, patient)
);
INSERT INTO consents_by_patient (user_id, client_id, patient, scope, updated_at, categories)
    SELECT user_id, client_id, '', scope, updated_at, categories FROM consents;
DROP TABLE consents;
ALTER TABLE consents_by_patient RENAME TO consents;

-- Online guessing protection that holds under parallel attempts: each password check first
-- reserves one of the account's attempts with one atomic upsert, so at most
-- MAX_FAILED_SIGN_INS checks per window, across every instance.
CREATE TABLE sign_in_guard (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    window_start BIGINT NOT NULL,
    attempts     BIGINT NOT NULL
);

-- Introspection answers a token's own client, or a resource server the operator registered
-- for the token's audience: a JSON array of audiences (NULL: not a resource server).
ALTER TABLE clients ADD COLUMN resource_server_for TEXT;

-- A rotated key is published first and signs only from `activates_at`, once resource
-- servers have had time to refetch the JWKS.
ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;

-- SMART `online_access` (App Launch 2.2, "Scopes for requesting a refresh token"): a refresh
-- token usable only while the user remains online. "Online" is the sign-in that approved the
-- grant: from the password until sign-out, or `session_ttl` after it, whichever comes first.
-- A row per sign-in, so that every instance can tell whether it still lasts.
CREATE TABLE sign_ins (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at   BIGINT
);

-- The sign-in that approved the grant (NULL for grants made before this migration).
ALTER TABLE grants ADD COLUMN sign_in_id TEXT;

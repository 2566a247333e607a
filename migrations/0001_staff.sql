-- Staff accounts, server-side sessions, login throttling and the one-time setup link.
-- Every timestamp is UTC (RFC 3339 text written by the application).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'analyst')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

-- Only a SHA-256 of the session id is stored: a leaked database does not leak live sessions.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins; key_hash is a SHA-256 of "account:<email>" or "address:<ip>", so the table holds
-- neither emails nor client addresses in clear.
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    key_hash TEXT NOT NULL,
    at       TEXT NOT NULL
) STRICT;
CREATE INDEX login_failures_key ON login_failures (key_hash, at);

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;

-- Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a browser that signed
-- in gets a random token bound to the account; only its SHA-256 is stored. A login that presents a live
-- one for the account it names is throttled on that device's own failures only, so guesses from other
-- addresses cannot lock the real person out. Deleting the account deletes its devices.
CREATE TABLE device_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX device_tokens_user ON device_tokens (user_id);

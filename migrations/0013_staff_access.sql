-- Staff access: accounts invited, disabled or deleted in the browser, one-time setup links, and per-study
-- grants for staff who are not admins.

-- An account's standing. 'invited': waits for its setup link (no usable password); 'disabled': signs in no
-- more and its sessions are refused; 'deleted': a tombstone (the audit log keeps pointing at its id), its
-- email replaced so the address can be invited again.
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('invited', 'active', 'disabled', 'deleted'));

-- One-time links that let an invited staff member choose a password. Only a SHA-256 of each link is stored;
-- a link is minted when its email is sent (and once more when it is shown to the admin under the file
-- transport), and all of an account's links die when one is used.
CREATE TABLE staff_setup_links (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX staff_setup_links_user ON staff_setup_links (user_id);

-- What a non-admin may see of a study: 'analyst' the aggregate results, 'data_analyst' also the
-- pseudonymous raw files. No row, no study (a 404). Admins need no grant.
CREATE TABLE study_grants (
    study_id   INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('analyst', 'data_analyst')),
    granted_at TEXT NOT NULL,
    PRIMARY KEY (study_id, user_id)
) STRICT;
CREATE INDEX study_grants_user ON study_grants (user_id);

-- A staff invitation in the outbox names its account, not a participant.
ALTER TABLE outbox ADD COLUMN staff_user INTEGER REFERENCES users (id) ON DELETE CASCADE;

-- Refused requests are audited at most once per person, study and kind in a window: this finds the last one.
CREATE INDEX audit_log_refusals ON audit_log (user_id, action, at);

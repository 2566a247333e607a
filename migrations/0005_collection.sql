-- Data collection (weeks 3–8): instrument versions, participants and consent, the diary, pings, and the
-- outbox every email goes through. Timestamps are UTC text; local times are computed in domain code.

-- Per-study collection settings (one row per study, created with defaults on first use).
CREATE TABLE collection_settings (
    study_id            INTEGER PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    pings_per_day       INTEGER NOT NULL DEFAULT 3 CHECK (pings_per_day BETWEEN 1 AND 6),
    window_start        TEXT NOT NULL DEFAULT '09:00',
    window_end          TEXT NOT NULL DEFAULT '17:00',
    min_gap_minutes     INTEGER NOT NULL DEFAULT 60,
    ping_days           INTEGER NOT NULL DEFAULT 7,
    expiry_minutes      INTEGER NOT NULL DEFAULT 60 CHECK (expiry_minutes BETWEEN 10 AND 240),
    diary_target        INTEGER NOT NULL DEFAULT 5,
    diary_days          INTEGER NOT NULL DEFAULT 14,
    reminder_days       INTEGER NOT NULL DEFAULT 3,
    schedule_seed       INTEGER NOT NULL
) STRICT;

-- The wording participants see; frozen when collection starts, every answer records its version.
CREATE TABLE instrument_versions (
    id           INTEGER PRIMARY KEY,
    study_id     INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    consent_text TEXT NOT NULL,
    categories   TEXT NOT NULL, -- JSON array of task categories
    created_at   TEXT NOT NULL,
    frozen_at    TEXT,
    UNIQUE (study_id, version)
) STRICT;

-- A sampled employee who was invited.
CREATE TABLE participants (
    id              INTEGER PRIMARY KEY,
    study_id        INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    employee        INTEGER NOT NULL UNIQUE REFERENCES employees (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('main', 'pilot')),
    invited_at      TEXT NOT NULL,
    consent         TEXT CHECK (consent IN ('accepted', 'declined')),
    consent_at      TEXT,
    consent_version INTEGER,
    withdrawn_at    TEXT,
    diary_opens_on  TEXT,
    diary_closes_on TEXT,
    last_reminder_at TEXT
) STRICT;
CREATE INDEX participants_study ON participants (study_id, role);

-- Magic links: every email carries its own random token (at least 256 bits); only its SHA-256 is stored.
-- A ping email's link also names its ping.
CREATE TABLE link_tokens (
    token_hash  TEXT PRIMARY KEY,
    participant INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    ping        INTEGER REFERENCES pings (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT
) STRICT;

-- Every consent decision with its time and the text version it answered.
CREATE TABLE consent_events (
    id           INTEGER PRIMARY KEY,
    participant  INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    event        TEXT NOT NULL CHECK (event IN ('accepted', 'declined', 'withdrawn')),
    text_version INTEGER NOT NULL,
    at           TEXT NOT NULL
) STRICT;

-- Instrument A.
CREATE TABLE diary_entries (
    id                 INTEGER PRIMARY KEY,
    participant        INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    category           TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    outcome            TEXT NOT NULL CHECK (outcome IN ('all', 'most', 'some', 'none')),
    minutes_with_ai    INTEGER NOT NULL CHECK (minutes_with_ai BETWEEN 0 AND 1440),
    minutes_without_ai INTEGER NOT NULL CHECK (minutes_without_ai BETWEEN 0 AND 1440),
    instrument_version INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;
CREATE INDEX diary_participant ON diary_entries (participant);

-- Instrument B: one row per scheduled ping, unique per (participant, slot).
CREATE TABLE pings (
    id          INTEGER PRIMARY KEY,
    participant INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    slot        INTEGER NOT NULL,
    due_at      TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'sent', 'answered', 'missed', 'cancelled')),
    sent_at     TEXT,
    UNIQUE (participant, slot)
) STRICT;
CREATE INDEX pings_due ON pings (status, due_at);

-- One answer per ping: the primary key makes a second submission a no-op.
CREATE TABLE ping_answers (
    ping               INTEGER PRIMARY KEY REFERENCES pings (id) ON DELETE CASCADE,
    used_copilot       TEXT NOT NULL CHECK (used_copilot IN ('yes', 'no', 'not_working')),
    verification_min   INTEGER NOT NULL DEFAULT 0 CHECK (verification_min BETWEEN 0 AND 60),
    correction_min     INTEGER NOT NULL DEFAULT 0 CHECK (correction_min BETWEEN 0 AND 60),
    context_min        INTEGER NOT NULL DEFAULT 0 CHECK (context_min BETWEEN 0 AND 60),
    trust_min          INTEGER NOT NULL DEFAULT 0 CHECK (trust_min BETWEEN 0 AND 60),
    instrument_version INTEGER NOT NULL,
    answered_at        TEXT NOT NULL,
    CHECK (verification_min + correction_min + context_min + trust_min <= 60)
) STRICT;

-- Every email, written in the same transaction as the change that causes it; a job drains it.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    study_id        INTEGER REFERENCES studies (id) ON DELETE CASCADE,
    participant     INTEGER REFERENCES participants (id) ON DELETE CASCADE,
    -- The ping a ping email announces: if the email is never sent, the ping was never delivered.
    ping            INTEGER REFERENCES pings (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'expired', 'cancelled')),
    -- A ping email is worthless after its answer window: it is never sent after this.
    not_after       TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

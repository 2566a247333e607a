-- What a consent decision answered, provably, and what an erasure removed, without saying whom.

-- The SHA-256 (hex) of the exact text shown (consent text plus the privacy notice as rendered) and how the
-- decision was taken ("web form"). NULL on events recorded before this migration and on withdrawals.
ALTER TABLE consent_events ADD COLUMN text_sha256 TEXT;
ALTER TABLE consent_events ADD COLUMN method TEXT;

-- One row per erased participant: the study, when, who asked, and how many rows of each kind went.
-- No name, email or employee id: the participant id it replaces is gone too.
CREATE TABLE erasures (
    id             INTEGER PRIMARY KEY,
    study_id       INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    diary_entries  INTEGER NOT NULL,
    control_tasks  INTEGER NOT NULL,
    pings          INTEGER NOT NULL,
    answers        INTEGER NOT NULL,
    links          INTEGER NOT NULL,
    consent_events INTEGER NOT NULL,
    mail           INTEGER NOT NULL,
    mail_files     INTEGER NOT NULL,
    usage_rows     INTEGER NOT NULL
) STRICT;
CREATE INDEX erasures_study ON erasures (study_id);

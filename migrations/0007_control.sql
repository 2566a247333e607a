-- Instrument C, control-group method: employees without a copilot seat who log the same task categories
-- with their minutes. They are participants of the 'main' role in the 'control' arm: consent, magic links,
-- withdrawal and reminders work as for everyone; they get no pings and never enter the Layer 2 profile.
ALTER TABLE participants ADD COLUMN arm TEXT NOT NULL DEFAULT 'copilot' CHECK (arm IN ('copilot', 'control'));

CREATE TABLE control_tasks (
    id                 INTEGER PRIMARY KEY,
    participant        INTEGER NOT NULL REFERENCES participants (id) ON DELETE CASCADE,
    category           TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    minutes            INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
    instrument_version INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;
CREATE INDEX control_tasks_participant ON control_tasks (participant);

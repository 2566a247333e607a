-- A study, its five phases, its status history and its approvals checklist.
CREATE TABLE studies (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    vendor          TEXT NOT NULL,
    product         TEXT NOT NULL,
    model_version   TEXT NOT NULL DEFAULT '',
    time_zone       TEXT NOT NULL,
    start_date      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'setup', 'pilot', 'collection', 'analysis', 'readout', 'closed')),
    heavy_share     REAL NOT NULL DEFAULT 0.10,
    moderate_share  REAL NOT NULL DEFAULT 0.50,
    tenure_bounds   TEXT NOT NULL DEFAULT '12,36,60',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;

CREATE TABLE study_phases (
    study_id  INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    phase     TEXT NOT NULL CHECK (phase IN ('setup', 'pilot', 'collection', 'analysis', 'readout')),
    starts_on TEXT NOT NULL,
    ends_on   TEXT NOT NULL,
    PRIMARY KEY (study_id, phase)
) STRICT;

CREATE TABLE status_changes (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    at          TEXT NOT NULL,
    user_id     INTEGER REFERENCES users (id)
) STRICT;

CREATE TABLE approval_items (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    required    INTEGER NOT NULL DEFAULT 1,
    position    INTEGER NOT NULL,
    recorded_by INTEGER REFERENCES users (id),
    recorded_at TEXT,
    reference   TEXT NOT NULL DEFAULT '',
    UNIQUE (study_id, label)
) STRICT;

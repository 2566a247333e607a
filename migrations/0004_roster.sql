-- The employee roster of a study, the vendor's usage imports (raw rows kept), cohorts and the sample.
CREATE TABLE employees (
    id                INTEGER PRIMARY KEY,
    study_id          INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    employee_id       TEXT NOT NULL,
    email             TEXT NOT NULL,
    function          TEXT NOT NULL,
    hire_date         TEXT,
    tenure_band       TEXT,
    time_zone         TEXT NOT NULL,
    login             TEXT,
    -- Derived from the active usage import; NULL = no usage seen.
    usage_score       REAL,
    usage_tiebreak    REAL NOT NULL DEFAULT 0,
    active_days_month REAL,
    gross_hours_month REAL,
    cohort            TEXT CHECK (cohort IN ('heavy', 'moderate', 'light')),
    UNIQUE (study_id, employee_id),
    UNIQUE (study_id, email)
) STRICT;
CREATE INDEX employees_study_cohort ON employees (study_id, cohort, function);

CREATE TABLE roster_imports (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    filename    TEXT NOT NULL,
    rows        INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    user_id     INTEGER REFERENCES users (id)
) STRICT;

CREATE TABLE usage_imports (
    id              INTEGER PRIMARY KEY,
    study_id        INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    source          TEXT NOT NULL CHECK (source IN ('csv', 'github', 'm365')),
    filename        TEXT NOT NULL,
    rows            INTEGER NOT NULL,
    matched         INTEGER NOT NULL,
    unmatched       INTEGER NOT NULL,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    has_hours       INTEGER NOT NULL,
    unit_label      TEXT NOT NULL,
    -- The admin's assumption turning usage units into gross AI hours per month, when the source has no hours.
    hours_per_unit  REAL,
    imported_at     TEXT NOT NULL,
    user_id         INTEGER REFERENCES users (id)
) STRICT;

CREATE TABLE usage_raw (
    id          INTEGER PRIMARY KEY,
    import_id   INTEGER NOT NULL REFERENCES usage_imports (id) ON DELETE CASCADE,
    row_number  INTEGER NOT NULL,
    key         TEXT NOT NULL,
    raw         TEXT NOT NULL
) STRICT;
CREATE INDEX usage_raw_import ON usage_raw (import_id);

-- One row per employee key of an import: what the usage source says about that person. Matching to the
-- roster is redone from here whenever the roster or the admin's conversion changes.
CREATE TABLE usage_summary (
    import_id         INTEGER NOT NULL REFERENCES usage_imports (id) ON DELETE CASCADE,
    key               TEXT NOT NULL,
    key_kind          TEXT NOT NULL CHECK (key_kind IN ('employee_id', 'email', 'login')),
    score             REAL NOT NULL,
    tiebreak          REAL NOT NULL,
    active_days_month REAL,
    units             REAL NOT NULL,
    gross_hours_month REAL,
    PRIMARY KEY (import_id, key_kind, key)
) STRICT;

CREATE TABLE sample_draws (
    id             INTEGER PRIMARY KEY,
    study_id       INTEGER NOT NULL UNIQUE REFERENCES studies (id) ON DELETE CASCADE,
    seed           INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    min_per_cohort INTEGER NOT NULL,
    pilot_n        INTEGER NOT NULL,
    drawn_at       TEXT NOT NULL,
    user_id        INTEGER REFERENCES users (id)
) STRICT;

CREATE TABLE sample_members (
    study_id    INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    employee    INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('main', 'pilot')),
    -- Set by the invitation step (issue 3); a draw with any invited member cannot be redrawn.
    invited_at  TEXT,
    PRIMARY KEY (study_id, employee)
) STRICT;

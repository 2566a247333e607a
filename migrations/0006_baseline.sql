-- Instrument C, the counterfactual baseline: what a task category costs without AI, by method.
CREATE TABLE baseline_historical (
    id         INTEGER PRIMARY KEY,
    study_id   INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    category   TEXT NOT NULL,
    minutes    REAL NOT NULL CHECK (minutes > 0),
    source     TEXT NOT NULL,
    entered_by INTEGER REFERENCES users (id),
    entered_at TEXT NOT NULL,
    UNIQUE (study_id, category)
) STRICT;

CREATE TABLE baseline_expert (
    id         INTEGER PRIMARY KEY,
    study_id   INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    expert     TEXT NOT NULL,
    category   TEXT NOT NULL,
    low        REAL NOT NULL CHECK (low > 0),
    likely     REAL NOT NULL,
    high       REAL NOT NULL,
    entered_by INTEGER REFERENCES users (id),
    entered_at TEXT NOT NULL,
    CHECK (low <= likely AND likely <= high),
    UNIQUE (study_id, expert, category)
) STRICT;

-- Cost per unit of business output (issue 13): the unit of value, the entered lines of the monthly cost
-- stack, and each task category's outcome class with its DAPM record. Only what an admin enters is stored;
-- the measured lines (oversight, rework) are computed from the study's data each time.

-- The unit of value: its name, the units produced per month (with their source) and the cost per unit
-- before AI (NULL: derived from Instrument C's baseline minutes × the loaded labour cost).
CREATE TABLE tco_units (
    study_id        INTEGER PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    unit            TEXT NOT NULL CHECK (length(unit) BETWEEN 1 AND 100),
    units_per_month REAL NOT NULL CHECK (units_per_month > 0),
    units_source    TEXT NOT NULL CHECK (length(units_source) BETWEEN 1 AND 200),
    before_per_unit REAL CHECK (before_per_unit IS NULL OR before_per_unit >= 0),
    before_source   TEXT NOT NULL,
    updated_by      INTEGER REFERENCES users (id),
    updated_at      TEXT NOT NULL
) STRICT;

-- An entered monthly amount of one stack line, with its source (licences come from the renewal
-- assumptions, oversight and rework are measured; "work" absent means it comes from the diary).
CREATE TABLE tco_lines (
    study_id   INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    line       TEXT NOT NULL CHECK (line IN ('work', 'model_spend', 'data', 'platform', 'integration',
                                             'security', 'governance')),
    monthly    REAL NOT NULL CHECK (monthly >= 0),
    source     TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
    updated_by INTEGER REFERENCES users (id),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (study_id, line)
) STRICT;

-- A task category's outcome class with a one-line reason.
CREATE TABLE tco_classes (
    study_id   INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    category   TEXT NOT NULL,
    class      TEXT NOT NULL CHECK (class IN ('acceleration', 'automation')),
    reason     TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    updated_by INTEGER REFERENCES users (id),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (study_id, category)
) STRICT;

-- The three DAPM conditions of a category classed as automation (1 execution separated from authority,
-- 2 accountability aligned with decision tempo, 3 decision rights redesigned): met or not, who confirmed
-- it and the evidence.
CREATE TABLE tco_dapm (
    study_id     INTEGER NOT NULL,
    category     TEXT NOT NULL,
    condition    INTEGER NOT NULL CHECK (condition IN (1, 2, 3)),
    met          INTEGER NOT NULL CHECK (met IN (0, 1)),
    confirmed_by TEXT NOT NULL CHECK (length(confirmed_by) BETWEEN 1 AND 200),
    evidence     TEXT NOT NULL CHECK (length(evidence) BETWEEN 1 AND 200),
    PRIMARY KEY (study_id, category, condition),
    FOREIGN KEY (study_id, category) REFERENCES tco_classes (study_id, category) ON DELETE CASCADE
) STRICT;

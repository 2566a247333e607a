-- Every vendor's usage export (issue 12): the roster gains the identifiers vendors match on (a Microsoft
-- user principal name; an id the vendor assigns, e.g. an IAM Identity Center user id or a Viva PersonId),
-- and each usage import says which source, variant ("version") and text encoding it read. The CHECKs on
-- the import's source and the summary's key kind are widened, which in SQLite means rebuilding the three
-- usage tables: children are rebuilt beside the new parent and the old ones dropped first, so no
-- ON DELETE CASCADE fires.
ALTER TABLE employees ADD COLUMN upn TEXT;
ALTER TABLE employees ADD COLUMN vendor_id TEXT;

CREATE TABLE usage_imports_new (
    id              INTEGER PRIMARY KEY,
    study_id        INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    source          TEXT NOT NULL CHECK (source IN ('csv', 'github', 'github-seats', 'm365', 'chatgpt', 'cursor',
                                                    'gemini', 'amazon-q', 'viva')),
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
    user_id         INTEGER REFERENCES users (id),
    -- Which variant of the source was read (e.g. "per-user report, NDJSON"); empty for imports before it.
    version         TEXT NOT NULL DEFAULT '',
    -- "UTF-8", "UTF-8 with BOM" or "Windows-1252".
    encoding        TEXT NOT NULL DEFAULT 'UTF-8'
) STRICT;
INSERT INTO usage_imports_new (id, study_id, source, filename, rows, matched, unmatched, period_start, period_end,
    has_hours, unit_label, hours_per_unit, imported_at, user_id)
SELECT id, study_id, source, filename, rows, matched, unmatched, period_start, period_end,
    has_hours, unit_label, hours_per_unit, imported_at, user_id FROM usage_imports;

CREATE TABLE usage_raw_new (
    id          INTEGER PRIMARY KEY,
    import_id   INTEGER NOT NULL REFERENCES usage_imports_new (id) ON DELETE CASCADE,
    row_number  INTEGER NOT NULL,
    key         TEXT NOT NULL,
    raw         TEXT NOT NULL
) STRICT;
INSERT INTO usage_raw_new (id, import_id, row_number, key, raw)
SELECT id, import_id, row_number, key, raw FROM usage_raw;

CREATE TABLE usage_summary_new (
    import_id         INTEGER NOT NULL REFERENCES usage_imports_new (id) ON DELETE CASCADE,
    key               TEXT NOT NULL,
    key_kind          TEXT NOT NULL CHECK (key_kind IN ('employee_id', 'email', 'login', 'upn', 'vendor_id')),
    score             REAL NOT NULL,
    tiebreak          REAL NOT NULL,
    active_days_month REAL,
    units             REAL NOT NULL,
    gross_hours_month REAL,
    PRIMARY KEY (import_id, key_kind, key)
) STRICT;
INSERT INTO usage_summary_new (import_id, key, key_kind, score, tiebreak, active_days_month, units, gross_hours_month)
SELECT import_id, key, key_kind, score, tiebreak, active_days_month, units, gross_hours_month FROM usage_summary;

DROP TABLE usage_raw;
DROP TABLE usage_summary;
DROP TABLE usage_imports;
ALTER TABLE usage_imports_new RENAME TO usage_imports;
ALTER TABLE usage_raw_new RENAME TO usage_raw;
ALTER TABLE usage_summary_new RENAME TO usage_summary;
CREATE INDEX usage_raw_import ON usage_raw (import_id);

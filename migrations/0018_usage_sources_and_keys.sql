-- Issue 12: usage imports come from nine sources (GitHub's seat list, ChatGPT Enterprise, Cursor, Gemini,
-- Amazon Q Developer, Viva Insights beside the first three), and people are also matched on a Microsoft
-- user principal name ('upn') or an id the vendor assigns ('vendor_id': an IAM Identity Center user id, a
-- Viva PersonId). SQLite cannot alter a CHECK, so the three usage tables are rebuilt with the same columns.
-- The old tables are renamed first (their children's foreign keys follow them), so no row is deleted by a
-- cascade while foreign keys are enforced, and dropped last, children first.
ALTER TABLE usage_summary RENAME TO usage_summary_old;
ALTER TABLE usage_raw RENAME TO usage_raw_old;
ALTER TABLE usage_imports RENAME TO usage_imports_old;
DROP INDEX usage_raw_import;

CREATE TABLE usage_imports (
    id              INTEGER PRIMARY KEY,
    study_id        INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    source          TEXT NOT NULL CHECK (source IN ('csv', 'github', 'github-seats', 'm365', 'chatgpt',
                                                    'cursor', 'gemini', 'amazon-q', 'viva')),
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
INSERT INTO usage_imports (id, study_id, source, filename, rows, matched, unmatched, period_start,
                           period_end, has_hours, unit_label, hours_per_unit, imported_at, user_id)
SELECT id, study_id, source, filename, rows, matched, unmatched, period_start,
       period_end, has_hours, unit_label, hours_per_unit, imported_at, user_id
FROM usage_imports_old;

CREATE TABLE usage_raw (
    id          INTEGER PRIMARY KEY,
    import_id   INTEGER NOT NULL REFERENCES usage_imports (id) ON DELETE CASCADE,
    row_number  INTEGER NOT NULL,
    key         TEXT NOT NULL,
    raw         TEXT NOT NULL
) STRICT;
INSERT INTO usage_raw (id, import_id, row_number, key, raw)
SELECT id, import_id, row_number, key, raw FROM usage_raw_old;
CREATE INDEX usage_raw_import ON usage_raw (import_id);

-- One row per employee key of an import: what the usage source says about that person. Matching to the
-- roster is redone from here whenever the roster or the admin's conversion changes.
CREATE TABLE usage_summary (
    import_id         INTEGER NOT NULL REFERENCES usage_imports (id) ON DELETE CASCADE,
    key               TEXT NOT NULL,
    key_kind          TEXT NOT NULL
                      CHECK (key_kind IN ('employee_id', 'email', 'login', 'upn', 'vendor_id')),
    score             REAL NOT NULL,
    tiebreak          REAL NOT NULL,
    active_days_month REAL,
    units             REAL NOT NULL,
    gross_hours_month REAL,
    PRIMARY KEY (import_id, key_kind, key)
) STRICT;
INSERT INTO usage_summary (import_id, key, key_kind, score, tiebreak, active_days_month, units,
                           gross_hours_month)
SELECT import_id, key, key_kind, score, tiebreak, active_days_month, units, gross_hours_month
FROM usage_summary_old;

DROP TABLE usage_summary_old;
DROP TABLE usage_raw_old;
DROP TABLE usage_imports_old;

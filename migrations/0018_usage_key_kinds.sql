-- Issue 12: usage is also matched on a Microsoft user principal name ('upn') and on an id the vendor
-- assigns ('vendor_id': an IAM Identity Center user id, a Viva PersonId). SQLite cannot alter a CHECK, so
-- the table is rebuilt with the same columns and the wider list.
CREATE TABLE usage_summary_new (
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
INSERT INTO usage_summary_new
    (import_id, key, key_kind, score, tiebreak, active_days_month, units, gross_hours_month)
SELECT import_id, key, key_kind, score, tiebreak, active_days_month, units, gross_hours_month
FROM usage_summary;
DROP TABLE usage_summary;
ALTER TABLE usage_summary_new RENAME TO usage_summary;

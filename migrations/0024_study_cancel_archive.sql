-- no-transaction
-- A study can be cancelled (a new status) and archived (a mark on a closed or cancelled study, so the
-- list can hide it while its history still says which). Widening the status CHECK means rebuilding
-- `studies`, which 25 tables reference with ON DELETE CASCADE: dropping the old table with foreign keys on
-- would empty every one of them. So this migration runs outside sqlx's transaction, turns foreign keys
-- off (a no-op inside a transaction), rebuilds the table in its own transaction (SQLite's twelve-step
-- procedure: the children keep naming `studies`, which is the new table once it is renamed), checks the
-- references, and turns foreign keys back on. Run twice, it rebuilds the same table again.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE studies_new (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    vendor          TEXT NOT NULL,
    product         TEXT NOT NULL,
    model_version   TEXT NOT NULL DEFAULT '',
    time_zone       TEXT NOT NULL,
    start_date      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'setup', 'pilot', 'collection', 'analysis', 'readout', 'closed', 'cancelled')),
    heavy_share     REAL NOT NULL DEFAULT 0.10,
    moderate_share  REAL NOT NULL DEFAULT 0.50,
    tenure_bounds   TEXT NOT NULL DEFAULT '12,36,60',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    -- Set when an admin archives a closed or cancelled study: the list leaves it out unless asked.
    archived_at     TEXT,
    CHECK (archived_at IS NULL OR status IN ('closed', 'cancelled'))
) STRICT;
INSERT INTO studies_new (id, name, vendor, product, model_version, time_zone, start_date, status,
    heavy_share, moderate_share, tenure_bounds, created_at, updated_at)
SELECT id, name, vendor, product, model_version, time_zone, start_date, status,
    heavy_share, moderate_share, tenure_bounds, created_at, updated_at FROM studies;
DROP TABLE studies;
ALTER TABLE studies_new RENAME TO studies;
COMMIT;
PRAGMA foreign_keys = ON;

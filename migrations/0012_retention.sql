-- Retention: a study whose raw data was purged (its retention date passed, or an admin purged it early),
-- with the aggregate results frozen just before, so the report, readout and summary export keep working.
-- One row per purged study; its presence is what makes the purge run once.
CREATE TABLE study_purges (
    study_id  INTEGER PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    -- The day of the purge in the study's time zone (YYYY-MM-DD), shown on every page that reads the snapshot.
    purged_on TEXT NOT NULL,
    purged_at TEXT NOT NULL,
    -- JSON: the report view and the summary export as they were shown (small cells already hidden).
    snapshot  TEXT NOT NULL
) STRICT;

-- Released results: what every reader who is not an admin sees (issue 11). Each release freezes the
-- report, readout, analysis page, waves groups and summary export as computed at the moment of release,
-- small cells already hidden and aggregates only (no person-level row, no pseudonym). Live figures would
-- let a reader difference two visits around one person's diary entry or erasure; released ones change
-- only when an admin (or the end of collection) releases again, and a release needs at least k
-- participants with new activity since the previous one (see src/reports/release.rs).
CREATE TABLE study_releases (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('interim', 'final')),
    released_at TEXT NOT NULL,
    -- The day of the release in the study's time zone (YYYY-MM-DD), shown beside the released figures.
    released_on TEXT NOT NULL,
    actor       TEXT NOT NULL,
    -- JSON: the frozen figures (src/reports/release.rs `Release`).
    snapshot    TEXT NOT NULL
) STRICT;
CREATE INDEX study_releases_study ON study_releases (study_id, id);

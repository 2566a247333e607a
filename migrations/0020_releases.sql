-- Released results: what every reader who is not an admin sees (issue 11). A release freezes the
-- report, readout, analysis page, baseline, collection page, waves groups and summary export as computed
-- at the moment of release, small cells already hidden and aggregates only (no person-level row, no
-- pseudonym). Live figures would let a reader difference two visits around one person's diary entry or
-- erasure. The results are released once, when collection ends ('final'); an admin may release again
-- ('update', new renewal assumptions) only while no participant's data changed since (see
-- src/reports/release.rs).
CREATE TABLE study_releases (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('final', 'update')),
    released_at TEXT NOT NULL,
    -- The day of the release in the study's time zone (YYYY-MM-DD), shown beside the released figures.
    released_on TEXT NOT NULL,
    actor       TEXT NOT NULL,
    -- JSON: the frozen figures (src/reports/release.rs `Release`).
    snapshot    TEXT NOT NULL
) STRICT;
CREATE INDEX study_releases_study ON study_releases (study_id, id);

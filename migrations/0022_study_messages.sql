-- The emails participants get, per study (issue 14): the sender (name, address, organisation, contact line)
-- and the subject and plain-text body of each message, every saved change a new version (the highest is
-- current; none means the default text). One idea: what a study's mail says and who it comes from. No
-- personal data: bodies hold placeholders, filled and given their links only when a message is sent.
CREATE TABLE message_versions (
    id        INTEGER PRIMARY KEY,
    study_id  INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    message   TEXT NOT NULL CHECK (message IN ('invitation', 'control_invitation', 'reminder', 'ping',
                                               'nudge_consent', 'nudge_diary', 'nudge_checkins')),
    version   INTEGER NOT NULL,
    subject   TEXT NOT NULL,
    body      TEXT NOT NULL,
    saved_at  TEXT NOT NULL,
    UNIQUE (study_id, message, version)
) STRICT;

CREATE TABLE sender_versions (
    id           INTEGER PRIMARY KEY,
    study_id     INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    address      TEXT NOT NULL,
    organisation TEXT NOT NULL,
    contact      TEXT NOT NULL,
    saved_at     TEXT NOT NULL,
    UNIQUE (study_id, version)
) STRICT;

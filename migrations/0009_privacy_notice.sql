-- What participants are told about their data, per study: who controls it, whom to ask, why it is
-- collected, and until when it is kept. Shown on the consent and withdraw pages and in every email.
CREATE TABLE privacy_notices (
    study_id        INTEGER PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    controller      TEXT NOT NULL,
    contact_name    TEXT NOT NULL,
    contact_email   TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    -- NULL: twelve months after the readout phase ends (computed, so it follows a moved timeline).
    retention_until TEXT,
    updated_at      TEXT NOT NULL
) STRICT;

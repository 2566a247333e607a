-- The readout (weeks 11-12): the renewal economics the admin assumes, and each study's export key.

-- Shown with every figure derived from them; changing them is audited.
CREATE TABLE study_economics (
    study_id     INTEGER PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    seat_price   REAL NOT NULL CHECK (seat_price > 0),
    seats        INTEGER NOT NULL CHECK (seats > 0),
    hourly_cost  REAL NOT NULL CHECK (hourly_cost > 0),
    currency     TEXT NOT NULL CHECK (length(currency) = 3),
    updated_by   INTEGER REFERENCES users (id),
    updated_at   TEXT NOT NULL
) STRICT;

-- The secret behind a study's pseudonymous participant ids (HMAC-SHA-256 of the employee id): stable across
-- exports of one study, unrelated between studies, never exported.
CREATE TABLE export_keys (
    study_id   INTEGER PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
    key        BLOB NOT NULL CHECK (length(key) = 32),
    created_at TEXT NOT NULL
) STRICT;

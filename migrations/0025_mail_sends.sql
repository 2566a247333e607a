-- One row per attempt to hand a message to the mail server, so the per-minute cap counts every attempt
-- (delivered, refused or failed) from every process on the file. A row holds times only, no person: it
-- outlives an erasure, and the drain deletes rows older than an hour. `ended_at` is NULL while the attempt
-- runs; an attempt still running counts against the cap until it ends (or its lease runs out).
CREATE TABLE mail_sends (
    id         INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at   TEXT
) STRICT;
CREATE INDEX mail_sends_ended ON mail_sends (ended_at);

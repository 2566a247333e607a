-- Versions before secure_delete was on left deleted rows (mail bodies with live links, among others) in
-- the file's free pages, where no UPDATE or DELETE reaches them. Start-up rebuilds the file once with VACUUM
-- while this table has a row, then empties it (a new database is rebuilt too, at no cost).
CREATE TABLE vacuum_due (
    reason TEXT NOT NULL
) STRICT;
INSERT INTO vacuum_due (reason) VALUES ('free pages written before secure_delete was on');

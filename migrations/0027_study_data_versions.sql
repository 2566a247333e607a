-- Every write to the data a study's report, analysis and readout are computed from bumps that study's
-- data version, so a cached computation is reused only while its version is current: a change shows up at
-- the next view. Triggers, not application code, so that no write path (answers, diary, tick, imports,
-- erasure, purge, the CLI) can forget it. No foreign key: deleting a study deletes its rows, whose
-- triggers still bump; the row stays and only grows, so a (study, version) pair is never seen twice.
CREATE TABLE study_data_versions (
    study_id INTEGER PRIMARY KEY,
    version  INTEGER NOT NULL
) STRICT;

CREATE TRIGGER studies_update_bumps_data_version AFTER UPDATE ON studies
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT NEW.id, 1 WHERE NEW.id IS NOT NULL
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER employees_insert_bumps_data_version AFTER INSERT ON employees
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT NEW.study_id, 1 WHERE NEW.study_id IS NOT NULL
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER employees_update_bumps_data_version AFTER UPDATE ON employees
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT NEW.study_id, 1 WHERE NEW.study_id IS NOT NULL
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER employees_delete_bumps_data_version AFTER DELETE ON employees
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT OLD.study_id, 1 WHERE OLD.study_id IS NOT NULL
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER participants_insert_bumps_data_version AFTER INSERT ON participants
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT NEW.study_id, 1 WHERE NEW.study_id IS NOT NULL
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER participants_update_bumps_data_version AFTER UPDATE ON participants
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT NEW.study_id, 1 WHERE NEW.study_id IS NOT NULL
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER participants_delete_bumps_data_version AFTER DELETE ON participants
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT OLD.study_id, 1 WHERE OLD.study_id IS NOT NULL
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER diary_entries_insert_bumps_data_version AFTER INSERT ON diary_entries
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM participants p WHERE p.id = NEW.participant
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER diary_entries_update_bumps_data_version AFTER UPDATE ON diary_entries
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM participants p WHERE p.id = NEW.participant
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER diary_entries_delete_bumps_data_version AFTER DELETE ON diary_entries
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM participants p WHERE p.id = OLD.participant
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER pings_insert_bumps_data_version AFTER INSERT ON pings
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM participants p WHERE p.id = NEW.participant
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER pings_update_bumps_data_version AFTER UPDATE ON pings
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM participants p WHERE p.id = NEW.participant
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER pings_delete_bumps_data_version AFTER DELETE ON pings
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM participants p WHERE p.id = OLD.participant
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ping_answers_insert_bumps_data_version AFTER INSERT ON ping_answers
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM pings g JOIN participants p ON p.id = g.participant WHERE g.id = NEW.ping
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ping_answers_update_bumps_data_version AFTER UPDATE ON ping_answers
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM pings g JOIN participants p ON p.id = g.participant WHERE g.id = NEW.ping
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ping_answers_delete_bumps_data_version AFTER DELETE ON ping_answers
BEGIN
    INSERT INTO study_data_versions (study_id, version) SELECT p.study_id, 1 FROM pings g JOIN participants p ON p.id = g.participant WHERE g.id = OLD.ping
      ON CONFLICT (study_id) DO UPDATE SET version = version + 1;
END;

-- A deleted account keeps its row (the audit log refers to it), so ON DELETE CASCADE never removed its
-- device cookies; neither did disabling one. Both do now; this removes what earlier versions left behind.
DELETE FROM device_tokens WHERE user_id IN (SELECT id FROM users WHERE status IN ('disabled', 'deleted'));

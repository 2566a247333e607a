-- The tick marks missed every ping past its answer window (`status IN ('scheduled', 'sent') AND
-- expires_at <= now`). With only (status, due_at) that read every scheduled ping of every study (375,000 at
-- 25,000 participants) once a tick; this index makes it a range read of the expired ones.
CREATE INDEX pings_expiry ON pings (status, expires_at);

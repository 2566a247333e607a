-- No usable link at rest. The outbox stores what a message is (kind, recipient, study, participant, ping),
-- never its text: the body is written and its link minted when the message is sent, and only the link's
-- SHA-256 is stored. The bodies queued before this migration (each carrying a live link) are emptied first,
-- so that with secure_delete on their bytes are overwritten, then the columns go; start-up checkpoints the
-- WAL afterwards.
UPDATE outbox SET text_body = '', html_body = '', subject = '';
ALTER TABLE outbox DROP COLUMN text_body;
ALTER TABLE outbox DROP COLUMN html_body;
ALTER TABLE outbox DROP COLUMN subject;

-- Every link expires. A ping link: its ping's answer window plus 30 minutes (it used to be 30 days).
UPDATE link_tokens
SET expires_at = (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', g.expires_at, '+30 minutes')
                  FROM pings g WHERE g.id = link_tokens.ping)
WHERE ping IS NOT NULL;

-- A link to a participant's page (invitation, reminder, nudge), which had none: seven days after their
-- diary and ping week end if they consented (the diary's last day is taken as ending at UTC midnight plus a
-- day, covering every time zone), otherwise seven days after the collection phase ends (likewise). Links
-- of a participant with neither date stop working now.
UPDATE link_tokens
SET expires_at = COALESCE(
    (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00',
                     MAX(date(p.diary_closes_on, '+2 days'),
                         COALESCE((SELECT MAX(g.expires_at) FROM pings g WHERE g.participant = p.id), '')),
                     '+7 days')
     FROM participants p
     WHERE p.id = link_tokens.participant AND p.consent = 'accepted' AND p.diary_closes_on IS NOT NULL),
    (SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', sp.ends_on, '+2 days', '+7 days')
     FROM participants p JOIN study_phases sp ON sp.study_id = p.study_id AND sp.phase = 'collection'
     WHERE p.id = link_tokens.participant),
    strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'))
WHERE ping IS NULL AND expires_at IS NULL;

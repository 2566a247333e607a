-- When an admin last nudged each participant: a second nudge within 24 hours is refused, and the collection
-- page shows the date. Earlier nudges are read back from the outbox, where they still are.
ALTER TABLE participants ADD COLUMN last_nudged_at TEXT;
UPDATE participants SET last_nudged_at =
    (SELECT MAX(o.created_at) FROM outbox o WHERE o.participant = participants.id AND o.kind = 'nudge');

-- Which drain holds a message's lease (a random token per drain): only that drain may record the message
-- sent or put it back, and a drain stopping cleanly puts back exactly its own claim.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
-- The claim takes the next due message in this order (pings by deadline, then the rest by id) straight
-- from an index, so claiming stays cheap with tens of thousands of messages waiting.
CREATE INDEX outbox_claim_order ON outbox (status, (not_after IS NULL), not_after, id);

-- 0004_listing_revision: a counter of content changes per listing. Job ids carry it, so content that
-- comes back to an earlier hash (A -> B -> A) gets fresh jobs instead of colliding with A's finished
-- ones, which BullMQ keeps for a while and would treat the re-add as a no-op. Existing rows start at
-- 0, whose job ids are the ids used before this column existed, so jobs already queued still match.
ALTER TABLE listings ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0);

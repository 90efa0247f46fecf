-- 0005_predictions_created_at: the API's search index asks "which model version predicted last?" on every
-- poll (SEARCH_INDEX_POLL_MS, 500 ms by default): ORDER BY created_at DESC LIMIT 1 over every version.
-- The (model_version, created_at) index cannot serve that without a version, so each poll read the whole
-- table (0.5 s per poll at 540,000 predictions). Built inside the migration's transaction: writes to
-- predictions wait while it builds.
CREATE INDEX predictions_created_at_idx ON predictions (created_at);

-- 0001_init: the pipeline's tables. Never edit this file once it has landed; add 0002_... instead.
-- Tables are created unqualified: the migrate command sets search_path to the configured schema.
-- Statuses and kinds are text + CHECK rather than enum types, so adding a value is a one-line
-- constraint swap in a later migration instead of an ALTER TYPE that cannot run in a transaction.

-- One row per catalogue backfill, nightly job or other batch; listings point at the last run that saw them.
CREATE TABLE runs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind        text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_-]*$'),
  source      text        NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz NULL,
  status      text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed')),
  error       text        NULL,
  options     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  counts      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX runs_kind_started_at_idx ON runs (kind, started_at DESC);

-- Catalogue rows rejected before they became listings (bad CSV rows, missing ids, ...).
CREATE TABLE row_rejects (
  run_id     bigint      NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  file       text        NOT NULL,
  line       integer     NOT NULL CHECK (line > 0),
  reason     text        NOT NULL,
  excerpt    text        NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, file, line)
);

CREATE TABLE listings (
  id              text        PRIMARY KEY,
  name_raw        text        NOT NULL,
  name            text        NOT NULL,
  description_raw text        NOT NULL,
  -- The cleaned name + description the text models read (DESIGN.md section 3).
  model_text      text        NOT NULL,
  -- NULL when the price string could not be parsed: missing, never zero.
  price           numeric     NULL CHECK (price >= 0),
  price_raw       text        NOT NULL,
  location        text        NOT NULL,
  category_path   text        NULL,
  label           text        NULL,
  create_time     timestamptz NULL,
  image_count     integer     NOT NULL DEFAULT 0 CHECK (image_count >= 0),
  -- Hash of everything the pipeline reads; a rerun only redoes listings whose hash changed.
  content_hash    text        NOT NULL,
  status          text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'processed', 'failed', 'skipped')),
  status_reason   text        NULL,
  source          text        NOT NULL CHECK (source ~ '^[a-z][a-z0-9_-]*$'),
  last_run_id     bigint      NULL REFERENCES runs (id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  processed_at    timestamptz NULL
);
-- Serves countByStatus and the keyset scan "processed listings without a prediction".
CREATE INDEX listings_status_id_idx ON listings (status, id);
CREATE INDEX listings_last_run_id_idx ON listings (last_run_id);
CREATE INDEX listings_label_idx ON listings (label) WHERE label IS NOT NULL;

CREATE TABLE images (
  id             text        PRIMARY KEY,
  listing_id     text        NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
  position       integer     NOT NULL CHECK (position >= 0),
  -- A file path (backfill) or URL (webhook).
  source_uri     text        NOT NULL,
  status         text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'cleaned', 'failed')),
  failure_code   text        NULL,
  failure_reason text        NULL,
  bytes          integer     NULL CHECK (bytes >= 0),
  width          integer     NULL CHECK (width > 0),
  height         integer     NULL CHECK (height > 0),
  format         text        NULL,
  -- The letterboxed JPEG served by the API; the source file is never copied.
  cleaned_jpeg   bytea       NULL,
  content_hash   text        NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);
CREATE INDEX images_listing_id_position_idx ON images (listing_id, position);
CREATE INDEX images_status_idx ON images (status);
CREATE INDEX images_failure_code_idx ON images (failure_code) WHERE status = 'failed';

-- Vectors are real[] (float4, as the models produce); one-dimensional, non-empty, no NULL elements.
CREATE TABLE text_embeddings (
  listing_id    text        NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
  model_version text        NOT NULL,
  vector        real[]      NOT NULL CHECK (cardinality(vector) > 0 AND array_ndims(vector) = 1 AND array_position(vector, NULL) IS NULL),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, model_version)
);

CREATE TABLE image_embeddings (
  image_id      text        NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  model_version text        NOT NULL,
  vector        real[]      NOT NULL CHECK (cardinality(vector) > 0 AND array_ndims(vector) = 1 AND array_position(vector, NULL) IS NULL),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (image_id, model_version)
);

-- Float vectors do not compress: skip pglz and store them out of line uncompressed (faster writes).
ALTER TABLE text_embeddings ALTER COLUMN vector SET STORAGE EXTERNAL;
ALTER TABLE image_embeddings ALTER COLUMN vector SET STORAGE EXTERNAL;

CREATE TABLE predictions (
  listing_id    text        NOT NULL REFERENCES listings (id) ON DELETE CASCADE,
  model_version text        NOT NULL,
  category      text        NOT NULL,
  category_code integer     NOT NULL,
  -- One probability per class, in class-code order (13 for the marketplace taxonomy).
  probabilities real[]      NOT NULL CHECK (cardinality(probabilities) > 0 AND array_ndims(probabilities) = 1 AND array_position(probabilities, NULL) IS NULL),
  modality      text        NOT NULL CHECK (modality IN ('combined', 'text', 'image')),
  -- The fused embedding used for "similar listings".
  embedding     real[]      NOT NULL CHECK (cardinality(embedding) > 0 AND array_ndims(embedding) = 1 AND array_position(embedding, NULL) IS NULL),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (listing_id, model_version),
  CHECK (category_code >= 0 AND category_code < cardinality(probabilities))
);
-- Similarity and category-mix queries read one model version's predictions in listing order.
CREATE INDEX predictions_model_version_listing_id_idx ON predictions (model_version, listing_id);

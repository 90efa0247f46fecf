-- 0003_uploaded_photos: photos that arrive inline (base64) with a webhook delivery. The image-clean
-- pool reads them through the source "upload:<image id>"; image ids of uploads derive from their bytes,
-- so a stored upload never changes and a repeated delivery writes nothing new.
CREATE TABLE uploaded_photos (
  image_id   text        PRIMARY KEY,
  listing_id text        NOT NULL,
  bytes      bytea       NOT NULL CHECK (octet_length(bytes) > 0),
  sha256     text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploaded_photos_listing_id_idx ON uploaded_photos (listing_id);
-- Photo bytes are already compressed: skip pglz.
ALTER TABLE uploaded_photos ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- The upload goes when its image row goes (photo removed from the listing, listing deleted). Uploads
-- are stored just before their image rows exist, so a foreign key cannot express this.
CREATE FUNCTION uploaded_photos_follow_images() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM uploaded_photos WHERE image_id = OLD.id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER images_delete_upload AFTER DELETE ON images
  FOR EACH ROW EXECUTE FUNCTION uploaded_photos_follow_images();

-- The API's vector index follows predictions as they land: "what changed since T" for one model version.
CREATE INDEX predictions_model_version_created_at_idx ON predictions (model_version, created_at);

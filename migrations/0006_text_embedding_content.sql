-- 0006_text_embedding_content: which content of its listing a text embedding was computed from. A text
-- embedding is keyed by listing, so after an edit the old content's vector stayed under the listing: an
-- infer job for the new content whose text-embed job stored nothing (it failed, or ran another encoder
-- version) classified the new content from the old text, and `train` trained on it. Readers now ask for
-- the vector of the content they classify. Existing rows take their listing's current hash: the same
-- assumption every reader made before this column existed.
ALTER TABLE text_embeddings ADD COLUMN content_hash text;
UPDATE text_embeddings t SET content_hash = l.content_hash FROM listings l WHERE l.id = t.listing_id;
ALTER TABLE text_embeddings ALTER COLUMN content_hash SET NOT NULL;

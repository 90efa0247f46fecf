-- 0002_image_skipped: photos of a listing that is deliberately not processed (a duplicate listing)
-- end as 'skipped' with the reason in failure_reason, so every photo row has a final status.
ALTER TABLE images DROP CONSTRAINT images_status_check;
ALTER TABLE images ADD CONSTRAINT images_status_check CHECK (status IN ('pending', 'cleaned', 'failed', 'skipped'));

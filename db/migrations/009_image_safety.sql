-- Image safety: ids are never reused, and uploads in flight count against the quota.
--
-- deleted_images: the id of every deleted image, kept for good. Glance soft-deletes its
-- rows, so a POST /v2/images naming a deleted id is a 409; without this another project
-- could re-create the id and feed its properties to servers booted from the old image.
CREATE TABLE deleted_images (
  id         TEXT PRIMARY KEY,
  owner      TEXT,
  deleted_at BIGINT NOT NULL
);
-- reserved: bytes an upload in progress (status 'saving') has claimed against the
-- owner's image_size_total quota; 0 in every other status.
ALTER TABLE images ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;

-- Glance v2 subset: images, their custom properties, tags and members.
-- size/virtual_size in bytes; timestamps in microseconds since the epoch.
CREATE TABLE images (
  id               TEXT PRIMARY KEY,
  name             TEXT,
  owner            TEXT,
  status           TEXT NOT NULL DEFAULT 'queued',
  visibility       TEXT NOT NULL DEFAULT 'shared',
  protected        INTEGER NOT NULL DEFAULT 0,
  os_hidden        INTEGER NOT NULL DEFAULT 0,
  disk_format      TEXT,
  container_format TEXT,
  size             BIGINT,
  virtual_size     BIGINT,
  checksum         TEXT,
  os_hash_algo     TEXT,
  os_hash_value    TEXT,
  min_disk         INTEGER NOT NULL DEFAULT 0,
  min_ram          INTEGER NOT NULL DEFAULT 0,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL
);
CREATE INDEX images_owner ON images (owner);
CREATE TABLE image_properties (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (image_id, name)
);
CREATE TABLE image_tags (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  value    TEXT NOT NULL,
  PRIMARY KEY (image_id, value)
);
CREATE TABLE image_members (
  image_id   TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  member     TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT 'pending',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (image_id, member)
);
CREATE INDEX image_members_member ON image_members (member);

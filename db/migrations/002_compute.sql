-- Nova basics: flavors (+ extra specs, access), key pairs, quotas.
CREATE TABLE flavors (
  internal_id  INTEGER PRIMARY KEY,
  flavorid     TEXT NOT NULL UNIQUE,
  name         TEXT NOT NULL UNIQUE,
  memory_mb    INTEGER NOT NULL,
  vcpus        INTEGER NOT NULL,
  root_gb      INTEGER NOT NULL,
  ephemeral_gb INTEGER NOT NULL DEFAULT 0,
  swap         INTEGER NOT NULL DEFAULT 0,
  rxtx_factor  REAL NOT NULL DEFAULT 1.0,
  is_public    INTEGER NOT NULL DEFAULT 1,
  disabled     INTEGER NOT NULL DEFAULT 0,
  description  TEXT,
  created_at   BIGINT NOT NULL,
  updated_at   BIGINT
);
CREATE TABLE flavor_extra_specs (
  flavor_internal_id INTEGER NOT NULL REFERENCES flavors(internal_id) ON DELETE CASCADE,
  key   TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (flavor_internal_id, key)
);
CREATE TABLE flavor_projects (
  flavor_internal_id INTEGER NOT NULL REFERENCES flavors(internal_id) ON DELETE CASCADE,
  project_id TEXT NOT NULL,
  PRIMARY KEY (flavor_internal_id, project_id)
);
CREATE TABLE key_pairs (
  id          INTEGER PRIMARY KEY,
  user_id     TEXT NOT NULL,
  name        TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  public_key  TEXT NOT NULL,
  type        TEXT NOT NULL DEFAULT 'ssh',
  created_at  BIGINT NOT NULL,
  UNIQUE (user_id, name)
);
CREATE TABLE quotas (
  project_id  TEXT NOT NULL,
  resource    TEXT NOT NULL,
  hard_limit  INTEGER NOT NULL,
  PRIMARY KEY (project_id, resource)
);
CREATE TABLE quota_classes (
  class_name  TEXT NOT NULL,
  resource    TEXT NOT NULL,
  hard_limit  INTEGER NOT NULL,
  PRIMARY KEY (class_name, resource)
);
INSERT INTO flavors (flavorid, name, memory_mb, vcpus, root_gb, created_at) VALUES
  ('1', 'm1.tiny',    512,  1, 1,   0),
  ('2', 'm1.small',  2048,  1, 20,  0),
  ('3', 'm1.medium', 4096,  2, 40,  0),
  ('4', 'm1.large',  8192,  4, 80,  0),
  ('5', 'm1.xlarge',16384,  8, 160, 0);

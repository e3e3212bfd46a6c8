-- Keystone v3 subset: domains, projects, users, roles, assignments, tokens.
-- Timestamps are integer microseconds since the epoch (portable to PostgreSQL BIGINT).
CREATE TABLE domains (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  enabled     INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE projects (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  domain_id   TEXT NOT NULL REFERENCES domains(id),
  description TEXT NOT NULL DEFAULT '',
  enabled     INTEGER NOT NULL DEFAULT 1,
  parent_id   TEXT,
  UNIQUE (domain_id, name)
);
CREATE TABLE users (
  id                 TEXT PRIMARY KEY,
  name               TEXT NOT NULL,
  domain_id          TEXT NOT NULL REFERENCES domains(id),
  password_hash      TEXT,
  enabled            INTEGER NOT NULL DEFAULT 1,
  default_project_id TEXT,
  description        TEXT,
  email              TEXT,
  password_expires_at BIGINT,
  created_at         BIGINT NOT NULL,
  UNIQUE (domain_id, name)
);
CREATE TABLE roles (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT,
  domain_id   TEXT
);
-- implied roles: admin -> member -> reader (prior implies implied)
CREATE TABLE implied_roles (
  prior_role_id   TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  implied_role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  PRIMARY KEY (prior_role_id, implied_role_id)
);
-- target_type: 'project' or 'domain'. Targets are not foreign keys (two tables);
-- deleting a project/domain deletes its assignments in the same transaction.
CREATE TABLE role_assignments (
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  target_type TEXT NOT NULL,
  target_id   TEXT NOT NULL,
  role_id     TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, target_type, target_id, role_id)
);
CREATE INDEX role_assignments_target ON role_assignments (target_id);
CREATE INDEX role_assignments_role ON role_assignments (role_id);
-- Tokens are stored only as SHA-256 of the bearer string.
CREATE TABLE tokens (
  hash        TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  project_id  TEXT,
  domain_id   TEXT,
  methods     TEXT NOT NULL,
  issued_at   BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  audit_id    TEXT NOT NULL,
  parent_audit_id TEXT,
  revoked     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

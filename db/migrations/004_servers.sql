-- Servers: compute hosts (the nova-compute services and their hypervisors), instances
-- with metadata/tags/faults/actions, the agent task queue, aggregates and server groups.
-- Timestamps in microseconds since the epoch.

-- One row per compute host: it is both the os-services row (binary nova-compute) and the
-- os-hypervisors row. `agent` names the agent process that serves it (one agent can
-- present many fake hosts) and is the key it long-polls tasks with.
CREATE TABLE compute_hosts (
  id                  INTEGER PRIMARY KEY,
  uuid                TEXT NOT NULL UNIQUE,      -- service id from 2.53
  hypervisor_uuid     TEXT NOT NULL UNIQUE,      -- hypervisor id from 2.53
  host                TEXT NOT NULL UNIQUE,
  hypervisor_hostname TEXT NOT NULL,
  agent               TEXT NOT NULL,
  hypervisor_type     TEXT NOT NULL,
  hypervisor_version  BIGINT NOT NULL DEFAULT 0,
  arch                TEXT NOT NULL DEFAULT 'x86_64',
  vcpus               INTEGER NOT NULL DEFAULT 0,
  memory_mb           BIGINT NOT NULL DEFAULT 0,
  local_gb            BIGINT NOT NULL DEFAULT 0,
  cpu_info            TEXT NOT NULL DEFAULT '{}',
  host_ip             TEXT NOT NULL DEFAULT '127.0.0.1',
  disabled            INTEGER NOT NULL DEFAULT 0,
  disabled_reason     TEXT,
  forced_down         INTEGER NOT NULL DEFAULT 0,
  last_seen_at        BIGINT,
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT
);
CREATE INDEX compute_hosts_agent ON compute_hosts (agent);

-- Instances are soft-deleted (deleted = 1) as in Nova, so changes-since and
-- os-simple-tenant-usage still see them. The flavor is a snapshot taken at create.
CREATE TABLE instances (
  id                  INTEGER PRIMARY KEY,
  uuid                TEXT NOT NULL UNIQUE,
  project_id          TEXT NOT NULL,
  user_id             TEXT NOT NULL,
  display_name        TEXT NOT NULL,
  display_description TEXT,
  hostname            TEXT NOT NULL,
  reservation_id      TEXT NOT NULL,
  launch_index        INTEGER NOT NULL DEFAULT 0,
  image_ref           TEXT NOT NULL DEFAULT '',
  flavor_id           TEXT NOT NULL,
  flavor_name         TEXT NOT NULL,
  memory_mb           BIGINT NOT NULL,
  vcpus               INTEGER NOT NULL,
  root_gb             BIGINT NOT NULL,
  ephemeral_gb        BIGINT NOT NULL DEFAULT 0,
  swap                BIGINT NOT NULL DEFAULT 0,
  flavor_extra_specs  TEXT NOT NULL DEFAULT '{}',
  key_name            TEXT,
  key_data            TEXT,
  user_data           TEXT,
  availability_zone   TEXT,
  host                TEXT,
  node                TEXT,
  vm_state            TEXT NOT NULL,
  task_state          TEXT,
  power_state         INTEGER NOT NULL DEFAULT 0,
  locked              INTEGER NOT NULL DEFAULT 0,
  locked_by           TEXT,
  locked_reason       TEXT,
  access_ip_v4        TEXT,
  access_ip_v6        TEXT,
  config_drive        TEXT NOT NULL DEFAULT '',
  network             TEXT NOT NULL DEFAULT 'auto',  -- 'auto' | 'none' | network name
  fixed_ip            TEXT,
  mac_address         TEXT,
  console_log         TEXT,
  trusted_certs       TEXT,
  launched_at         BIGINT,
  terminated_at       BIGINT,
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL,
  deleted_at          BIGINT,
  deleted             INTEGER NOT NULL DEFAULT 0
);
-- Serve the lists in their order (created_at DESC, id DESC: the rowid ends every
-- index entry) without a sort, per project and across projects.
CREATE INDEX instances_project ON instances (project_id, deleted, created_at);
CREATE INDEX instances_created ON instances (deleted, created_at);
CREATE INDEX instances_host ON instances (host, deleted);
CREATE INDEX instances_updated ON instances (updated_at);

CREATE TABLE instance_metadata (
  instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  PRIMARY KEY (instance_id, key)
);
CREATE TABLE instance_tags (
  instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  tag         TEXT NOT NULL,
  PRIMARY KEY (instance_id, tag)
);
CREATE TABLE instance_faults (
  id          INTEGER PRIMARY KEY,
  instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  code        INTEGER NOT NULL,
  message     TEXT NOT NULL,
  details     TEXT,
  host        TEXT,
  created_at  BIGINT NOT NULL
);
CREATE INDEX instance_faults_instance ON instance_faults (instance_id, id);

-- os-instance-actions: one row per API action, events for its steps (scheduling, the
-- agent's work). The scheduler's explanation is an event's details.
CREATE TABLE instance_actions (
  id            INTEGER PRIMARY KEY,
  instance_uuid TEXT NOT NULL,
  action        TEXT NOT NULL,
  request_id    TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  project_id    TEXT NOT NULL,
  start_time    BIGINT NOT NULL,
  finish_time   BIGINT,
  message       TEXT,
  updated_at    BIGINT NOT NULL
);
CREATE INDEX instance_actions_instance ON instance_actions (instance_uuid, id);
CREATE TABLE instance_action_events (
  id          INTEGER PRIMARY KEY,
  action_id   INTEGER NOT NULL REFERENCES instance_actions(id) ON DELETE CASCADE,
  event       TEXT NOT NULL,
  start_time  BIGINT NOT NULL,
  finish_time BIGINT,
  result      TEXT,
  traceback   TEXT,
  host        TEXT,
  details     TEXT
);
CREATE INDEX instance_action_events_action ON instance_action_events (action_id, id);

-- The agent task queue. state: queued → running (leased by an agent poll) → done|failed.
-- A running task whose agent re-registers (restart) or whose lease expires is queued again:
-- tasks are idempotent, so at-least-once delivery is enough.
CREATE TABLE tasks (
  id            INTEGER PRIMARY KEY,
  host          TEXT NOT NULL,
  instance_uuid TEXT NOT NULL,
  kind          TEXT NOT NULL,
  action_id     INTEGER,
  state         TEXT NOT NULL DEFAULT 'queued',
  attempts      INTEGER NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL,
  leased_at     BIGINT,
  finished_at   BIGINT,
  message       TEXT
);
CREATE INDEX tasks_host_state ON tasks (host, state);

CREATE TABLE aggregates (
  id          INTEGER PRIMARY KEY,
  uuid        TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT
);
CREATE TABLE aggregate_hosts (
  aggregate_id INTEGER NOT NULL REFERENCES aggregates(id) ON DELETE CASCADE,
  host         TEXT NOT NULL,
  PRIMARY KEY (aggregate_id, host)
);
CREATE TABLE aggregate_metadata (
  aggregate_id INTEGER NOT NULL REFERENCES aggregates(id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  value        TEXT NOT NULL,
  PRIMARY KEY (aggregate_id, key)
);

CREATE TABLE server_groups (
  id          INTEGER PRIMARY KEY,
  uuid        TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  project_id  TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  policy      TEXT NOT NULL,
  rules       TEXT NOT NULL DEFAULT '{}',
  created_at  BIGINT NOT NULL
);
CREATE TABLE server_group_members (
  group_id      INTEGER NOT NULL REFERENCES server_groups(id) ON DELETE CASCADE,
  instance_uuid TEXT NOT NULL,
  PRIMARY KEY (group_id, instance_uuid)
);
CREATE INDEX server_group_members_instance ON server_group_members (instance_uuid);

-- Agent identities (docs/agent-protocol.md, "Identities"): which Keystone user acts as
-- which compute agent, and which user has claimed which compute host. The first
-- identity that registers a host (or an agent name) owns it; another identity is
-- refused until an admin releases it (novalite-manage agent release-host, or deleting
-- the compute service). Deleting the user releases everything it owned.
CREATE TABLE agent_names (
  agent       TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  BIGINT NOT NULL
);
CREATE INDEX agent_names_user ON agent_names (user_id);
CREATE TABLE host_claims (
  host        TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  BIGINT NOT NULL
);
CREATE INDEX host_claims_user ON host_claims (user_id);
-- A deleted compute service (os-services DELETE) no longer binds its name.
CREATE TRIGGER compute_hosts_release AFTER DELETE ON compute_hosts BEGIN
  DELETE FROM host_claims WHERE host = OLD.host;
END;
-- Where the host's guests' VNC servers listen (an IP literal the agent registered);
-- a console_address an agent reports must be on it or on loopback.
ALTER TABLE compute_hosts ADD COLUMN vnc_listen TEXT;

-- Real VMs: what a task needs beyond the instance (a snapshot's image id), and where a
-- guest's VNC server listens (reported by the agent in task results; remote consoles).

-- A JSON object the agent gets as the task's "params"; NULL = none ({} on the wire).
ALTER TABLE tasks ADD COLUMN params TEXT;
-- "host:port" of the guest's VNC server on its compute host; NULL = none known.
ALTER TABLE instances ADD COLUMN console_address TEXT;

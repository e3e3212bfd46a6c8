-- System-scoped tokens ("scope": {"system": {"all": true}}): the scope is a flag on the
-- token; system role assignments are rows with target_type 'system', target_id 'all'.
ALTER TABLE tokens ADD COLUMN system_scope INTEGER NOT NULL DEFAULT 0;

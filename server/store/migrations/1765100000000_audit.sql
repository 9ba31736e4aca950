-- Up Migration

-- Who did what: logins, states a supervisor forced, recordings listed or downloaded, report access,
-- config reloads. Append-only: rows are inserted and read, never changed or removed (the triggers
-- below refuse UPDATE, DELETE and TRUNCATE), so the trail cannot be edited by the server it audits.
CREATE TABLE audit_log (
  id     bigserial   PRIMARY KEY,
  at     timestamptz NOT NULL DEFAULT now(),
  -- Who: an agent or supervisor id, or 'system' for what the server does on its own (a reload).
  actor  text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  -- The actor's role when known (agent, supervisor, qa, admin).
  role   text,
  -- What, as dotted words: agent.login, recording.download, config.reload, ...
  action text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$'),
  -- On what: a recording id, an agent id, a report path, a config version.
  target text,
  -- Where from (the client's address).
  ip     text,
  detail jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor_at ON audit_log (actor, at);
CREATE INDEX audit_log_action_at ON audit_log (action, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS audit_log_append_only();

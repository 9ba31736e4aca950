-- Up Migration

-- The supervisor floor's event log: alerts raised and cleared, surge actions taken and reversed,
-- supervisor controls, agents' calls for help. Append-only like audit_log; the board and the
-- REST view (GET /api/v1/floor/events) read it back.
CREATE TABLE floor_events (
  id     bigserial   PRIMARY KEY,
  at     timestamptz NOT NULL,
  -- alert.raised, alert.cleared, surge.action, surge.reversed, surge.level, help.requested, ...
  type   text        NOT NULL CHECK (type ~ '^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$'),
  -- Who: 'system' (an alert rule) or the supervisor / agent id.
  actor  text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  -- What it is about: an alert rule, a surge plan, an agent, a call.
  target text,
  detail jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX floor_events_at ON floor_events (at, id);
CREATE INDEX floor_events_type_at ON floor_events (type, at);

-- Down Migration
DROP TABLE floor_events;

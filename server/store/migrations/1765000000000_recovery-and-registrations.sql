-- Up Migration

-- One row per server process (node) that writes to this log. A node registers its row before it
-- writes any event and refreshes heartbeat_at every few seconds; a node whose heartbeat is stale
-- (and has no stopped_at) died. recovered_at is set once its open streams have been closed, so
-- recovery runs once per dead node whichever node does it.
CREATE TABLE cc_nodes (
  node_id      text PRIMARY KEY,
  -- Stable across restarts of the same process (host and spool directory): a row with my name
  -- and another node_id is my own previous boot, dead however fresh its heartbeat.
  name         text NOT NULL,
  host         text,
  pid          integer,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  stopped_at   timestamptz,
  recovered_at timestamptz
);
CREATE INDEX cc_nodes_unrecovered ON cc_nodes (heartbeat_at) WHERE recovered_at IS NULL;

-- Contacts still open (no call.end): what recovery looks for, without scanning every CDR.
CREATE INDEX contacts_open ON contacts (arrived_at) WHERE ended_at IS NULL;
-- The node that produced a contact (contact.arrived's `node`), for the contacts of a dead node.
CREATE INDEX cc_events_arrived_node ON cc_events ((body->>'node')) WHERE type = 'contact.arrived';

-- SIP registrations (the registrar's location service), so desk phones stay registered across a
-- restart. One row per binding (AOR + key: instance/reg-id, else the contact URI); the binding as
-- JSON, expires_at for the sweep.
CREATE TABLE sip_registrations (
  aor         text NOT NULL,
  binding_key text NOT NULL,
  username    text NOT NULL,
  expires_at  timestamptz NOT NULL,
  binding     jsonb NOT NULL,
  node_id     text,
  PRIMARY KEY (aor, binding_key)
);
CREATE INDEX sip_registrations_user ON sip_registrations (username);
CREATE INDEX sip_registrations_expires ON sip_registrations (expires_at);

-- Down Migration
DROP TABLE IF EXISTS sip_registrations;
DROP INDEX IF EXISTS cc_events_arrived_node;
DROP INDEX IF EXISTS contacts_open;
DROP TABLE IF EXISTS cc_nodes;

-- Up Migration

-- The event log: every contact-centre event exactly once, keyed by (contact_id, seq). This table is
-- the truth; KPIs are computed from it and the tables below are projections a trigger maintains.
CREATE TABLE cc_events (
  contact_id  text        NOT NULL,
  seq         integer     NOT NULL CHECK (seq >= 1),
  ts_ms       bigint      NOT NULL,
  ts          timestamptz GENERATED ALWAYS AS (to_timestamp(ts_ms / 1000.0)) STORED,
  type        text        NOT NULL,
  body        jsonb       NOT NULL,
  inserted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (contact_id, seq)
);
CREATE INDEX cc_events_ts ON cc_events (ts_ms);
CREATE INDEX cc_events_type_ts ON cc_events (type, ts_ms);

-- One row per customer call or continuation (transfer, callback): the CDR.
CREATE TABLE contacts (
  contact_id          text PRIMARY KEY,
  initiation          text,
  caller              text,
  dialled             text,
  trunk               text,
  previous_contact_id text,
  next_contact_id     text,
  arrived_at          timestamptz,
  ended_at            timestamptz,
  ended_by            text,
  end_cause           text,
  completed_in_ivr    boolean NOT NULL DEFAULT false,
  callback_requested  boolean NOT NULL DEFAULT false
);
CREATE INDEX contacts_caller ON contacts (caller, arrived_at);
CREATE INDEX contacts_arrived ON contacts (arrived_at);

-- Call legs: the customer's leg and each agent's connected leg.
CREATE TABLE legs (
  contact_id text NOT NULL,
  seq        integer NOT NULL,
  party_kind text NOT NULL CHECK (party_kind IN ('customer', 'agent')),
  party      text NOT NULL,
  queue      text,
  started_at timestamptz NOT NULL,
  ended_at   timestamptz,
  PRIMARY KEY (contact_id, seq)
);

-- Like Asterisk's queue_log: one row per queue event.
CREATE TABLE queue_events (
  contact_id text NOT NULL,
  seq        integer NOT NULL,
  at         timestamptz NOT NULL,
  queue      text NOT NULL,
  event      text NOT NULL CHECK (event IN ('ENTER', 'OFFER', 'RINGNOANSWER', 'REJECT', 'CONNECT', 'ABANDON', 'TRANSFER', 'EXIT')),
  agent_id   text,
  reason     text,
  PRIMARY KEY (contact_id, seq)
);
CREATE INDEX queue_events_queue_at ON queue_events (queue, at);

-- One row per agent state change; stream_id is the producer session's stream (agent:ID#session).
CREATE TABLE agent_state_changes (
  stream_id text NOT NULL,
  seq       integer NOT NULL,
  agent_id  text NOT NULL,
  at        timestamptz NOT NULL,
  state     text NOT NULL,
  reason    text,
  PRIMARY KEY (stream_id, seq)
);
CREATE INDEX agent_state_changes_agent_at ON agent_state_changes (agent_id, at);

CREATE TABLE holds (
  contact_id text NOT NULL,
  seq        integer NOT NULL,
  agent_id   text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at   timestamptz,
  PRIMARY KEY (contact_id, seq)
);

CREATE TABLE recordings (
  recording_id text PRIMARY KEY,
  contact_id   text NOT NULL,
  path         text NOT NULL,
  started_at   timestamptz NOT NULL,
  stopped_at   timestamptz,
  bytes        bigint,
  -- Set when the retention policy deleted the audio; the row (and the CDR) stays.
  purged_at    timestamptz
);
CREATE INDEX recordings_contact ON recordings (contact_id);
CREATE INDEX recordings_started ON recordings (started_at) WHERE purged_at IS NULL;

-- Dispositions and wrap-up notes, one per finished wrap-up.
CREATE TABLE dispositions (
  contact_id  text NOT NULL,
  seq         integer NOT NULL,
  agent_id    text NOT NULL,
  at          timestamptz NOT NULL,
  disposition text,
  note        text,
  extended    boolean NOT NULL DEFAULT false,
  PRIMARY KEY (contact_id, seq)
);

CREATE TABLE survey_answers (
  contact_id text NOT NULL,
  seq        integer NOT NULL,
  at         timestamptz NOT NULL,
  question   text NOT NULL,
  value      integer NOT NULL,
  scale      integer NOT NULL,
  PRIMARY KEY (contact_id, seq)
);

CREATE TABLE ivr_paths (
  contact_id text NOT NULL,
  seq        integer NOT NULL,
  at         timestamptz NOT NULL,
  node       text NOT NULL,
  input      text,
  PRIMARY KEY (contact_id, seq)
);

-- Projects one inserted event into the tables above. A projection failure must never reject the
-- event itself (the writer would retry the batch forever), so errors become warnings; the
-- projections can be rebuilt from cc_events with cc_rebuild_projections().
CREATE FUNCTION cc_project_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := NEW.body;
  ev_at timestamptz := NEW.ts;
BEGIN
  BEGIN
    CASE NEW.type
    WHEN 'contact.arrived' THEN
      INSERT INTO contacts (contact_id, initiation, caller, dialled, trunk, previous_contact_id, arrived_at)
      VALUES (NEW.contact_id, b->>'initiation', b->>'caller', b->>'dialled', b->>'trunk', b->>'previousContactId', ev_at)
      ON CONFLICT (contact_id) DO UPDATE SET initiation = EXCLUDED.initiation, caller = EXCLUDED.caller,
        dialled = EXCLUDED.dialled, trunk = EXCLUDED.trunk, previous_contact_id = EXCLUDED.previous_contact_id,
        arrived_at = EXCLUDED.arrived_at;
      IF b ? 'previousContactId' THEN
        INSERT INTO contacts (contact_id, next_contact_id) VALUES (b->>'previousContactId', NEW.contact_id)
        ON CONFLICT (contact_id) DO UPDATE SET next_contact_id = EXCLUDED.next_contact_id;
      END IF;
      INSERT INTO legs VALUES (NEW.contact_id, NEW.seq, 'customer', coalesce(b->>'caller', ''), NULL, ev_at, NULL)
      ON CONFLICT DO NOTHING;
    WHEN 'ivr.step' THEN
      INSERT INTO ivr_paths VALUES (NEW.contact_id, NEW.seq, ev_at, b->>'node', b->>'input') ON CONFLICT DO NOTHING;
    WHEN 'ivr.end' THEN
      IF (b->>'completedInIvr')::boolean THEN
        INSERT INTO contacts (contact_id, completed_in_ivr) VALUES (NEW.contact_id, true)
        ON CONFLICT (contact_id) DO UPDATE SET completed_in_ivr = true;
      END IF;
    WHEN 'queue.enter', 'queue.offer', 'queue.rona', 'queue.reject', 'queue.connect', 'queue.abandon', 'queue.transfer', 'queue.exit' THEN
      INSERT INTO queue_events VALUES (NEW.contact_id, NEW.seq, ev_at, b->>'queue',
        CASE NEW.type WHEN 'queue.enter' THEN 'ENTER' WHEN 'queue.offer' THEN 'OFFER' WHEN 'queue.rona' THEN 'RINGNOANSWER'
          WHEN 'queue.reject' THEN 'REJECT' WHEN 'queue.connect' THEN 'CONNECT' WHEN 'queue.abandon' THEN 'ABANDON'
          WHEN 'queue.transfer' THEN 'TRANSFER' ELSE 'EXIT' END,
        b->>'agentId',
        coalesce(b->>'reason', CASE WHEN NEW.type = 'queue.transfer' THEN (b->>'targetKind') || ':' || (b->>'target') END))
      ON CONFLICT DO NOTHING;
      IF NEW.type = 'queue.connect' THEN
        INSERT INTO legs VALUES (NEW.contact_id, NEW.seq, 'agent', b->>'agentId', b->>'queue', ev_at, NULL) ON CONFLICT DO NOTHING;
      ELSIF NEW.type = 'queue.transfer' THEN
        UPDATE legs SET ended_at = ev_at WHERE contact_id = NEW.contact_id AND party_kind = 'agent' AND ended_at IS NULL;
      END IF;
    WHEN 'hold.start' THEN
      INSERT INTO holds VALUES (NEW.contact_id, NEW.seq, b->>'agentId', ev_at, NULL) ON CONFLICT DO NOTHING;
    WHEN 'hold.end' THEN
      UPDATE holds SET ended_at = ev_at WHERE contact_id = NEW.contact_id AND ended_at IS NULL;
    WHEN 'call.end' THEN
      INSERT INTO contacts (contact_id, ended_at, ended_by, end_cause) VALUES (NEW.contact_id, ev_at, b->>'endedBy', b->>'cause')
      ON CONFLICT (contact_id) DO UPDATE SET ended_at = EXCLUDED.ended_at, ended_by = EXCLUDED.ended_by, end_cause = EXCLUDED.end_cause;
      UPDATE legs SET ended_at = ev_at WHERE contact_id = NEW.contact_id AND ended_at IS NULL;
      UPDATE holds SET ended_at = ev_at WHERE contact_id = NEW.contact_id AND ended_at IS NULL;
    WHEN 'wrapup.end' THEN
      INSERT INTO dispositions VALUES (NEW.contact_id, NEW.seq, b->>'agentId', ev_at, b->>'disposition', b->>'note',
        coalesce((b->>'extended')::boolean, false)) ON CONFLICT DO NOTHING;
    WHEN 'agent.state' THEN
      INSERT INTO agent_state_changes VALUES (NEW.contact_id, NEW.seq, b->>'agentId', ev_at, b->>'state', b->>'reason') ON CONFLICT DO NOTHING;
    WHEN 'recording.started' THEN
      INSERT INTO recordings (recording_id, contact_id, path, started_at) VALUES (b->>'recordingId', NEW.contact_id, b->>'path', ev_at)
      ON CONFLICT (recording_id) DO NOTHING;
    WHEN 'recording.stopped' THEN
      UPDATE recordings SET stopped_at = ev_at, bytes = (b->>'bytes')::bigint WHERE recording_id = b->>'recordingId';
    WHEN 'survey.answer' THEN
      INSERT INTO survey_answers VALUES (NEW.contact_id, NEW.seq, ev_at, b->>'question', (b->>'value')::integer,
        coalesce((b->>'scale')::integer, 5)) ON CONFLICT DO NOTHING;
    WHEN 'callback.requested' THEN
      INSERT INTO contacts (contact_id, callback_requested) VALUES (NEW.contact_id, true)
      ON CONFLICT (contact_id) DO UPDATE SET callback_requested = true;
    ELSE
      NULL;
    END CASE;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'cc_project_event %#%: %', NEW.contact_id, NEW.seq, SQLERRM;
  END;
  RETURN NULL;
END;
$$;

CREATE TRIGGER cc_events_project AFTER INSERT ON cc_events FOR EACH ROW EXECUTE FUNCTION cc_project_event();

-- Rebuild every projection from the log (after a projection bug fix). Keeps recordings' purge marks.
CREATE FUNCTION cc_rebuild_projections() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  purged jsonb;
BEGIN
  SELECT coalesce(jsonb_object_agg(recording_id, purged_at), '{}'::jsonb) INTO purged FROM recordings WHERE purged_at IS NOT NULL;
  TRUNCATE contacts, legs, queue_events, agent_state_changes, holds, recordings, dispositions, survey_answers, ivr_paths;
  CREATE TEMP TABLE cc_replay ON COMMIT DROP AS SELECT * FROM cc_events;
  TRUNCATE cc_events;
  INSERT INTO cc_events (contact_id, seq, ts_ms, type, body, inserted_at)
    SELECT contact_id, seq, ts_ms, type, body, inserted_at FROM cc_replay ORDER BY ts_ms, contact_id, seq;
  UPDATE recordings r SET purged_at = (purged->>r.recording_id)::timestamptz WHERE purged ? r.recording_id;
END;
$$;

-- Down Migration
DROP FUNCTION IF EXISTS cc_rebuild_projections();
DROP TRIGGER IF EXISTS cc_events_project ON cc_events;
DROP FUNCTION IF EXISTS cc_project_event();
DROP TABLE IF EXISTS ivr_paths, survey_answers, dispositions, recordings, holds, agent_state_changes, queue_events, legs, contacts, cc_events;

-- Up Migration

-- After the call (issue 19): customers, wrap-up records, work orders, knowledge-card clicks and the
-- webhook outbox. The event log (cc_events) stays the truth about calls; these tables hold what is
-- not a call event: who the customer is, work orders and their lifecycle, and deliveries owed to
-- other systems.

-- A phone number as the centre compares them: scheme and host dropped (sip:+4420…@host → +4420…),
-- URI parameters dropped, only digits kept with a leading +, and the international prefix 00 read
-- as +. Mirrors normaliseNumber in server/customers/number.ts (tested to agree).
CREATE FUNCTION cc_normalise_number(n text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN d = '' THEN NULL WHEN d LIKE '00%' THEN '+' || substr(d, 3) WHEN plus THEN '+' || d ELSE d END
  FROM (
    SELECT regexp_replace(u, '[^0-9]', '', 'g') AS d, u ~ '^\s*\+' AS plus
    FROM (SELECT split_part(split_part(regexp_replace(coalesce(n, ''), '^\s*(sips?|tel):', '', 'i'), '@', 1), ';', 1) AS u) s
  ) t
$$;

CREATE INDEX contacts_caller_normalised ON contacts (cc_normalise_number(caller), arrived_at);

CREATE TABLE customers (
  customer_id text PRIMARY KEY,
  name        text,
  -- The id the IVR's lookup node (or a CRM) knows the customer by.
  external_id text UNIQUE,
  email       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_name ON customers (lower(name));

-- A customer's numbers, normalised; a number belongs to one customer.
CREATE TABLE customer_numbers (
  number      text PRIMARY KEY CHECK (number ~ '^\+?[0-9]{1,32}$'),
  customer_id text NOT NULL REFERENCES customers ON DELETE CASCADE
);
CREATE INDEX customer_numbers_customer ON customer_numbers (customer_id);

-- What the agent wrote after a contact (disposition, note, complaint) when it came through the
-- after-call API rather than as wrapup.end fields in the event log (both are read).
CREATE TABLE contact_wrapups (
  id                 bigserial PRIMARY KEY,
  contact_id         text NOT NULL,
  agent_id           text NOT NULL,
  at                 timestamptz NOT NULL,
  disposition        text,
  note               text,
  complaint          boolean NOT NULL DEFAULT false,
  complaint_category text
);
CREATE INDEX contact_wrapups_contact ON contact_wrapups (contact_id);
CREATE INDEX contact_wrapups_at ON contact_wrapups (at);

CREATE TABLE work_orders (
  work_order_id  text PRIMARY KEY,
  category       text NOT NULL,
  priority       text NOT NULL,
  state          text NOT NULL,
  owner_kind     text NOT NULL CHECK (owner_kind IN ('agent', 'queue', 'group')),
  owner_id       text NOT NULL,
  subject        text NOT NULL,
  description    text,
  complaint      boolean NOT NULL DEFAULT false,
  customer_id    text REFERENCES customers ON DELETE SET NULL,
  contact_id     text,
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  due_at         timestamptz,
  -- How many of the SLA's escalation steps have fired; the next one is due at next_escalation_at.
  escalation_level integer NOT NULL DEFAULT 0,
  next_escalation_at timestamptz,
  breached_at    timestamptz,
  closed_at      timestamptz,
  -- Optimistic concurrency: every change bumps it.
  version        integer NOT NULL DEFAULT 1
);
CREATE INDEX work_orders_state ON work_orders (state);
CREATE INDEX work_orders_next_escalation ON work_orders (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
CREATE INDEX work_orders_customer ON work_orders (customer_id);
CREATE INDEX work_orders_contact ON work_orders (contact_id);
CREATE INDEX work_orders_created ON work_orders (created_at);

-- Every change of a work order (created, transition, escalation, reassignment, comment).
CREATE TABLE work_order_events (
  id            bigserial PRIMARY KEY,
  work_order_id text NOT NULL REFERENCES work_orders ON DELETE CASCADE,
  at            timestamptz NOT NULL,
  actor         text NOT NULL,
  kind          text NOT NULL,
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX work_order_events_order ON work_order_events (work_order_id, id);

-- Knowledge cards shown (in a screen pop) and clicked: click-through per card.
CREATE TABLE knowledge_views (
  id         bigserial PRIMARY KEY,
  card       text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('shown', 'click')),
  agent_id   text,
  contact_id text,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_views_card ON knowledge_views (card, kind);

-- The webhook outbox. Contact events are copied here by a trigger on the event log, in the same
-- transaction as the event itself, so a restart loses none; work-order events are inserted by the
-- server. Each event is then owed to every hook subscribed to it (webhook_deliveries).
CREATE TABLE webhook_events (
  id         bigserial PRIMARY KEY,
  type       text NOT NULL,
  contact_id text,
  seq        integer,
  body       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  fanned_out boolean NOT NULL DEFAULT false,
  UNIQUE (contact_id, seq)
);
CREATE INDEX webhook_events_pending ON webhook_events (id) WHERE NOT fanned_out;

CREATE TABLE webhook_deliveries (
  id           bigserial PRIMARY KEY,
  event_id     bigint NOT NULL REFERENCES webhook_events ON DELETE CASCADE,
  hook         text NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  next_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  failed_at    timestamptz,
  last_status  integer,
  last_error   text,
  UNIQUE (event_id, hook)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE FUNCTION cc_webhook_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kind text;
BEGIN
  kind := CASE NEW.type
    WHEN 'queue.offer' THEN 'contact.offered'
    WHEN 'queue.connect' THEN 'contact.answered'
    WHEN 'call.end' THEN 'contact.ended'
    WHEN 'wrapup.end' THEN 'contact.wrapup'
    WHEN 'recording.stopped' THEN 'recording.saved'
    ELSE NULL END;
  IF kind IS NOT NULL THEN
    BEGIN
      INSERT INTO webhook_events (type, contact_id, seq, body)
      VALUES (kind, NEW.contact_id, NEW.seq, NEW.body || jsonb_build_object('contactId', NEW.contact_id, 'seq', NEW.seq, 'ts', NEW.ts_ms))
      ON CONFLICT (contact_id, seq) DO NOTHING;
      PERFORM pg_notify('cc_webhooks', '');
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'cc_webhook_capture %#%: %', NEW.contact_id, NEW.seq, SQLERRM;
    END;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER cc_events_webhooks AFTER INSERT ON cc_events FOR EACH ROW EXECUTE FUNCTION cc_webhook_capture();

-- Down Migration
DROP TRIGGER IF EXISTS cc_events_webhooks ON cc_events;
DROP FUNCTION IF EXISTS cc_webhook_capture();
DROP TABLE IF EXISTS webhook_deliveries, webhook_events, knowledge_views, work_order_events, work_orders, contact_wrapups, customer_numbers, customers;
DROP INDEX IF EXISTS contacts_caller_normalised;
DROP FUNCTION IF EXISTS cc_normalise_number(text);

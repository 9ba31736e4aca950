-- Up Migration

-- Reports now read every raw piece through kpi_contact_spans (a contact is loaded for a piece when
-- its span overlaps it), not only the rollup refresh: fill the spans of contacts logged before the
-- rollups migration or never marked, from the log. A no-op on a new database.
INSERT INTO kpi_contact_spans (contact_id, first_ms, last_ms, arrived_ms, caller, previous_contact_id, customer)
SELECT e.contact_id, min(e.ts_ms), max(e.ts_ms),
  max(e.ts_ms) FILTER (WHERE e.type = 'contact.arrived'),
  max(e.body->>'caller') FILTER (WHERE e.type = 'contact.arrived'),
  max(e.body->>'previousContactId') FILTER (WHERE e.type = 'contact.arrived'),
  coalesce(bool_or(e.type = 'contact.arrived' AND coalesce(e.body->>'initiation', 'inbound') = 'inbound' AND NOT (e.body ? 'previousContactId')), false)
FROM cc_events e
WHERE e.contact_id NOT LIKE 'agent:%'
  AND NOT EXISTS (SELECT 1 FROM kpi_contact_spans k WHERE k.contact_id = e.contact_id)
GROUP BY e.contact_id
ON CONFLICT (contact_id) DO NOTHING;

-- Down Migration
-- Nothing to undo: the rows are what markDirty and backfill would have written.

-- Up Migration

-- The outbound report reads the contacts the centre placed (click-to-dial, callbacks) that arrived
-- in its range, and nothing else (eventLog.loadPlacedEvents): their arrivals, found by this index
-- without reading every other arrival of the range.
CREATE INDEX cc_events_placed_arrivals ON cc_events (ts_ms)
  WHERE type = 'contact.arrived' AND body->>'initiation' IN ('outbound', 'callback');

-- Down Migration

DROP INDEX IF EXISTS cc_events_placed_arrivals;

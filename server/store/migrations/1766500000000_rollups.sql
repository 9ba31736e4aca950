-- Up Migration

-- KPI rollups (#17): the KPI engine's accumulators per 15-minute UTC interval ('15m') and per UTC day
-- ('day', the sum of its 96 intervals), per dimension (centre, queue, skillGroup, agent) and key.
-- Only additive quantities: counts, sums of milliseconds, per-threshold service-level counters (in
-- the order of the fingerprint's thresholds) and the longest wait (merged by max). Computed from
-- cc_events by the pure engine (server/kpi/rollup.ts) and replaced whole per interval
-- (server/store/rollups.ts); rebuildable at any time with `callcentre rollup`.
CREATE TABLE kpi_rollup (
  grain                      text   NOT NULL CHECK (grain IN ('15m', 'day')),
  bucket_start               bigint NOT NULL,
  dimension                  text   NOT NULL,
  key                        text   NOT NULL,
  offered                    bigint NOT NULL DEFAULT 0,
  answered                   bigint NOT NULL DEFAULT 0,
  abandoned                  bigint NOT NULL DEFAULT 0,
  short_abandoned            bigint NOT NULL DEFAULT 0,
  exited                     bigint NOT NULL DEFAULT 0,
  waiting                    bigint NOT NULL DEFAULT 0,
  answered_wait_ms           bigint NOT NULL DEFAULT 0,
  abandoned_wait_ms          bigint NOT NULL DEFAULT 0,
  handled                    bigint NOT NULL DEFAULT 0,
  talk_ms                    bigint NOT NULL DEFAULT 0,
  hold_ms                    bigint NOT NULL DEFAULT 0,
  acw_ms                     bigint NOT NULL DEFAULT 0,
  wrapups_extended           bigint NOT NULL DEFAULT 0,
  transferred                bigint NOT NULL DEFAULT 0,
  rona                       bigint NOT NULL DEFAULT 0,
  rejected                   bigint NOT NULL DEFAULT 0,
  contacts_offered           bigint NOT NULL DEFAULT 0,
  contacts_answered_by_agent bigint NOT NULL DEFAULT 0,
  contacts_completed_in_ivr  bigint NOT NULL DEFAULT 0,
  logged_in_ms               bigint NOT NULL DEFAULT 0,
  ready_ms                   bigint NOT NULL DEFAULT 0,
  not_ready_ms               bigint NOT NULL DEFAULT 0,
  state_talk_ms              bigint NOT NULL DEFAULT 0,
  state_hold_ms              bigint NOT NULL DEFAULT 0,
  state_acw_ms               bigint NOT NULL DEFAULT 0,
  fcr_eligible               bigint NOT NULL DEFAULT 0,
  fcr_resolved               bigint NOT NULL DEFAULT 0,
  fcr_survey_answers         bigint NOT NULL DEFAULT 0,
  fcr_survey_resolved        bigint NOT NULL DEFAULT 0,
  csat_answers               bigint NOT NULL DEFAULT 0,
  csat_sum                   bigint NOT NULL DEFAULT 0,
  csat_top_2                 bigint NOT NULL DEFAULT 0,
  longest_wait_ms            bigint NOT NULL DEFAULT 0,
  answered_within            bigint[] NOT NULL DEFAULT '{}',
  abandoned_within           bigint[] NOT NULL DEFAULT '{}',
  abandoned_after            bigint[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (dimension, grain, bucket_start, key)
);

-- One row per computed 15-minute interval: with which settings (fp) and whether a later event made
-- it stale (dirty). A missing, dirty, open or other-fp interval is read from the raw log instead.
CREATE TABLE kpi_rollup_buckets (
  bucket_start bigint PRIMARY KEY,
  fp           text        NOT NULL DEFAULT '',
  dirty        boolean     NOT NULL DEFAULT true,
  -- A call was still waiting when computed: its longest wait grows, so the interval is read raw.
  open         boolean     NOT NULL DEFAULT false,
  computed_at  timestamptz
);
CREATE INDEX kpi_rollup_buckets_dirty ON kpi_rollup_buckets (bucket_start) WHERE dirty;

-- Dispositions of wrap-ups that ended in the interval, per queue / agent: code '' is the totals row.
CREATE TABLE kpi_rollup_dispositions (
  grain           text   NOT NULL CHECK (grain IN ('15m', 'day')),
  bucket_start    bigint NOT NULL,
  side            text   NOT NULL CHECK (side IN ('queue', 'agent')),
  key             text   NOT NULL,
  code            text   NOT NULL,
  wrapups         bigint NOT NULL DEFAULT 0,
  disposed        bigint NOT NULL DEFAULT 0,
  resolved_marked bigint NOT NULL DEFAULT 0,
  resolved        bigint NOT NULL DEFAULT 0,
  n               bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (grain, bucket_start, side, key, code)
);

-- Anomalies (facts.ts) with the times that credit them to a report range.
CREATE TABLE kpi_rollup_anomalies (
  contact_id text   NOT NULL,
  seq        integer NOT NULL,
  ts_ms      bigint NOT NULL,
  text       text   NOT NULL,
  credits    bigint[] NOT NULL,
  PRIMARY KEY (contact_id, seq)
);

-- Each contact stream's first and last event, arrival and chain link: which contacts an interval
-- needs (those spanning it, their transfer/callback chains, the same caller's later arrivals for
-- repeat-contact FCR), without scanning the log. Maintained with the dirty marks; rebuilt by backfill.
CREATE TABLE kpi_contact_spans (
  contact_id          text PRIMARY KEY,
  first_ms            bigint NOT NULL,
  last_ms             bigint NOT NULL,
  arrived_ms          bigint,
  caller              text,
  previous_contact_id text,
  customer            boolean NOT NULL DEFAULT false
);
CREATE INDEX kpi_contact_spans_first ON kpi_contact_spans (first_ms);
CREATE INDEX kpi_contact_spans_previous ON kpi_contact_spans (previous_contact_id) WHERE previous_contact_id IS NOT NULL;
CREATE INDEX kpi_contact_spans_caller ON kpi_contact_spans (caller, arrived_ms) WHERE customer;

-- Agent-state events by time (an interval needs each agent's last state before it).
CREATE INDEX cc_events_agent_ts ON cc_events (ts_ms) WHERE contact_id LIKE 'agent:%';

-- Down Migration
DROP INDEX IF EXISTS cc_events_agent_ts;
DROP TABLE IF EXISTS kpi_contact_spans, kpi_rollup_anomalies, kpi_rollup_dispositions, kpi_rollup_buckets, kpi_rollup;

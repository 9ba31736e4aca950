-- Up Migration

-- Quality assurance (server/qa/, server/store/qa.ts). Scores and changes to them are also written
-- to audit_log (qa.* actions); these tables hold the current state.

-- Audio analytics of each finished recording (server/qa/analytics.ts), done after the call by the
-- centre's background worker. A row with error set was tried and could not be analysed.
CREATE TABLE qa_analytics (
  recording_id        text PRIMARY KEY,
  contact_id          text        NOT NULL,
  analysed_at         timestamptz NOT NULL DEFAULT now(),
  duration_sec        double precision,
  hold_sec            double precision,
  caller_talk_sec     double precision,
  agent_talk_sec      double precision,
  caller_share        double precision,
  agent_share         double precision,
  overtalk_sec        double precision,
  overtalk_share      double precision,
  silence_sec         double precision,
  longest_silence_sec double precision,
  detail              jsonb       NOT NULL DEFAULT '{}'::jsonb,
  flags               text[]      NOT NULL DEFAULT '{}',
  error               text
);
CREATE INDEX qa_analytics_contact ON qa_analytics (contact_id);

-- The review queue: calls a flag rule or the weekly sample picked, until someone scores them.
CREATE TABLE qa_review_queue (
  contact_id  text        NOT NULL,
  source      text        NOT NULL CHECK (source IN ('flag', 'sample')),
  reasons     jsonb       NOT NULL DEFAULT '[]'::jsonb,
  added_at    timestamptz NOT NULL DEFAULT now(),
  reviewed_at timestamptz,
  PRIMARY KEY (contact_id, source)
);

-- One reviewer's scoring of one call on one version of a form.
CREATE TABLE qa_evaluations (
  id           bigserial   PRIMARY KEY,
  contact_id   text        NOT NULL,
  agent_id     text,
  queue        text,
  form_id      text        NOT NULL,
  form_version text        NOT NULL,
  reviewer     text        NOT NULL,
  kind         text        NOT NULL CHECK (kind IN ('review', 'calibration')),
  status       text        NOT NULL CHECK (status IN ('draft', 'submitted')),
  answers      jsonb       NOT NULL,
  result       jsonb       NOT NULL,
  score        double precision,
  passed       boolean     NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_evaluations_contact ON qa_evaluations (contact_id);
CREATE INDEX qa_evaluations_agent ON qa_evaluations (agent_id, created_at);
CREATE INDEX qa_evaluations_created ON qa_evaluations (created_at);

-- Comments at a moment of the recording (offset in ms), on a call or on an evaluation.
CREATE TABLE qa_comments (
  id            bigserial   PRIMARY KEY,
  contact_id    text        NOT NULL,
  evaluation_id bigint      REFERENCES qa_evaluations (id),
  author        text        NOT NULL,
  offset_ms     bigint      NOT NULL CHECK (offset_ms >= 0),
  text          text        NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_comments_contact ON qa_comments (contact_id, offset_ms);

-- A scored call becomes a coaching item for its agent, who acknowledges it.
CREATE TABLE qa_coaching (
  id              bigserial   PRIMARY KEY,
  evaluation_id   bigint      NOT NULL UNIQUE REFERENCES qa_evaluations (id),
  agent_id        text        NOT NULL,
  notes           text        NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  acknowledged_at timestamptz,
  agent_comment   text
);
CREATE INDEX qa_coaching_agent ON qa_coaching (agent_id, created_at);

-- Down Migration
DROP TABLE IF EXISTS qa_coaching;
DROP TABLE IF EXISTS qa_comments;
DROP TABLE IF EXISTS qa_evaluations;
DROP TABLE IF EXISTS qa_review_queue;
DROP TABLE IF EXISTS qa_analytics;

-- Up Migration

-- Callbacks (issue #12): one row per callback, keyed by the contact that asked for it. The ACD
-- holds the live callback; this row makes it durable: a restart re-queues every pending row into
-- the ACD with its ORIGINAL queue entry (entered_ms), its attempts so far, and its back-off.
CREATE TABLE cc_callbacks (
  callback_id   text    PRIMARY KEY,
  queue         text    NOT NULL,
  number        text    NOT NULL CHECK (length(number) BETWEEN 1 AND 200),
  -- Original queue entry (epoch ms): the callback's place in line.
  entered_ms    bigint  NOT NULL,
  requested_ms  bigint  NOT NULL,
  attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- Outcome of the last dial attempt: answered, busy, no-answer, failed, expired (reservation ran out).
  last_outcome  text,
  last_dial_ms  bigint,
  -- When the next attempt may be routed (after a failed one's back-off).
  next_ms       bigint,
  -- pending: waiting or between attempts; answered; given-up (attempts used up); cancelled.
  status        text    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'answered', 'given-up', 'cancelled')),
  done_ms       bigint,
  -- The outbound contact of the answered attempt, when call control named it.
  new_contact_id text
);
CREATE INDEX cc_callbacks_pending ON cc_callbacks (entered_ms) WHERE status = 'pending';

-- Abandon-resume: the place a caller left by hanging up while queued, which they take back by
-- calling again from the same number (caller_key: its digits) into the same queue before until_ms.
CREATE TABLE cc_resume_places (
  queue       text    NOT NULL,
  caller_key  text    NOT NULL,
  entered_ms  bigint  NOT NULL,
  priority    integer NOT NULL DEFAULT 0,
  left_ms     bigint  NOT NULL,
  until_ms    bigint  NOT NULL,
  PRIMARY KEY (queue, caller_key)
);
CREATE INDEX cc_resume_places_until ON cc_resume_places (until_ms);

-- Down Migration

DROP TABLE IF EXISTS cc_resume_places;
DROP TABLE IF EXISTS cc_callbacks;

/**
 * The scripted hour's KPIs computed BY HAND from the comments in scriptedDay.ts, for tests that
 * check a report produced elsewhere (the store over Postgres, REST, CSV, the CLI) against the truth
 * rather than against computeReport, which is what the store itself runs and so would agree with
 * whatever it gets wrong. Only figures worked out by hand are here; tests match rows against them.
 *
 * 30-minute split (calls are credited to the interval they entered the queue; time in state is
 * cut at the edge):
 *   sales 09:00  C1 C2 C3 C4 C5 C6 C7 enter; answered C1 (wait 15) C5 (40) C6 (20); abandoned C2
 *                (short) C3 C4; C7 exits to a callback after 60 s (the longest wait). Talk 135 + 120
 *                + 120, hold 30 (C1), ACW 30 + 120 + 30. RONA and reject on C5/C6, C6 transferred.
 *   sales 09:30  C7b (wait 5, talk 60, no wrap-up) and C11 still waiting since 09:50 (600 s).
 *   support 09:00  C6b: wait 10, talk 120, ACW 10. support 09:30: nothing.
 *   alice 09:00  C1 C5 C6b: waits 15 40 10, talk 135 + 120 + 120, ACW 30 + 120 + 10; in 09:00-09:30
 *                logged in 1800 s, lunch from 09:20 = 600 s not ready. 09:30: C7b; 1500 s logged in
 *                (out at 09:55), 300 s of lunch.
 *   bob 09:00    C6 (wait 20, talk 120, ACW 30, transferred), RONA on C5, reject on C6; ready the
 *                whole hour: 1800 s in each half.
 *   centre       customer calls by arrival: C1 C2 C3 C4 C5 C6 C7 C10 before 09:30, C8 C11 after;
 *                answered by an agent: C1 C5 C6 (via C6b) C7 (via C7b, credited to C7's arrival);
 *                completed in the IVR: C8. Occupancy = talk inside the half / logged-in time:
 *                495 / 3600 and 60 / 3300.
 */
import type { KpiRow } from '../../../server/kpi/report.ts';

type Truth = Partial<KpiRow> & Pick<KpiRow, 'intervalStart' | 'key'>;
const H0 = '2026-01-05T09:00:00.000Z';
const H30 = '2026-01-05T09:30:00.000Z';

/** dimension queue, interval 30m, rows in the report's order (interval, then key). */
export const QUEUES_30M: Truth[] = [
  {
    intervalStart: H0,
    key: 'sales',
    offered: 7,
    answered: 3,
    abandoned: 3,
    shortAbandoned: 1,
    exited: 1,
    waiting: 0,
    handled: 3,
    talkSec: 375,
    holdSec: 30,
    acwSec: 180,
    asaSec: 25,
    longestWaitSec: 60,
    rona: 1,
    rejected: 1,
    transferred: 1,
    ahtSec: 195, // (375 + 30 + 180) / 3
  },
  {
    intervalStart: H0,
    key: 'support',
    offered: 1,
    answered: 1,
    abandoned: 0,
    handled: 1,
    talkSec: 120,
    holdSec: 0,
    acwSec: 10,
    asaSec: 10,
    ahtSec: 130,
  },
  {
    intervalStart: H30,
    key: 'sales',
    offered: 2,
    answered: 1,
    abandoned: 0,
    exited: 0,
    waiting: 1,
    handled: 1,
    talkSec: 60,
    acwSec: 0,
    asaSec: 5,
    longestWaitSec: 600,
    ahtSec: 60,
  },
  { intervalStart: H30, key: 'support', offered: 0, answered: 0, handled: 0, talkSec: 0, asaSec: null, ahtSec: null },
];

/** dimension agent, interval 30m. */
export const AGENTS_30M: Truth[] = [
  {
    intervalStart: H0,
    key: 'alice',
    answered: 3,
    handled: 3,
    talkSec: 375,
    holdSec: 30,
    acwSec: 160,
    asaSec: 21.667, // 65 / 3
    loggedInSec: 1800,
    notReadySec: 600,
    readySec: 1200,
    rona: 0,
    rejected: 0,
  },
  {
    intervalStart: H0,
    key: 'bob',
    answered: 1,
    handled: 1,
    talkSec: 120,
    acwSec: 30,
    asaSec: 20,
    transferred: 1,
    rona: 1,
    rejected: 1,
    loggedInSec: 1800,
    notReadySec: 0,
  },
  {
    intervalStart: H30,
    key: 'alice',
    answered: 1,
    handled: 1,
    talkSec: 60,
    acwSec: 0,
    asaSec: 5,
    loggedInSec: 1500,
    notReadySec: 300,
    occupancy: 0.04,
  }, // 60 / 1500
  { intervalStart: H30, key: 'bob', answered: 0, talkSec: 0, loggedInSec: 1800, occupancy: 0 },
];

/** dimension centre, interval 30m. */
export const CENTRE_30M: Truth[] = [
  {
    intervalStart: H0,
    key: '*',
    offered: 8,
    answered: 4,
    abandoned: 3,
    talkSec: 495,
    acwSec: 190,
    asaSec: 21.25, // (15 + 40 + 20 + 10) / 4
    contactsOffered: 8,
    contactsAnsweredByAgent: 4,
    contactsCompletedInIvr: 0,
    connectRate: 0.5,
    loggedInSec: 3600,
    occupancy: 0.1375,
  },
  {
    intervalStart: H30,
    key: '*',
    offered: 2,
    answered: 1,
    waiting: 1,
    talkSec: 60,
    contactsOffered: 2,
    contactsAnsweredByAgent: 0,
    contactsCompletedInIvr: 1,
    connectRate: 0.5,
    loggedInSec: 3300,
    occupancy: 0.0182, // 60 / 3300
  },
];

/**
 * dimension queue, the whole hour, with a 2-day FCR window and C12 (+600 again 36 h later): C5's
 * repeat C9 (a day and a minute later) now falls inside the window too, so in sales only C7b of
 * C1 C5 C7b stays resolved; support's C6b is repeated by C12.
 */
export const QUEUES_RANGE_FCR_2D: Truth[] = [
  { intervalStart: H0, key: 'sales', offered: 9, answered: 4, fcrEligible: 3, fcrResolved: 1, fcrRepeatRate: 0.3333 },
  { intervalStart: H0, key: 'support', offered: 1, answered: 1, fcrEligible: 1, fcrResolved: 0, fcrRepeatRate: 0 },
];

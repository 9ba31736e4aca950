/**
 * Crash recovery's decision (server/store/recovery.ts) against hand-computed truth: which streams
 * of a dead node get which closing events, at which time, numbered after which seq; and the
 * reports computed over the repaired log (no phantom waiting, talk as talked, occupancy ≤ 1).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEvent, type CcEvent, type CcEventInput } from '../../../server/kpi/events.ts';
import { computeReport, type KpiRow } from '../../../server/kpi/report.ts';
import { planClosure, planRecovery, provenUntil, wavEvidence, type RecordingEvidence } from '../../../server/store/recovery.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const s = (sec: number) => T0 + sec * 1000;

/** A stream's events from [type, second, fields], numbered 1, 2, 3… */
function stream(id: string, evs: [string, number, Record<string, unknown>?][]): CcEvent[] {
  return evs.map(([type, sec, f], i) => {
    const p = parseEvent({ contactId: id, seq: i + 1, ts: s(sec), type, ...f });
    if (!p.ok) throw new Error(p.error);
    return p.event;
  });
}
const arrived = (sec: number): [string, number, Record<string, unknown>] => [
  'contact.arrived',
  sec,
  { caller: '+4420', dialled: '100', node: 'B' },
];

// Node B, last heartbeat at 09:00:58; the crash came a little later.
const HEARTBEAT = s(58);
const streams = new Map<string, CcEvent[]>([
  ['agent:1001#B', stream('agent:1001#B', [['agent.state', 0, { agentId: '1001', state: 'ready' }]])],
  [
    'agent:1002#B',
    stream('agent:1002#B', [
      ['agent.state', 0, { agentId: '1002', state: 'not-ready', reason: 'login' }],
      ['agent.state', 10, { agentId: '1002', state: 'ready' }],
    ]),
  ],
  // Logged out before the crash: nothing to close.
  [
    'agent:1003#B',
    stream('agent:1003#B', [
      ['agent.state', 0, { agentId: '1003', state: 'ready' }],
      ['agent.state', 20, { agentId: '1003', state: 'logged-out' }],
    ]),
  ],
  ['agent:1004#B', stream('agent:1004#B', [['agent.state', 0, { agentId: '1004', state: 'ready' }]])],
  // Talking to 1001 and recorded.
  [
    'c1',
    stream('c1', [
      arrived(30),
      ['ivr.step', 31, { node: 'menu', input: '1' }],
      ['ivr.end', 35, { completedInIvr: false, queue: 'sales' }],
      ['queue.enter', 35, { queue: 'sales' }],
      ['queue.offer', 36, { queue: 'sales', agentId: '1001' }],
      ['queue.connect', 40, { queue: 'sales', agentId: '1001' }],
      ['recording.started', 41, { recordingId: 'c1', path: '/rec/c1.wav' }],
    ]),
  ],
  // Talking to 1002, on hold since 09:00:50.
  [
    'c2',
    stream('c2', [
      arrived(40),
      ['queue.enter', 42, { queue: 'sales' }],
      ['queue.connect', 45, { queue: 'sales', agentId: '1002' }],
      ['hold.start', 50, { agentId: '1002' }],
    ]),
  ],
  // Queued.
  ['c3', stream('c3', [arrived(48), ['queue.enter', 50, { queue: 'sales' }]])],
  // In the IVR.
  ['c4', stream('c4', [arrived(55), ['ivr.step', 56, { node: 'menu' }]])],
  // Finished before the crash: nothing to close.
  [
    'c5',
    stream('c5', [
      arrived(1),
      ['queue.enter', 2, { queue: 'sales' }],
      ['queue.connect', 5, { queue: 'sales', agentId: '1003' }],
      ['call.end', 15, { endedBy: 'caller' }],
      ['wrapup.start', 15, { agentId: '1003', queue: 'sales' }],
      ['wrapup.end', 18, { agentId: '1003' }],
    ]),
  ],
  // A callback requested (the caller hung up): nothing open, but the callback is pending.
  [
    'c6',
    stream('c6', [
      arrived(20),
      ['queue.enter', 21, { queue: 'sales' }],
      ['callback.requested', 25, { queue: 'sales', number: '+4420' }],
      ['queue.exit', 25, { queue: 'sales', reason: 'callback' }],
      ['call.end', 26, { endedBy: 'caller' }],
    ]),
  ],
  // Talk over, recording stopped, 1004's wrap-up still open.
  [
    'c7',
    stream('c7', [
      arrived(28),
      ['queue.enter', 29, { queue: 'sales' }],
      ['queue.connect', 30, { queue: 'sales', agentId: '1004' }],
      ['recording.started', 31, { recordingId: 'c7', path: '/rec/c7.wav' }],
      ['call.end', 50, { endedBy: 'caller' }],
      ['recording.stopped', 50, { recordingId: 'c7', bytes: 1000 }],
      ['wrapup.start', 50, { agentId: '1004', queue: 'sales' }],
    ]),
  ],
]);
// c1's file (repaired at start) holds 19.5 s of audio from 09:00:41: the node was alive to 09:01:00.5.
const recordings = new Map<string, RecordingEvidence>([['c1', { bytes: 624_044, audioUntil: s(41) + 19_500 }]]);
const P = s(60.5);

const closing = (evs: readonly CcEventInput[]) =>
  evs.map((e) => [e.seq, e.type, e.ts, 'cause' in e ? e.cause : 'reason' in e ? e.reason : undefined]);

describe('planRecovery: a dead node’s open streams', () => {
  const plan = planRecovery(HEARTBEAT, streams, recordings);

  it('closes at the last moment the log proves the node alive: the recording’s audio, later than the heartbeat', () => {
    expect(provenUntil(HEARTBEAT, streams)).toBe(HEARTBEAT);
    expect(plan.at).toBe(P);
  });

  it('gives each open stream exactly its closing events, numbered after its last seq', () => {
    const by = new Map(plan.closures.map((c) => [c.streamId, c.events]));
    expect([...by.keys()]).toEqual(['agent:1001#B', 'agent:1002#B', 'agent:1004#B', 'c1', 'c2', 'c3', 'c4', 'c7']);
    expect(closing(by.get('agent:1001#B')!)).toEqual([[2, 'agent.state', P, 'crash']]);
    expect(by.get('agent:1002#B')![0]).toMatchObject({ seq: 3, state: 'logged-out', agentId: '1002' });
    expect(closing(by.get('c1')!)).toEqual([
      [8, 'recording.stopped', P, undefined],
      [9, 'call.end', P, 'crash'],
    ]);
    expect(by.get('c1')![0]).toMatchObject({ recordingId: 'c1', bytes: 624_044 });
    expect(by.get('c1')![1]).toMatchObject({ endedBy: 'system' });
    expect(closing(by.get('c2')!)).toEqual([
      [5, 'hold.end', P, undefined],
      [6, 'call.end', P, 'crash'],
    ]);
    // The queue visit is closed before the call, as the KPI engine expects (no anomaly).
    expect(closing(by.get('c3')!)).toEqual([
      [3, 'queue.exit', P, 'system'],
      [4, 'call.end', P, 'crash'],
    ]);
    expect(closing(by.get('c4')!)).toEqual([[3, 'call.end', P, 'crash']]);
    expect(closing(by.get('c7')!)).toEqual([[8, 'wrapup.end', P, undefined]]);
    expect(by.get('c7')![0]).toMatchObject({ agentId: '1004', extended: false });
    for (const c of plan.closures) for (const e of c.events) expect(parseEvent(e).ok).toBe(true);
  });

  it('reports the callback that was requested and never dialled', () => {
    expect(plan.pendingCallbacks).toEqual([
      { contactId: 'c6', queue: 'sales', number: '+4420', requestedAt: s(25), enteredAt: s(20), attempts: 0 },
    ]);
  });

  it('is idempotent: the repaired streams have nothing left to close', () => {
    const repaired = new Map(
      [...streams].map(([id, evs]) => [
        id,
        [...evs, ...(plan.closures.find((c) => c.streamId === id)?.events ?? []).map((e) => parseOk(e))],
      ]),
    );
    expect(planRecovery(HEARTBEAT, repaired, recordings).closures).toEqual([]);
  });

  it('never closes before a stream’s own last event, nor at "now"', () => {
    const late = stream('c9', [arrived(100), ['queue.enter', 101, { queue: 'sales' }]]);
    expect(planClosure('c9', late, HEARTBEAT).map((e) => e.ts)).toEqual([s(101), s(101)]);
    expect(planClosure('c9', [], HEARTBEAT)).toEqual([]);
  });

  it('the reports over the repaired log: no phantom waiting, talk as talked, occupancy ≤ 1', () => {
    const all = [...streams.values()].flat().concat(plan.closures.flatMap((c) => c.events.map(parseOk)));
    // An hour later: an open stream would have run on to here.
    const req = { from: T0, to: T0 + 3_600_000, asOf: T0 + 3_600_000, interval: 'range' as const };
    const sales = row(computeReport(all, { ...req, dimension: 'queue' }).rows, 'sales');
    expect(sales.waiting).toBe(0);
    expect(sales.offered).toBe(6); // c1 c2 c3 c5 c6 c7
    expect(sales.answered).toBe(4); // c1 c2 c5 c7
    expect(sales.exited).toBe(2); // c3 (system), c6 (callback)
    expect(sales.longestWaitSec).toBe(10.5); // c3: 09:00:50 → 09:01:00.5
    // c1 40 → 60.5 = 20.5; c2 45 → 60.5 minus hold 50 → 60.5 = 5; c5 10; c7 20.
    expect(sales.talkSec).toBe(55.5);
    expect(sales.holdSec).toBe(10.5);
    const report = computeReport(all, { ...req, dimension: 'agent' });
    expect(report.anomalies.count).toBe(0);
    const a1001 = row(report.rows, '1001');
    expect(a1001.loggedInSec).toBe(60.5);
    expect(a1001.occupancy).toBe(0.3388); // 20.5 / 60.5
    for (const r of report.rows) expect(r.occupancy ?? 0).toBeLessThanOrEqual(1);
    expect(row(report.rows, '1004').acwSec).toBe(10.5); // 09:00:50 → 09:01:00.5
  });
});

describe('wavEvidence', () => {
  it('reads how far a WAV holds audio from its data chunk and byte rate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-rec-'));
    const data = 8000 * 4 * 2; // 2 s of 8 kHz 16-bit stereo
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(36 + data, 4);
    h.write('WAVEfmt ', 8, 'latin1');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(1, 20);
    h.writeUInt16LE(2, 22);
    h.writeUInt32LE(8000, 24);
    h.writeUInt32LE(32000, 28);
    h.writeUInt16LE(4, 32);
    h.writeUInt16LE(16, 34);
    h.write('data', 36, 'latin1');
    h.writeUInt32LE(data, 40);
    const f = join(dir, 'x.wav');
    writeFileSync(f, Buffer.concat([h, Buffer.alloc(data)]));
    expect(await wavEvidence(f, 1_000)).toEqual({ bytes: 44 + data, audioUntil: 3_000 });
  });
});

function parseOk(e: unknown): CcEvent {
  const p = parseEvent(e);
  if (!p.ok) throw new Error(p.error);
  return p.event;
}

function row(rows: readonly KpiRow[], key: string): KpiRow {
  const r = rows.find((x) => x.key === key);
  if (!r) throw new Error(`no row ${key}`);
  return r;
}

/**
 * The QA analytics worker on a real embedded Postgres: six calls with recordings synthesised from
 * known tone patterns (8 kHz stereo, caller left, agent right) and their events written through
 * the store, then one worker pass. Rules: longest silence ≥ 3 s, overtalk ≥ 20 %, CSAT ≤ 2, repeat
 * within 24 h; VAD 20 ms frames, −45 dBFS, 200 ms hangover. By hand:
 *   silence:  caller 0–2 s, agent 6–8 s, 10 s → voice [0,2.2) and [6,8.2): silence 2.2–6 = 3.8 s → long-silence
 *   overtalk: caller 0–5 s, agent 2–7 s, 8 s → both [2,5.2) = 3.2 s = 40 % → heavy-overtalk
 *   hold:     the silence pattern with hold.start at 2 s, hold.end at 6 s (recording time): the gap
 *             is music on hold, not dead air; longest silence [8.2,10) = 1.8 s → not flagged
 *   csat:     turn-taking caller 0–2, agent 2–4, caller 4–6 s: each hangover overlaps the next
 *             turn, overtalk [2,2.2) + [4,4.2) = 0.4 s = 7 %; CSAT 2 → low-csat
 *   clean:    the same turns, CSAT 5, caller +A5 → not flagged
 *   repeat:   the same turns, CSAT 5, caller +A5 again 2 h later → repeat-caller
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../lib/clock.ts';
import { encodeWav } from '../../../media/audio/wav.ts';

import { QaFileSchema, resolveQaConfig } from '../../../server/qa/config.ts';
import { QaWorker } from '../../../server/qa/worker.ts';
import { QaStore } from '../../../server/store/qa.ts';
import { openStore, type Store } from '../../../server/store/store.ts';
import { concat, silence, tone } from '../../support/audio.ts';

let root: string;
let store: Store;
const config = resolveQaConfig(
  QaFileSchema.parse({
    forms: {},
    defaultForm: 'none',
    flags: { longSilenceSec: 3, overtalkShare: 0.2, lowCsat: 2, repeatCallerHours: 24 },
  }),
);

function track(on: [number, number][], totalMs: number, freq: number): Int16Array {
  const parts: Int16Array[] = [];
  let t = 0;
  for (const [a, b] of on) {
    parts.push(silence(a - t), tone(freq, b - a));
    t = b;
  }
  parts.push(silence(totalMs - t));
  return concat(...parts);
}

function wav(left: Int16Array, right: Int16Array): Buffer {
  const inter = new Int16Array(left.length * 2);
  for (let i = 0; i < left.length; i++) {
    inter[2 * i] = left[i]!;
    inter[2 * i + 1] = right[i]!;
  }
  return encodeWav(8000, 2, inter);
}

interface Case {
  id: string;
  caller: string;
  arrivedAt: number;
  audio: Buffer;
  durationMs: number;
  holdMs?: [number, number];
  csat?: number;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cc-qa-worker-'));
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'rec'));
  store = await openStore({
    embedded: { dataDir: join(root, 'pg'), port: 37434 },
    spoolDir: join(root, 'spool'),
    recordingsDir: join(root, 'rec'),
    writer: { batchSize: 50, flushDelayMs: 5 },
  });
}, 120_000);
afterAll(async () => {
  await store?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('QA analytics worker', () => {
  it('analyses every finished recording and routes exactly the calls a rule flags', async () => {
    const t0 = Date.now() - 6 * 3_600_000;
    const turns = wav(
      track(
        [
          [0, 2000],
          [4000, 6000],
        ],
        6000,
        1000,
      ),
      track([[2000, 4000]], 6000, 600),
    );
    const gap = wav(track([[0, 2000]], 10_000, 1000), track([[6000, 8000]], 10_000, 600));
    const cases: Case[] = [
      { id: 'q-silence', caller: '+A1', arrivedAt: t0, audio: gap, durationMs: 10_000 },
      {
        id: 'q-overtalk',
        caller: '+A2',
        arrivedAt: t0,
        audio: wav(track([[0, 5000]], 8000, 1000), track([[2000, 7000]], 8000, 600)),
        durationMs: 8000,
      },
      { id: 'q-hold', caller: '+A3', arrivedAt: t0, audio: gap, durationMs: 10_000, holdMs: [2000, 6000] },
      { id: 'q-csat', caller: '+A4', arrivedAt: t0, audio: turns, durationMs: 6000, csat: 2 },
      { id: 'q-clean', caller: '+A5', arrivedAt: t0, audio: turns, durationMs: 6000, csat: 5 },
      { id: 'q-repeat', caller: '+A5', arrivedAt: t0 + 2 * 3_600_000, audio: turns, durationMs: 6000, csat: 5 },
    ];
    for (const c of cases) {
      const path = join(root, 'rec', `${c.id}.wav`);
      writeFileSync(path, c.audio);
      const rec = c.arrivedAt + 5000;
      const evs: Record<string, unknown>[] = [
        { type: 'contact.arrived', contactId: c.id, ts: c.arrivedAt, caller: c.caller, dialled: '100' },
        { type: 'recording.started', contactId: c.id, ts: rec, recordingId: `rec-${c.id}`, path },
        ...(c.holdMs
          ? [
              { type: 'hold.start', contactId: c.id, ts: rec + c.holdMs[0], agentId: '1001' },
              { type: 'hold.end', contactId: c.id, ts: rec + c.holdMs[1], agentId: '1001' },
            ]
          : []),
        { type: 'recording.stopped', contactId: c.id, ts: rec + c.durationMs, recordingId: `rec-${c.id}`, bytes: c.audio.length },
        { type: 'call.end', contactId: c.id, ts: rec + c.durationMs, endedBy: 'caller' },
        ...(c.csat !== undefined
          ? [{ type: 'survey.answer', contactId: c.id, ts: rec + c.durationMs + 5000, question: 'csat', value: c.csat }]
          : []),
      ];
      evs.forEach((e, i) => expect(store.emit({ ...e, seq: i + 1 })).toBe(true));
    }
    await store.flush();

    const qa = new QaStore(store.pool);
    const worker = new QaWorker({
      qa,
      recordingsDir: join(root, 'rec'),
      config: () => config,
      clock: new SystemClock(),
      audit: store.audit,
    });
    expect(await worker.runOnce()).toBe(6);
    expect(await worker.runOnce()).toBe(0); // nothing left: each recording is analysed once

    const rows = await qa.analytics(cases.map((c) => c.id));
    const by = Object.fromEntries(rows.map((r) => [r.contactId, r]));
    expect(rows.every((r) => r.error === null)).toBe(true);
    expect(by['q-silence']).toMatchObject({ longestSilenceSec: 3.8, overtalkSec: 0, holdSec: 0, callerShare: 0.5 });
    expect(by['q-overtalk']).toMatchObject({ overtalkSec: 3.2, overtalkShare: 0.4, longestSilenceSec: 0.8 });
    expect(by['q-hold']).toMatchObject({ holdSec: 4, longestSilenceSec: 1.8 });
    expect(by['q-csat']).toMatchObject({ overtalkSec: 0.4, overtalkShare: 0.0667, longestSilenceSec: 0 });

    const queue = await qa.reviewQueue({ open: true });
    const routed = Object.fromEntries(queue.map((q) => [q.contactId, (q.reasons as { flag: string }[]).map((r) => r.flag)]));
    expect(routed).toEqual({
      'q-silence': ['long-silence'],
      'q-overtalk': ['heavy-overtalk'],
      'q-csat': ['low-csat'],
      'q-repeat': ['repeat-caller'],
    });
    await store.flushAudit();
    const flagged = await store.listAudit({ action: 'qa.flag' });
    expect(flagged.map((a) => a.target).sort()).toEqual(['q-csat', 'q-overtalk', 'q-repeat', 'q-silence']);
  }, 60_000);

  it('a recording that cannot be read is marked with its error, not retried for ever', async () => {
    const path = join(root, 'rec', 'broken.wav');
    writeFileSync(path, Buffer.from('not a wav'));
    const t = Date.now() - 3_600_000;
    const evs: Record<string, unknown>[] = [
      { type: 'contact.arrived', contactId: 'q-broken', ts: t, caller: '+B1', dialled: '100' },
      { type: 'recording.started', contactId: 'q-broken', ts: t + 1000, recordingId: 'rec-broken', path },
      { type: 'recording.stopped', contactId: 'q-broken', ts: t + 2000, recordingId: 'rec-broken', bytes: 9 },
      { type: 'call.end', contactId: 'q-broken', ts: t + 2000, endedBy: 'caller' },
    ];
    evs.forEach((e, i) => store.emit({ ...e, seq: i + 1 }));
    await store.flush();
    const qa = new QaStore(store.pool);
    const worker = new QaWorker({ qa, recordingsDir: join(root, 'rec'), config: () => config, clock: new SystemClock() });
    expect(await worker.runOnce()).toBe(1);
    expect(await worker.runOnce()).toBe(0);
    expect((await qa.analytics(['q-broken']))[0]!.error).toMatch(/RIFF/);
  });
});

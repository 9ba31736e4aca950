/**
 * IVR and config throughput: how long a full config load + check takes, and how many calls per
 * second the engine walks through the demo "main" flow (menu with a retry, into a queue, exit,
 * callback) on a FakeClock. Bounded in count and time. Prints one line of JSON.
 */
import path from 'node:path';
import { FakeClock } from '../lib/clock.ts';
import { loadConfig } from '../server/config/load.ts';
import { compileFlows } from '../server/ivr/flow.ts';
import { IvrSession } from '../server/ivr/session.ts';

const dir = path.resolve(import.meta.dirname, '../config');
const loads: number[] = [];
function timedLoad() {
  const t = performance.now();
  const r = loadConfig(dir, {});
  loads.push(performance.now() - t);
  if (!r.ok) throw new Error('demo config invalid');
  return r.config;
}
let config = timedLoad();
for (let i = 1; i < 20; i++) config = timedLoad();
const flows = compileFlows(config);

const calls = Number(process.argv[2] ?? 20000);
const deadline = performance.now() + 20_000;
const clock = new FakeClock(Date.parse('2026-12-21T10:00:00Z'));
let done = 0;
const t0 = performance.now();
for (; done < calls && performance.now() < deadline; done++) {
  const s = new IvrSession(flows, 'main', { clock, callerId: '+15551234', dialled: '100' });
  s.start();
  s.promptFinished(); // welcome
  s.promptFinished(); // menu prompt
  s.digit('7'); // invalid
  s.promptFinished();
  s.promptFinished();
  s.digit('1'); // sales
  s.queueExit('timeout');
  s.digit('1'); // accept callback
  s.promptFinished();
  if (s.outcome !== 'callback') throw new Error(`unexpected outcome ${s.outcome}`);
}
const secs = (performance.now() - t0) / 1000;
loads.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    bench: 'ivr',
    config_load_p50_ms: +loads[Math.floor(loads.length / 2)]!.toFixed(2),
    config_load_max_ms: +loads[loads.length - 1]!.toFixed(2),
    calls: done,
    calls_per_s: Math.round(done / secs),
    us_per_call: +((secs * 1e6) / done).toFixed(1),
  }),
);

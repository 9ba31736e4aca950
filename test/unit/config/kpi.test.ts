/**
 * centre.yaml `kpi:` (issue #14): the centre's own KPI definitions, checked like the rest of the
 * config, and kpiSettingsOf, the one function that turns a config into the settings both the
 * server (REST) and the report CLI compute with.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatError, type ConfigError } from '../../../server/config/errors.ts';
import { kpiSettingsOf } from '../../../server/config/kpi.ts';
import { loadConfig, type CentreConfig } from '../../../server/config/load.ts';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { computeReport } from '../../../server/kpi/report.ts';

const DEMO = path.resolve(import.meta.dirname, '../../../config');
const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'cc-kpi-config-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

let n = 0;
/** A copy of the demo centre with centre.yaml's kpi: section replaced by `kpi` (YAML lines). */
function centreWithKpi(kpi: string | undefined): string {
  const dir = path.join(tmpRoot, `c${++n}`);
  cpSync(DEMO, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}schema`) });
  const file = path.join(dir, 'centre.yaml');
  const text = readFileSync(file, 'utf8');
  const section = /^kpi:\n(?: {2}.*\n)+/m;
  if (!section.test(text)) throw new Error('the demo centre.yaml has no kpi: section');
  writeFileSync(file, text.replace(section, kpi === undefined ? '' : `kpi:\n${kpi}\n`));
  return dir;
}

function load(dir: string): CentreConfig {
  const r = loadConfig(dir, {});
  if (!r.ok) throw new Error(r.errors.map((e) => formatError(e)).join('\n'));
  return r.config;
}

function errorsOf(dir: string): ConfigError[] {
  const r = loadConfig(dir, {});
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

/** 1-based line and column of `needle` in centre.yaml. */
function posOf(dir: string, needle: string): { line: number; column: number } {
  const text = readFileSync(path.join(dir, 'centre.yaml'), 'utf8');
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`"${needle}" not in centre.yaml`);
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

describe('centre.yaml kpi:', () => {
  it("the demo centre: its kpi: section, its zone and its queues' objectives, as REST and the CLI use them", () => {
    const c = load(DEMO);
    expect(c.kpi).toEqual({
      serviceLevelMode: 'abandons-ignored',
      serviceLevelThresholdsSec: [20, 30],
      shortAbandonSec: 5,
      fcrWindowSec: 604_800,
    });
    expect(kpiSettingsOf(c)).toEqual({
      serviceLevelMode: 'abandons-ignored',
      serviceLevelThresholdsSec: [20, 30],
      shortAbandonSec: 5,
      fcrWindowSec: 604_800,
      timeZone: 'Europe/London',
      // queues.yaml: sales says { threshold: 20, target: 0.8 }; support and operator take the default.
      queueObjectives: {
        sales: { thresholdSec: 20, target: 0.8 },
        support: { thresholdSec: 20, target: 0.8 },
        operator: { thresholdSec: 20, target: 0.8 },
      },
    });
  });

  it('is optional: without it the defaults apply; a partial one fills in the rest', () => {
    expect(load(centreWithKpi(undefined)).kpi).toEqual({
      serviceLevelMode: 'abandons-ignored',
      serviceLevelThresholdsSec: [20, 30],
      shortAbandonSec: 5,
      fcrWindowSec: 604_800,
    });
    expect(load(centreWithKpi('  serviceLevelMode: abandons-met')).kpi).toEqual({
      serviceLevelMode: 'abandons-met',
      serviceLevelThresholdsSec: [20, 30],
      shortAbandonSec: 5,
      fcrWindowSec: 604_800,
    });
  });

  it('bad values are errors with file, line, column and path, like the rest of the config', () => {
    const dir = centreWithKpi(
      [
        '  serviceLevelMode: lenient',
        '  serviceLevelThresholdsSec: [20, 20]',
        '  shortAbandonSec: -1',
        '  fcrWindowSec: 30',
        '  fcrWindow: 86400',
      ].join('\n'),
    );
    const errors = errorsOf(dir);
    const at = (p: string) => errors.find((e) => e.path.join('.') === p);
    expect(at('kpi.serviceLevelMode')).toMatchObject({
      file: 'centre.yaml',
      ...posOf(dir, 'lenient'),
      message: expect.stringMatching(/abandons-met.*abandons-missed.*abandons-ignored/),
    });
    expect(at('kpi.serviceLevelThresholdsSec')).toMatchObject({ ...posOf(dir, '[20, 20]'), message: 'thresholds must all differ' });
    expect(at('kpi.shortAbandonSec')).toMatchObject({ ...posOf(dir, '-1'), message: expect.stringMatching(/>=\s*0/) });
    const window = posOf(dir, 'fcrWindowSec: 30');
    expect(at('kpi.fcrWindowSec')).toMatchObject({
      line: window.line,
      column: window.column + 'fcrWindowSec: '.length,
      message: expect.stringMatching(/>=\s*60/),
    });
    expect(at('kpi.fcrWindow')).toMatchObject({ ...posOf(dir, 'fcrWindow:'), message: 'unknown setting "fcrWindow"' });
    expect(errors).toHaveLength(5);
  });

  // Sales in one hour, waits in seconds: answered after 10 and 25; abandoned after 3 (short under
  // the default 5 s) and after 15; one exit (timeout) after 40. Threshold 20 s.
  const T0 = Date.UTC(2026, 6, 1, 8, 0);
  const hourOfSales = (): CcEvent[] => {
    const out: CcEvent[] = [];
    const call = (id: string, wait: number, end: Record<string, unknown>) => {
      out.push({ contactId: id, seq: 1, ts: T0, type: 'contact.arrived', initiation: 'inbound', caller: `+${id}`, dialled: '100' });
      out.push({ contactId: id, seq: 2, ts: T0, type: 'queue.enter', queue: 'sales' });
      out.push({ contactId: id, seq: 3, ts: T0 + wait * 1000, queue: 'sales', ...end } as CcEvent);
    };
    call('a1', 10, { type: 'queue.connect', agentId: 'x' });
    call('a2', 25, { type: 'queue.connect', agentId: 'y' });
    call('s', 3, { type: 'queue.abandon' });
    call('b', 15, { type: 'queue.abandon' });
    call('t', 40, { type: 'queue.exit', reason: 'timeout' });
    return out;
  };
  const sl20 = (kpi: string) => {
    const settings = kpiSettingsOf(load(centreWithKpi(kpi)));
    const r = computeReport(
      hourOfSales(),
      { from: T0, to: T0 + 3_600_000, interval: 'range', dimension: 'queue', keys: ['sales'] },
      settings,
    );
    const row = r.rows[0]!;
    return { sl: row.serviceLevels!.find((x) => x.thresholdSec === 20), objective: row.serviceLevelObjective };
  };

  it("makes the seeds' definition the centre's own: answered within 20 s ÷ every call that entered = 1/5", () => {
    const { sl, objective } = sl20(['  serviceLevelMode: abandons-missed', '  shortAbandonSec: 0'].join('\n'));
    expect(sl).toEqual({ thresholdSec: 20, mode: 'abandons-missed', met: 1, base: 5, value: 0.2 });
    // The queue's own objective (queues.yaml: 80 % in 20 s) is judged by the same definition.
    expect(objective).toEqual({ thresholdSec: 20, mode: 'abandons-missed', met: 1, base: 5, value: 0.2, target: 0.8, targetMet: false });
  });

  it("or Amazon Connect's: (answered + abandoned within 20 s) ÷ (all but short abandons) = 2/4", () => {
    expect(sl20('  serviceLevelMode: abandons-met').sl).toEqual({ thresholdSec: 20, mode: 'abandons-met', met: 2, base: 4, value: 0.5 });
  });

  it('and by default (abandons ignored): answered within 20 s ÷ (answered + exited) = 1/3', () => {
    expect(sl20('  shortAbandonSec: 5').sl).toEqual({ thresholdSec: 20, mode: 'abandons-ignored', met: 1, base: 3, value: 0.3333 });
  });
});

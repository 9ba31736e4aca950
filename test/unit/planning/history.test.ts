import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { computeReport, type ReportRequest } from '../../../server/kpi/report.ts';
import { DEFAULT_KPI_SETTINGS, type KpiSettings } from '../../../server/kpi/settings.ts';
import { forecastFromStore, type HistorySource } from '../../../server/planning/history.ts';
import { registerPlanningCommands } from '../../../server/planning/commands.ts';

const DAY = 86_400_000;
const MONDAY = Date.UTC(2026, 0, 5);

/** Calls arriving in slot s (09:00 + 30 min·s) on weekday w (Mon = 0): a fixed pattern, the same every week. */
const pattern = (w: number, s: number) => (w + 1) * (s + 1);

/** Three weeks of answered calls (talk 120 s + ACW 60 s = AHT 180 s), Mon–Fri 09:00–12:00, through the event log. */
function events(): CcEvent[] {
  const ev: CcEvent[] = [];
  let n = 0;
  for (let d = 0; d < 21; d++) {
    const w = d % 7;
    if (w > 4) continue;
    for (let s = 0; s < 6; s++) {
      for (let i = 0; i < pattern(w, s); i++) {
        const id = `h${++n}`;
        let t = MONDAY + d * DAY + 9 * 3_600_000 + s * 1_800_000 + i * 1000;
        let seq = 0;
        const push = (e: Record<string, unknown>, dt = 0) => {
          t += dt;
          ev.push({ contactId: id, seq: ++seq, ts: t, ...e } as CcEvent);
        };
        push({ type: 'contact.arrived', initiation: 'inbound', caller: `+1555${n}`, dialled: '8000' });
        push({ type: 'queue.enter', queue: 'sales' });
        push({ type: 'queue.offer', queue: 'sales', agentId: 'a1' }, 2000);
        push({ type: 'queue.connect', queue: 'sales', agentId: 'a1' }, 1000);
        push({ type: 'call.end', endedBy: 'caller' }, 120_000);
        push({ type: 'wrapup.start', agentId: 'a1', queue: 'sales' });
        push({ type: 'wrapup.end', agentId: 'a1', extended: false }, 60_000);
      }
    }
  }
  return ev;
}

function fakeStore(): HistorySource & { close: () => Promise<void>; queries: number } {
  const log = events();
  const store = {
    settings: DEFAULT_KPI_SETTINGS,
    queries: 0,
    report: async (req: ReportRequest, o?: Partial<KpiSettings>) => {
      store.queries++;
      return computeReport(log, req, { ...DEFAULT_KPI_SETTINGS, ...o });
    },
    close: async () => {},
  };
  return store;
}

describe('forecast from the event log', () => {
  it('offered and AHT per interval come from the KPI report; a flat history forecasts itself', async () => {
    const store = fakeStore();
    const a = await forecastFromStore(store, {
      queue: 'sales',
      from: '2026-01-26',
      to: '2026-01-27',
      historyWeeks: 3,
      intervalMin: 30,
      holdoutWeeks: 1,
      staffing: { serviceLevel: { target: 0.8, thresholdSec: 20 } },
    });
    expect(store.queries).toBe(3); // a week per query
    expect(a.daysFitted).toBe(21);
    const monday = a.intervals.filter((p) => p.calls > 0);
    expect(monday.map((p) => Math.round(p.calls * 1e6) / 1e6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(monday[0]!.start).toBe(Date.UTC(2026, 0, 26, 9));
    expect(monday.every((p) => Math.abs(p.ahtSec - 180) < 1e-9)).toBe(true);
    expect(a.accuracy!.wape).toBeCloseTo(0, 9);
    // 6 calls in 30 min at 180 s is 0.6 Erlangs: 80/20 takes 2 agents by Erlang C (P(wait) 0.1385, SL 88.15 %, ASA 17.8 s).
    expect(monday[5]!.staffing!.agents).toBe(2);
  });

  it('`callcentre forecast` prints the same figures; no history is an error', async () => {
    let text = '';
    const program = new Command('callcentre').exitOverride();
    registerPlanningCommands(program, { out: (s) => (text += s), openStore: async () => fakeStore() });
    await program.parseAsync([
      'node',
      'callcentre',
      'forecast',
      '--queue',
      'sales',
      '--from',
      '2026-01-26',
      '--to',
      '2026-01-27',
      '--history-weeks',
      '3',
      '--format',
      'csv',
      '--sl',
      '80/20',
    ]);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('interval_start,calls,aht_sec,agents,scheduled,service_level,asa_sec,occupancy');
    expect(lines).toContain('2026-01-26T11:30:00.000Z,6.00,180.0,2,2,0.8815,17.80,0.3000');
    await expect(
      program.parseAsync([
        'node',
        'callcentre',
        'forecast',
        '--queue',
        'nobody',
        '--from',
        '2026-01-26',
        '--to',
        '2026-01-27',
        '--history-weeks',
        '3',
      ]),
    ).rejects.toMatchObject({ exitCode: 2 });
  });
});

/**
 * Rendering of reports as CSV (RFC 4180) and as a console table. Both print the very numbers of the
 * JSON report (already rounded by the engine), so a figure reads the same in every output.
 */
import type { CallDetail, KpiReport, KpiRow } from './report.ts';

type Cell = string | number | boolean | null;

/** One flat record per row: service levels become sl_<T>s, sl_<T>s_met, sl_<T>s_base columns. */
export function flattenRow(r: KpiRow, thresholds: readonly number[]): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'serviceLevels') continue;
    if (k === 'serviceLevelObjective') {
      const o = r.serviceLevelObjective;
      out.sl_objective_threshold_s = o ? o.thresholdSec : null;
      out.sl_objective_target = o ? o.target : null;
      out.sl_objective = o ? o.value : null;
      out.sl_objective_met = o ? o.targetMet : null;
      continue;
    }
    out[k] = v as Cell;
  }
  for (const t of thresholds) {
    const f = r.serviceLevels?.find((x) => x.thresholdSec === t);
    out[`sl_${t}s`] = f ? f.value : null;
    out[`sl_${t}s_met`] = f ? f.met : null;
    out[`sl_${t}s_base`] = f ? f.base : null;
  }
  return out;
}

export function reportColumns(report: KpiReport): string[] {
  const sample = flattenRow(report.rows[0] ?? emptyRow(), report.definitions.serviceLevelThresholdsSec);
  // Report-wide, repeated on every row (like sl_mode): a CSV has nowhere else to say it.
  return [...Object.keys(sample), 'sl_mode', 'report_anomalies'];
}

export function reportToCsv(report: KpiReport): string {
  const cols = reportColumns(report);
  const lines = [cols.join(',')];
  for (const r of report.rows) {
    const flat: Record<string, Cell> = {
      ...flattenRow(r, report.definitions.serviceLevelThresholdsSec),
      sl_mode: report.definitions.serviceLevelMode,
      report_anomalies: report.anomalies.count,
    };
    lines.push(cols.map((c) => csvCell(flat[c] ?? null)).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

export function detailsToCsv(details: readonly CallDetail[]): string {
  const first = details[0];
  if (!first) return 'contactId\r\n';
  const cols = Object.keys(first);
  const lines = [cols.join(',')];
  for (const d of details) {
    const rec = d as unknown as Record<string, unknown>;
    lines.push(cols.map((c) => csvCell(toCell(rec[c]))).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

export function csvCell(v: Cell): string {
  if (v === null) return '';
  const s = String(v);
  // Leading = + - @ would make a spreadsheet evaluate a caller-supplied string as a formula.
  const guarded = typeof v === 'string' && /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

/** Parse RFC 4180 CSV (quoted fields, CRLF) into records keyed by the header. For tests and tools. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  const [header, ...body] = rows;
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

/** Columns shown by the table format: the headline figures, not all forty. */
const TABLE_COLUMNS = [
  'intervalStart',
  'key',
  'offered',
  'answered',
  'abandoned',
  'shortAbandoned',
  'answerRate',
  'SL',
  'connectRate',
  'asaSec',
  'ahtSec',
  'avgTalkSec',
  'avgHoldSec',
  'avgAcwSec',
  'occupancy',
  'transferRate',
  'rona',
  'rejected',
  'fcrRepeatRate',
  'csatAverage',
  'longestWaitSec',
] as const;

export function reportToTable(report: KpiReport): string {
  const t = report.definitions.serviceLevelThresholdsSec;
  const slCols = t.map((x) => `sl_${x}s`);
  const cols = TABLE_COLUMNS.flatMap((c) => (c === 'SL' ? slCols : [c]));
  const data = report.rows.map((r) => {
    const flat = flattenRow(r, t);
    return cols.map((c) => (flat[c] === null || flat[c] === undefined ? '-' : String(flat[c])));
  });
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  const head =
    `${report.dimension} report ${report.from} .. ${report.to}, interval ${report.interval}; ` +
    `SL mode ${report.definitions.serviceLevelMode}, thresholds ${t.join('/')} s, ` +
    `short abandon < ${report.definitions.shortAbandonSec} s, FCR window ${report.definitions.fcrWindowSec} s` +
    (report.anomalies.count > 0
      ? `; ${report.anomalies.count} events out of order, read through fallbacks (--format json shows examples)`
      : '');
  return [head, line(cols), ...data.map(line)].join('\n') + '\n';
}

function emptyRow(): KpiRow {
  return {
    dimension: 'centre',
    key: '',
    intervalStart: '',
    intervalEnd: '',
    offered: null,
    answered: 0,
    abandoned: null,
    shortAbandoned: null,
    exited: null,
    waiting: null,
    answerRate: null,
    abandonRate: null,
    serviceLevels: null,
    serviceLevelObjective: null,
    contactsOffered: null,
    contactsAnsweredByAgent: null,
    contactsCompletedInIvr: null,
    connectRate: null,
    asaSec: null,
    avgAbandonSec: null,
    longestWaitSec: null,
    handled: 0,
    talkSec: 0,
    holdSec: 0,
    acwSec: 0,
    ahtSec: null,
    avgTalkSec: null,
    avgHoldSec: null,
    avgAcwSec: null,
    wrapupsExtended: 0,
    transferred: 0,
    transferRate: null,
    rona: 0,
    rejected: 0,
    loggedInSec: null,
    readySec: null,
    notReadySec: null,
    occupancy: null,
    utilization: null,
    fcrEligible: 0,
    fcrResolved: 0,
    fcrRepeatRate: null,
    fcrSurveyAnswers: 0,
    fcrSurveyResolved: 0,
    fcrSurveyRate: null,
    csatAnswers: 0,
    csatAverage: null,
    csatTop2Box: null,
  };
}

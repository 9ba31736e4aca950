/**
 * QA scoring: pure, no I/O. An evaluation's answers on a form become a weighted score; reviewers'
 * evaluations of the same call give the calibration spread; many evaluations become the QA
 * report per agent or per queue (average score, pass rate, frequent problems, calibration).
 *
 * The arithmetic, so a reviewer can redo it by hand:
 *  - an item answered v points on a scale of max points scores v / max (N/A: the item drops out);
 *  - a section scores Σ(itemWeight · itemScore) / Σ itemWeight over its answered items (N/A
 *    items re-weight the rest of their section); a section whose items are all N/A drops out;
 *  - the total is 100 · Σ(sectionWeight · sectionScore) / Σ sectionWeight over sections left;
 *  - an item scoring under the form's failBelow is failed; a failed autoFail item makes the score 0;
 *  - pass: not auto-failed and score ≥ passMark. Scores are rounded to 0.01.
 */
import type { ResolvedForm } from './config.ts';

/** A reviewer's answer to one item: points on the item's scale, or "na". */
export type Answer = number | 'na';

export interface ItemResult {
  item: string;
  section: string;
  category: string;
  text: string;
  answer: Answer;
  /** 0..1; null when N/A. */
  score: number | null;
  failed: boolean;
}

export interface Score {
  /** 0..100 after auto-fail; null when every item was N/A. */
  score: number | null;
  /** The weighted score before auto-fail. */
  rawScore: number | null;
  passed: boolean;
  /** Items whose failure failed the evaluation. */
  autoFailed: string[];
  items: ItemResult[];
  sections: { section: string; title: string; score: number | null }[];
}

export class ScoringError extends Error {}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Every item must be answered; N/A only where the form allows it; points within the item's scale. */
export function validateAnswers(form: ResolvedForm, answers: Record<string, Answer>): string[] {
  const problems: string[] = [];
  const known = new Set<string>();
  for (const s of form.sections) {
    for (const it of s.items) {
      known.add(it.id);
      const a = answers[it.id];
      const max = form.scales[it.scale]!.max;
      if (a === undefined) problems.push(`${it.id}: not answered`);
      else if (a === 'na') {
        if (!it.na) problems.push(`${it.id}: N/A is not allowed for this item`);
      } else if (!Number.isInteger(a) || a < 0 || a > max) problems.push(`${it.id}: answer ${String(a)} is not a whole number 0..${max}`);
    }
  }
  for (const k of Object.keys(answers)) if (!known.has(k)) problems.push(`${k}: no such item on form ${form.id}`);
  return problems;
}

/** Scores valid answers (see validateAnswers); throws ScoringError on invalid ones. */
export function scoreEvaluation(form: ResolvedForm, answers: Record<string, Answer>): Score {
  const problems = validateAnswers(form, answers);
  if (problems.length > 0) throw new ScoringError(problems.join('; '));
  const items: ItemResult[] = [];
  const sections: Score['sections'] = [];
  let num = 0;
  let den = 0;
  const autoFailed: string[] = [];
  for (const s of form.sections) {
    let sNum = 0;
    let sDen = 0;
    for (const it of s.items) {
      const a = answers[it.id]!;
      const score = a === 'na' ? null : a / form.scales[it.scale]!.max;
      const failed = score !== null && score < form.failBelow;
      if (failed && it.autoFail) autoFailed.push(it.id);
      if (score !== null) {
        sNum += it.weight * score;
        sDen += it.weight;
      }
      items.push({ item: it.id, section: s.id, category: it.category ?? s.title, text: it.text, answer: a, score, failed });
    }
    const sScore = sDen > 0 ? sNum / sDen : null;
    sections.push({ section: s.id, title: s.title, score: sScore === null ? null : round2(sScore * 100) });
    if (sScore !== null) {
      num += s.weight * sScore;
      den += s.weight;
    }
  }
  const rawScore = den > 0 ? round2((100 * num) / den) : null;
  const score = autoFailed.length > 0 ? 0 : rawScore;
  return { score, rawScore, passed: autoFailed.length === 0 && score !== null && score >= form.passMark, autoFailed, items, sections };
}

/** An evaluation as the reports read it. */
export interface ScoredEvaluation {
  id: number | string;
  contactId: string;
  agentId: string | null;
  queue: string | null;
  reviewer: string;
  /** review: counts in the agent's scores; calibration: a second opinion, counts only in the spread. */
  kind: 'review' | 'calibration';
  formId: string;
  formVersion: string;
  score: number | null;
  passed: boolean;
  autoFailed: string[];
  items: Pick<ItemResult, 'item' | 'category' | 'text' | 'failed' | 'score' | 'answer'>[];
}

export interface Calibration {
  contactId: string;
  reviewers: { reviewer: string; score: number | null; kind: string }[];
  /** Highest minus lowest score among the reviewers (0..100); null with fewer than two scores. */
  spread: number | null;
  /** Items the reviewers answered differently, with each reviewer's answer. */
  disagreements: { item: string; text: string; answers: Record<string, Answer> }[];
}

/** The calibration of one call: every evaluation of it on the same form version. */
export function calibrate(evals: readonly ScoredEvaluation[]): Calibration | undefined {
  if (evals.length === 0) return undefined;
  const first = evals[0]!;
  const same = evals.filter((e) => e.formId === first.formId && e.formVersion === first.formVersion);
  const scores = same.map((e) => e.score).filter((s): s is number => s !== null);
  const disagreements: Calibration['disagreements'] = [];
  for (const it of first.items) {
    const answers: Record<string, Answer> = {};
    for (const e of same) {
      const a = e.items.find((x) => x.item === it.item);
      if (a) answers[e.reviewer] = a.answer;
    }
    if (new Set(Object.values(answers).map(String)).size > 1) disagreements.push({ item: it.item, text: it.text, answers });
  }
  return {
    contactId: first.contactId,
    reviewers: same.map((e) => ({ reviewer: e.reviewer, score: e.score, kind: e.kind })),
    spread: scores.length >= 2 ? round2(Math.max(...scores) - Math.min(...scores)) : null,
    disagreements,
  };
}

export interface QaReportRow {
  key: string;
  evaluations: number;
  averageScore: number | null;
  passed: number;
  passRate: number | null;
  autoFails: number;
  /** Frequent problems: items failed, most often first. */
  itemFailures: { item: string; category: string; text: string; failed: number; answered: number; rate: number }[];
  /** By category: the "frequent problem" categories. */
  categories: { category: string; failed: number }[];
  calibration: { calls: number; meanSpread: number | null; maxSpread: number | null };
}

export interface QaReport {
  from: string;
  to: string;
  dimension: 'agent' | 'queue' | 'centre';
  rows: QaReportRow[];
}

/**
 * The QA report: one row per agent, queue, or the whole centre. Review evaluations give the
 * scores and problems; calls scored by two or more reviewers give the calibration spread.
 */
export function qaReport(
  evals: readonly ScoredEvaluation[],
  dimension: QaReport['dimension'],
  range: { from: number; to: number },
): QaReport {
  const keyOf = (e: ScoredEvaluation): string =>
    dimension === 'centre' ? 'centre' : ((dimension === 'agent' ? e.agentId : e.queue) ?? 'unknown');
  const groups = new Map<string, ScoredEvaluation[]>();
  for (const e of evals) {
    const k = keyOf(e);
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  const rows: QaReportRow[] = [];
  for (const [key, all] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const reviews = all.filter((e) => e.kind === 'review');
    const scored = reviews.filter((e) => e.score !== null);
    const passed = reviews.filter((e) => e.passed).length;
    const items = new Map<string, QaReportRow['itemFailures'][number]>();
    const cats = new Map<string, number>();
    for (const e of reviews) {
      for (const it of e.items) {
        if (it.score === null) continue;
        const row = items.get(it.item) ?? { item: it.item, category: it.category, text: it.text, failed: 0, answered: 0, rate: 0 };
        row.answered++;
        if (it.failed) {
          row.failed++;
          cats.set(it.category, (cats.get(it.category) ?? 0) + 1);
        }
        items.set(it.item, row);
      }
    }
    const itemFailures = [...items.values()]
      .map((r) => ({ ...r, rate: round4(r.failed / r.answered) }))
      .filter((r) => r.failed > 0)
      .sort((a, b) => b.failed - a.failed || b.rate - a.rate || a.item.localeCompare(b.item));
    const byCall = new Map<string, ScoredEvaluation[]>();
    for (const e of all) byCall.set(e.contactId, [...(byCall.get(e.contactId) ?? []), e]);
    const spreads = [...byCall.values()].map((es) => calibrate(es)?.spread ?? null).filter((s): s is number => s !== null);
    rows.push({
      key,
      evaluations: reviews.length,
      averageScore: scored.length > 0 ? round2(scored.reduce((n, e) => n + e.score!, 0) / scored.length) : null,
      passed,
      passRate: reviews.length > 0 ? round4(passed / reviews.length) : null,
      autoFails: reviews.filter((e) => e.autoFailed.length > 0).length,
      itemFailures,
      categories: [...cats]
        .map(([category, failed]) => ({ category, failed }))
        .sort((a, b) => b.failed - a.failed || a.category.localeCompare(b.category)),
      calibration: {
        calls: spreads.length,
        meanSpread: spreads.length > 0 ? round2(spreads.reduce((a, b) => a + b, 0) / spreads.length) : null,
        maxSpread: spreads.length > 0 ? Math.max(...spreads) : null,
      },
    });
  }
  return { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), dimension, rows };
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/** CSV of a QA report, one line per row (the top problem items joined), like the KPI reports' CSV. */
export function qaReportToCsv(r: QaReport): string {
  const cell = (v: string | number | null | undefined): string => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [
    [
      'from',
      'to',
      r.dimension,
      'evaluations',
      'average_score',
      'passed',
      'pass_rate',
      'auto_fails',
      'calibrated_calls',
      'mean_spread',
      'max_spread',
      'frequent_problems',
    ].join(','),
  ];
  for (const row of r.rows) {
    lines.push(
      [
        r.from,
        r.to,
        row.key,
        row.evaluations,
        row.averageScore,
        row.passed,
        row.passRate,
        row.autoFails,
        row.calibration.calls,
        row.calibration.meanSpread,
        row.calibration.maxSpread,
        row.itemFailures.map((f) => `${f.item}:${f.failed}/${f.answered}`).join(' '),
      ]
        .map(cell)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * The random review sample: perAgent calls per agent from the week's calls, the same draw every
 * time for the same seed (a hash of seed and contact id orders each agent's calls).
 */
export function weeklySample<C extends { contactId: string; agentId: string | null }>(
  calls: readonly C[],
  perAgent: number,
  seed: string,
): Map<string, C[]> {
  const byAgent = new Map<string, C[]>();
  for (const c of calls) {
    if (!c.agentId) continue;
    byAgent.set(c.agentId, [...(byAgent.get(c.agentId) ?? []), c]);
  }
  const out = new Map<string, C[]>();
  for (const [agent, cs] of [...byAgent].sort(([a], [b]) => a.localeCompare(b))) {
    const unique = [...new Map(cs.map((c) => [c.contactId, c])).values()];
    out.set(
      agent,
      unique
        .map((c) => ({ c, h: fnv1a(`${seed}:${c.contactId}`) }))
        .sort((a, b) => a.h - b.h || a.c.contactId.localeCompare(b.c.contactId))
        .slice(0, perAgent)
        .map((x) => x.c),
    );
  }
  return out;
}

/** FNV-1a 32-bit: a small, stable hash (not for secrets; only to shuffle reproducibly). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Monday 00:00 UTC of the week containing t (ISO weeks start on Monday). */
export function weekStart(t: number): number {
  const d = new Date(t);
  const day = (d.getUTCDay() + 6) % 7;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day);
}

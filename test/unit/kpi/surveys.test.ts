/**
 * Survey figures against hand-computed truth: per question, NPS, FCR by survey, per queue of the
 * answering agent; and the main report's fcrSurveyRate and CSAT reading only their own questions
 * (an NPS 10 must not count as "resolved" or as a CSAT answer).
 */
import { describe, expect, it } from 'vitest';
import type { CcEvent } from '../../../server/kpi/events.ts';
import { parseEvent } from '../../../server/kpi/events.ts';
import { computeReport } from '../../../server/kpi/report.ts';
import { surveyReport } from '../../../server/kpi/surveys.ts';

const T0 = Date.UTC(2026, 6, 1, 9, 0);
const seqs = new Map<string, number>();
function ev(id: string, sec: number, f: Record<string, unknown>): CcEvent {
  const seq = (seqs.get(id) ?? 0) + 1;
  seqs.set(id, seq);
  const r = parseEvent({ contactId: id, seq, ts: T0 + sec * 1000, ...f });
  if (!r.ok) throw new Error(r.error);
  return r.event;
}

/** A customer call answered by an agent in `queue`, then survey answers after the agent left. */
function call(id: string, at: number, queue: string, answers: [string, number, string?][]): CcEvent[] {
  const out = [
    ev(id, at, { type: 'contact.arrived', caller: `+44${id}`, dialled: '100' }),
    ev(id, at + 1, { type: 'queue.enter', queue }),
    ev(id, at + 2, { type: 'queue.offer', queue, agentId: '1001' }),
    ev(id, at + 3, { type: 'queue.connect', queue, agentId: '1001' }),
  ];
  let t = at + 60;
  for (const [question, value, name] of answers)
    out.push(
      ev(id, t++, {
        type: 'survey.answer',
        question,
        value,
        scale: question === 'nps' ? 10 : question === 'fcr' ? 1 : 5,
        ...(name ? { name } : {}),
      }),
    );
  out.push(ev(id, t, { type: 'call.end', endedBy: 'caller' }));
  out.push(ev(id, t + 1, { type: 'wrapup.start', agentId: '1001', queue }));
  out.push(ev(id, t + 2, { type: 'wrapup.end', agentId: '1001' }));
  return out;
}

const events = [
  ...call('c1', 0, 'sales', [
    ['csat', 5],
    ['fcr', 1],
    ['nps', 10],
  ]),
  ...call('c2', 300, 'sales', [
    ['csat', 3],
    ['fcr', 0],
    ['nps', 9],
  ]),
  ...call('c3', 600, 'support', [
    ['fcr', 1],
    ['nps', 7],
    ['custom', 2, 'courtesy'],
  ]),
  ...call('c4', 900, 'support', [
    ['nps', 3],
    ['fcr', 1],
    ['custom', 3, 'courtesy'],
  ]),
  ...call('c5', 1200, 'support', [['nps', 0]]),
].sort((a, b) => a.ts - b.ts);

describe('survey report', () => {
  it('figures per question (hand-computed)', () => {
    const r = surveyReport(events, { from: T0, to: T0 + 3_600_000 });
    // NPS answers 10, 9, 7, 3, 0: promoters 2, passives 1, detractors 2 → (2 − 2) / 5 = 0 points.
    expect(r.nps).toMatchObject({ answers: 5, promoters: 2, passives: 1, detractors: 2, score: 0, average: 5.8 });
    // FCR answers 1, 0, 1, 1 → 3 / 4.
    expect(r.fcr).toMatchObject({ answers: 4, resolved: 3, rate: 0.75 });
    // CSAT 5, 3 → average 4, top-2-box (≥ 4) 1 / 2.
    expect(r.csat).toMatchObject({ answers: 2, average: 4, top2Box: 0.5 });
    expect(r.custom).toEqual({ courtesy: { answers: 2, average: 2.5, distribution: { '2': 1, '3': 1 } } });
    // Per queue: sales NPS 10, 9 → 100; support 7, 3, 0 → (0 − 2) / 3 = −66.67.
    expect(r.byQueue.sales!.nps.score).toBe(100);
    expect(r.byQueue.support!.nps.score).toBe(-66.67);
    expect(r.byQueue.support!.fcr).toMatchObject({ answers: 2, rate: 1 });
  });

  it('the main report counts only fcr answers in fcrSurveyRate and only csat in CSAT', () => {
    const rep = computeReport(events, { from: T0, to: T0 + 3_600_000, interval: 'range', dimension: 'centre' });
    const row = rep.rows[0]!;
    expect(row).toMatchObject({ fcrSurveyAnswers: 4, fcrSurveyResolved: 3, fcrSurveyRate: 0.75, csatAnswers: 2, csatAverage: 4 });
  });
});

/**
 * Survey figures per question, pure, from the event log: every `survey.answer` whose time falls in
 * [from, to), credited to the queue of the last agent who answered its customer call's chain
 * (the contact itself or the contacts it continues).
 *
 * - csat: answers, average (raw values), top-2-box (share ≥ scale − 1)
 * - fcr: answers, resolved (value 1), rate = resolved / answers
 * - nps: answers, promoters (9–10), passives (7–8), detractors (0–6),
 *   score = (promoters − detractors) / answers × 100, in points (2 decimals)
 * - custom: per question name: answers, average, distribution
 * Ratios are rounded to 4 decimals, averages to 3; null when there are no answers.
 */
import type { CcEvent } from './events.ts';

export interface QuestionFigures {
  answers: number;
  average: number | null;
  distribution: Record<string, number>;
}
export interface SurveyFigures {
  csat: QuestionFigures & { top2Box: number | null };
  fcr: QuestionFigures & { resolved: number; rate: number | null };
  nps: QuestionFigures & { promoters: number; passives: number; detractors: number; score: number | null };
  custom: Record<string, QuestionFigures>;
}
export interface SurveyReport extends SurveyFigures {
  from: number;
  to: number;
  byQueue: Record<string, SurveyFigures>;
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

class Acc {
  n = 0;
  sum = 0;
  dist: Record<string, number> = {};
  add(v: number): void {
    this.n++;
    this.sum += v;
    this.dist[String(v)] = (this.dist[String(v)] ?? 0) + 1;
  }
  figures(): QuestionFigures {
    return { answers: this.n, average: this.n ? round(this.sum / this.n, 3) : null, distribution: this.dist };
  }
}

class Figures {
  csat = new Acc();
  csatTop2 = 0;
  fcr = new Acc();
  fcrResolved = 0;
  nps = new Acc();
  promoters = 0;
  passives = 0;
  detractors = 0;
  custom = new Map<string, Acc>();
  add(e: Extract<CcEvent, { type: 'survey.answer' }>): void {
    switch (e.question) {
      case 'csat':
        this.csat.add(e.value);
        if (e.value >= e.scale - 1) this.csatTop2++;
        break;
      case 'fcr':
        this.fcr.add(e.value);
        if (e.value === 1) this.fcrResolved++;
        break;
      case 'nps':
        this.nps.add(e.value);
        if (e.value >= 9) this.promoters++;
        else if (e.value >= 7) this.passives++;
        else this.detractors++;
        break;
      case 'custom': {
        const k = e.name ?? 'custom';
        let a = this.custom.get(k);
        if (!a) this.custom.set(k, (a = new Acc()));
        a.add(e.value);
        break;
      }
    }
  }
  result(): SurveyFigures {
    const n = this.nps.n;
    return {
      csat: { ...this.csat.figures(), top2Box: this.csat.n ? round(this.csatTop2 / this.csat.n, 4) : null },
      fcr: { ...this.fcr.figures(), resolved: this.fcrResolved, rate: this.fcr.n ? round(this.fcrResolved / this.fcr.n, 4) : null },
      nps: {
        ...this.nps.figures(),
        promoters: this.promoters,
        passives: this.passives,
        detractors: this.detractors,
        score: n ? round(((this.promoters - this.detractors) / n) * 100, 2) : null,
      },
      custom: Object.fromEntries([...this.custom.entries()].sort().map(([k, a]) => [k, a.figures()])),
    };
  }
}

export function surveyReport(events: readonly CcEvent[], range: { from: number; to: number }): SurveyReport {
  const previous = new Map<string, string>();
  const answeredQueue = new Map<string, string>();
  for (const e of [...events].sort((a, b) => a.ts - b.ts || a.seq - b.seq)) {
    if (e.type === 'contact.arrived' && e.previousContactId) previous.set(e.contactId, e.previousContactId);
    if (e.type === 'queue.connect') answeredQueue.set(e.contactId, e.queue);
  }
  const queueOf = (contactId: string): string | undefined => {
    // The answer belongs to the chain; the latest answered contact of it going back from here.
    for (let id: string | undefined = contactId, i = 0; id !== undefined && i < 100; id = previous.get(id), i++) {
      const q = answeredQueue.get(id);
      if (q) return q;
    }
    return undefined;
  };
  const all = new Figures();
  const perQueue = new Map<string, Figures>();
  for (const e of events) {
    if (e.type !== 'survey.answer' || e.ts < range.from || e.ts >= range.to) continue;
    all.add(e);
    const q = queueOf(e.contactId);
    if (q) {
      let f = perQueue.get(q);
      if (!f) perQueue.set(q, (f = new Figures()));
      f.add(e);
    }
  }
  return {
    from: range.from,
    to: range.to,
    ...all.result(),
    byQueue: Object.fromEntries([...perQueue.entries()].sort().map(([q, f]) => [q, f.result()])),
  };
}

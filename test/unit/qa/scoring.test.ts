/**
 * QA scoring against hand-computed truth. Form: A (20) a1 yes/no, a2 yes/no N/A allowed;
 * B (50) b1 three-point (max 2) w2, b2 five-point w3, b3 yes/no N/A allowed, b4 yes/no auto-fail;
 * C (30) c1 three-point, c2 yes/no. Pass mark 80, failBelow 0.5.
 *   ans1: a1 1, a2 N/A, b1 1, b2 4, b3 N/A, b4 1, c1 2, c2 0
 *     A = 1; B = (2·0.5 + 3·0.8 + 1·1) / 6 = 4.4 / 6; C = (1 + 0) / 2 = 0.5
 *     total = 20·1 + 50·0.7333 + 30·0.5 = 71.67 → fail; c2 failed (0 < 0.5), b1 not (0.5)
 *   ans2: ans1 with b2 5, c2 1 → B = 5/6, C = 1 → 20 + 41.667 + 30 = 91.67 → pass
 *   ans3: ans1 with b4 0 → B = 3.4/6 → raw 20 + 28.33 + 15 = 63.33; auto-fail → 0
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config/load.ts';
import { QaFileSchema, resolveQaConfig, formForQueue, checkQaConfig } from '../../../server/qa/config.ts';
import {
  calibrate,
  qaReport,
  qaReportToCsv,
  scoreEvaluation,
  ScoringError,
  weeklySample,
  weekStart,
  type Answer,
  type ScoredEvaluation,
} from '../../../server/qa/scoring.ts';

const file = QaFileSchema.parse({
  scales: { three: { max: 2 } },
  defaultForm: 'f',
  forms: {
    f: {
      title: 'Test form',
      passMark: 80,
      sections: [
        {
          id: 'A',
          title: 'A',
          weight: 20,
          items: [
            { id: 'a1', text: 'a1' },
            { id: 'a2', text: 'a2', na: true },
          ],
        },
        {
          id: 'B',
          title: 'B',
          weight: 50,
          items: [
            { id: 'b1', text: 'b1', scale: 'three', weight: 2 },
            { id: 'b2', text: 'b2', scale: 'five', weight: 3 },
            { id: 'b3', text: 'b3', na: true },
            { id: 'b4', text: 'b4', autoFail: true, category: 'Compliance' },
          ],
        },
        {
          id: 'C',
          title: 'C',
          weight: 30,
          items: [
            { id: 'c1', text: 'c1', scale: 'three' },
            { id: 'c2', text: 'c2' },
          ],
        },
      ],
    },
  },
});
const form = resolveQaConfig(file).forms.f!;
const ans1: Record<string, Answer> = { a1: 1, a2: 'na', b1: 1, b2: 4, b3: 'na', b4: 1, c1: 2, c2: 0 };
const ans2: Record<string, Answer> = { ...ans1, b2: 5, c2: 1 };
const ans3: Record<string, Answer> = { ...ans1, b4: 0 };

describe('scoring one evaluation', () => {
  it('weights sections and items, re-weighting N/A within its section', () => {
    const s = scoreEvaluation(form, ans1);
    expect(s.score).toBe(71.67);
    expect(s.passed).toBe(false);
    expect(s.sections.map((x) => x.score)).toEqual([100, 73.33, 50]);
    expect(s.items.filter((i) => i.failed).map((i) => i.item)).toEqual(['c2']);
    expect(s.items.find((i) => i.item === 'a2')).toMatchObject({ score: null, failed: false });
  });

  it('passes at the pass mark', () => {
    expect(scoreEvaluation(form, ans2)).toMatchObject({ score: 91.67, passed: true, autoFailed: [] });
  });

  it('a failed auto-fail item scores 0 and fails, keeping the raw score', () => {
    expect(scoreEvaluation(form, ans3)).toMatchObject({ score: 0, rawScore: 63.33, passed: false, autoFailed: ['b4'] });
  });

  it('refuses N/A where not allowed, points off the scale, missing and unknown items', () => {
    expect(() => scoreEvaluation(form, { ...ans1, a1: 'na' })).toThrow(/a1: N\/A is not allowed/);
    expect(() => scoreEvaluation(form, { ...ans1, b2: 6 })).toThrow(/b2: answer 6 is not a whole number 0..5/);
    expect(() => scoreEvaluation(form, { ...ans1, b2: 1.5 })).toThrow(ScoringError);
    const { c1: _c1, ...missing } = ans1;
    expect(() => scoreEvaluation(form, missing)).toThrow(/c1: not answered/);
    expect(() => scoreEvaluation(form, { ...ans1, zz: 1 })).toThrow(/zz: no such item/);
  });
});

function scored(
  id: number,
  contactId: string,
  agentId: string,
  reviewer: string,
  kind: 'review' | 'calibration',
  answers: Record<string, Answer>,
): ScoredEvaluation {
  const s = scoreEvaluation(form, answers);
  return {
    id,
    contactId,
    agentId,
    queue: agentId === 'X' ? 'sales' : 'support',
    reviewer,
    kind,
    formId: 'f',
    formVersion: form.version,
    ...s,
  };
}

const evals = [
  scored(1, 'k1', 'X', 'r1', 'review', ans1),
  scored(2, 'k1', 'X', 'r2', 'calibration', ans2),
  scored(3, 'k2', 'X', 'r1', 'review', ans2),
  scored(4, 'k3', 'X', 'r1', 'review', ans3),
  scored(5, 'k4', 'Y', 'r2', 'review', ans2),
];

describe('calibration', () => {
  it('two reviewers of one call: spread and the items they answered differently', () => {
    const c = calibrate(evals.filter((e) => e.contactId === 'k1'))!;
    expect(c.spread).toBe(20);
    expect(c.disagreements.map((d) => d.item)).toEqual(['b2', 'c2']);
    expect(c.disagreements[0]!.answers).toEqual({ r1: 4, r2: 5 });
    expect(calibrate(evals.filter((e) => e.contactId === 'k2'))!.spread).toBeNull();
  });
});

describe('QA report', () => {
  it('per agent: average of reviews, pass rate, frequent problems, calibration spread', () => {
    const r = qaReport(evals, 'agent', { from: 0, to: 1 });
    expect(r.rows.map((x) => x.key)).toEqual(['X', 'Y']);
    const x = r.rows[0]!;
    // (71.67 + 91.67 + 0) / 3 = 54.4467; the calibration evaluation does not count.
    expect(x).toMatchObject({ evaluations: 3, averageScore: 54.45, passed: 1, passRate: 0.3333, autoFails: 1 });
    expect(x.itemFailures).toEqual([
      { item: 'c2', category: 'C', text: 'c2', failed: 2, answered: 3, rate: 0.6667 },
      { item: 'b4', category: 'Compliance', text: 'b4', failed: 1, answered: 3, rate: 0.3333 },
    ]);
    expect(x.categories).toEqual([
      { category: 'C', failed: 2 },
      { category: 'Compliance', failed: 1 },
    ]);
    expect(x.calibration).toEqual({ calls: 1, meanSpread: 20, maxSpread: 20 });
    expect(r.rows[1]).toMatchObject({ evaluations: 1, averageScore: 91.67, passRate: 1, itemFailures: [] });
    expect(qaReportToCsv(r).split('\r\n')[1]).toBe(
      '1970-01-01T00:00:00.000Z,1970-01-01T00:00:00.001Z,X,3,54.45,1,0.3333,1,1,20,20,c2:2/3 b4:1/3',
    );
  });

  it('per queue and for the centre', () => {
    expect(qaReport(evals, 'queue', { from: 0, to: 1 }).rows.map((r) => [r.key, r.evaluations])).toEqual([
      ['sales', 3],
      ['support', 1],
    ]);
    // (71.67 + 91.67 + 0 + 91.67) / 4 = 63.7525
    expect(qaReport(evals, 'centre', { from: 0, to: 1 }).rows[0]).toMatchObject({
      key: 'centre',
      evaluations: 4,
      averageScore: 63.75,
      passRate: 0.5,
    });
  });
});

describe('weekly sample', () => {
  const calls = Array.from({ length: 20 }, (_, i) => ({ contactId: `c${i}`, agentId: i % 2 ? 'A' : 'B' }));
  it('draws perAgent calls per agent, the same ones every time for a seed', () => {
    const s = weeklySample(calls, 3, 'qa');
    expect([...s.keys()]).toEqual(['A', 'B']);
    expect(s.get('A')!.length).toBe(3);
    expect(s.get('A')!.every((c) => c.agentId === 'A')).toBe(true);
    expect(weeklySample(calls, 3, 'qa').get('A')).toEqual(s.get('A'));
    expect(weeklySample([...calls].reverse(), 3, 'qa').get('A')).toEqual(s.get('A'));
    expect(weeklySample(calls, 30, 'qa').get('B')!.length).toBe(10);
  });
  it('weeks start on Monday 00:00 UTC', () => {
    expect(new Date(weekStart(Date.parse('2026-12-06T23:00:00Z'))).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(new Date(weekStart(Date.parse('2026-12-07T00:00:00Z'))).toISOString()).toBe('2026-12-07T00:00:00.000Z');
  });
});

describe('qa.yaml', () => {
  it('the demo form loads; each queue has a form', () => {
    const r = loadConfig('config');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(formForQueue(r.config.qa, 'sales')?.title).toBe('Standard call review');
    expect(formForQueue(r.config.qa, 'operator')?.id).toBe('standard');
  });
  it('cross-checks: unknown scale, queue and form, duplicate item ids', () => {
    const bad = QaFileSchema.parse({
      defaultForm: 'nope',
      queues: { ghost: 'f' },
      forms: {
        f: {
          title: 'x',
          sections: [
            {
              id: 's',
              title: 's',
              weight: 1,
              items: [
                { id: 'i', text: 'i', scale: 'ten' },
                { id: 'i', text: 'j' },
              ],
            },
          ],
        },
      },
    });
    expect(checkQaConfig(bad, new Set(['sales'])).map((p) => p.message)).toEqual([
      'unknown form "nope"; forms are f',
      'unknown queue "ghost"; queues are sales',
      'unknown scale "ten"; scales are yesno, five',
      'duplicate item id "i" in form f',
    ]);
  });
  it('errors in qa.yaml are reported with file, line and column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qa-config-'));
    try {
      cpSync('config', dir, { recursive: true });
      const f = join(dir, 'qa.yaml');
      writeFileSync(
        f,
        readFileSync(f, 'utf8').replace('scale: three, weight: 2', 'scale: ten, weight: 2').replace('passMark: 80', 'passMark: 180'),
      );
      const r = loadConfig(dir);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const lines = readFileSync(f, 'utf8').split('\n');
      const scaleLine = lines.findIndex((l) => l.includes('scale: ten')) + 1;
      expect(r.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            file: 'qa.yaml',
            line: lines.findIndex((l) => l.includes('passMark: 180')) + 1,
            path: ['forms', 'standard', 'passMark'],
          }),
        ]),
      );
      // The schema error hides the cross-check; fix it and the unknown scale is pointed at.
      writeFileSync(f, readFileSync(f, 'utf8').replace('passMark: 180', 'passMark: 80'));
      const r2 = loadConfig(dir);
      expect(r2.ok).toBe(false);
      if (r2.ok) return;
      expect(r2.errors).toEqual([
        expect.objectContaining({ file: 'qa.yaml', line: scaleLine, message: 'unknown scale "ten"; scales are yesno, five, three' }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The survey node records the question it asks (issue 19): FCR yes/no keys, NPS 0–10 by two-key
 * entry (1 then 0 is 10; 1 then # or a pause is 1) or single-key (0–9, tenKey for 10), custom named
 * questions; CSAT stays as it was.
 */
import { describe, expect, it } from 'vitest';
import type { IvrAction } from '../../../server/ivr/actions.ts';
import { flowSet, harness } from './helpers.ts';

const flow = (node: string) => `
start: q
nodes:
  q: { type: survey, prompt: rate, thanksPrompt: thanks, invalidPrompt: invalid, ${node} }
`;
const surveys = (actions: IvrAction[]) => actions.filter((a) => a.type === 'survey');

function run(node: string, keys: (string | number)[]) {
  const h = harness(flowSet({ s: flow(node) }), 's');
  h.s.start();
  h.finishPrompts();
  for (const k of keys) {
    if (typeof k === 'number') h.clock.advance(k);
    else h.s.digit(k);
    h.finishPrompts();
  }
  return h;
}

describe('survey questions', () => {
  it('csat by default, as before', () => {
    expect(surveys(run('into: csat', ['4']).actions)).toEqual([{ type: 'survey', score: 4, variable: 'csat', question: 'csat', scale: 5 }]);
  });

  it('fcr: yes key records 1, no key records 0, other keys are invalid', () => {
    expect(surveys(run('question: fcr, into: fcr', ['1']).actions)).toMatchObject([{ question: 'fcr', score: 1, scale: 1 }]);
    expect(surveys(run('question: fcr, into: fcr', ['2']).actions)).toMatchObject([{ question: 'fcr', score: 0 }]);
    const h = run('question: fcr, into: fcr, yesKey: "9", noKey: "6"', ['1', '6']);
    expect(h.log).toContain('play:invalid');
    expect(surveys(h.actions)).toMatchObject([{ question: 'fcr', score: 0 }]);
  });

  it('nps two-key: 1 0 is 10, 1 # is 1, 1 and a pause is 1, 7 is 7, 0 is 0', () => {
    const n = 'question: nps, into: nps';
    expect(surveys(run(n, ['1', '0']).actions)).toMatchObject([{ question: 'nps', score: 10, scale: 10 }]);
    expect(surveys(run(n, ['1', '#']).actions)).toMatchObject([{ score: 1 }]);
    const paused = run(n, ['1', 1900]);
    expect(surveys(paused.actions)).toEqual([]); // still waiting for a possible 0
    paused.clock.advance(200);
    expect(surveys(paused.actions)).toMatchObject([{ score: 1 }]);
    expect(surveys(run(n, ['7']).actions)).toMatchObject([{ score: 7 }]);
    expect(surveys(run(n, ['0']).actions)).toMatchObject([{ score: 0 }]);
    expect(run(n, ['1', '0']).s.vars.nps).toBe('10');
  });

  it('nps single-key: 0-9 as pressed, the ten key for 10', () => {
    const n = 'question: nps, npsEntry: single-key, tenKey: "*"';
    expect(surveys(run(n, ['*']).actions)).toMatchObject([{ score: 10 }]);
    expect(surveys(run(n, ['1']).actions)).toMatchObject([{ score: 1 }]);
    expect(surveys(run(n, ['#', '9']).actions)).toMatchObject([{ score: 9 }]);
  });

  it('custom questions carry their name; a custom question without a name is refused', () => {
    expect(surveys(run('question: custom, name: courtesy, scale: 3, into: courtesy', ['3']).actions)).toEqual([
      { type: 'survey', score: 3, variable: 'courtesy', question: 'custom', scale: 3, name: 'courtesy' },
    ]);
    expect(() => flowSet({ s: flow('question: custom') })).toThrow(/name/);
  });
});

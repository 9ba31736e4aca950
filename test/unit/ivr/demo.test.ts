import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatError } from '../../../server/config/errors.ts';
import { loadConfig } from '../../../server/config/load.ts';
import { parseWhen } from '../../../server/ivr/calendar.ts';
import { compileFlows, type FlowSet } from '../../../server/ivr/flow.ts';
import { flowToDot, flowToSvg } from '../../../server/ivr/graph.ts';
import { formatSimulation, simulateCall } from '../../../server/ivr/simulate.ts';

const DEMO = path.resolve(import.meta.dirname, '../../../config');

function demo(): FlowSet {
  const r = loadConfig(DEMO);
  if (!r.ok) throw new Error(r.errors.map((e) => formatError(e)).join('\n'));
  return compileFlows(r.config);
}
const at = (local: string): number => parseWhen(local, 'Europe/London')!;

describe('the demo "main" flow', () => {
  it('routes 1 / 2 / 0 to sales / support / operator in opening hours', () => {
    const flows = demo();
    const reached = ['1', '2', '0'].map(
      (d) => simulateCall(flows, 'main', { at: at('2026-12-21T10:00'), callerId: '+15551234', inputs: [d] }).queue?.name,
    );
    expect(reached).toEqual(['sales', 'support', 'operator']);
  });

  it('after an invalid key and a silence still reaches the queue; a silent caller reaches the operator', () => {
    const flows = demo();
    const r = simulateCall(flows, 'main', { at: at('2026-12-21T10:00'), callerId: '+15551234', inputs: ['7', '', '2'] });
    expect(r.summary).toBe('hours=open > welcome > menu[7,-,2]=2 > support');
    expect(r.prompts.map((p) => p.name)).toEqual(['welcome', 'main-menu', 'invalid', 'main-menu', 'no-input', 'main-menu']);
    const silent = simulateCall(flows, 'main', { at: at('2026-12-21T10:00'), callerId: '+15551234', inputs: [] });
    expect(silent.queue?.name).toBe('operator');
    expect(silent.summary).toBe('hours=open > welcome > menu[-,-,-]=failed:timeout > operator');
  });

  it('is closed at night and on Sundays, and plays the holiday message on Christmas Day', () => {
    const flows = demo();
    const sim = (t: string) => simulateCall(flows, 'main', { at: at(t), callerId: '+15551234', inputs: ['1'] });
    expect(sim('2026-12-21T19:00').reason).toBe('closed');
    expect(sim('2026-12-20T10:00').reason).toBe('closed');
    const xmas = sim('2026-12-25T10:00');
    expect(xmas).toMatchObject({ reason: 'holiday', outcome: 'completed' });
    expect(xmas.queue).toBeUndefined();
    expect(formatSimulation(xmas)).toMatch(/holiday: "We are closed for the holiday/);
  });

  it('offers a callback when the queue times out, and runs the survey after the agent hangs up', () => {
    const flows = demo();
    const cb = simulateCall(flows, 'main', { at: at('2026-12-21T10:00'), callerId: '+15551234', inputs: ['1', '1'], queue: 'timeout' });
    expect(cb).toMatchObject({
      outcome: 'callback',
      summary: 'hours=open > welcome > menu[1]=1 > sales=timeout > offer-callback[1]=accepted',
    });
    const survey = simulateCall(flows, 'main', {
      at: at('2026-12-21T10:00'),
      callerId: '+15551234',
      inputs: ['2', '5'],
      queue: 'answered',
    });
    expect(survey.vars.csat).toBe('5');
    expect(survey.outcome).toBe('queued');
  });

  it('draws: every node and key appears in the DOT, and Graphviz renders an SVG', async () => {
    const flows = demo();
    const dot = flowToDot(flows, 'main');
    for (const n of Object.keys(flows.flows.main!.nodes)) expect(dot).toContain(`"main:${n}"`);
    expect(dot).toContain('"survey:csat"');
    expect(dot).toMatch(/"main:menu" -> "main:sales" \[label="key 1"\]/);
    expect(dot).toContain('For sales press 1');
    const svg = await flowToSvg(flows, 'main');
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*key 1[\s\S]*<\/svg>\s*$/);
  });
});

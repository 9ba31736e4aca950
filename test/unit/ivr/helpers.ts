import { parse } from 'yaml';
import { FakeClock } from '../../../lib/clock.ts';
import { CalendarSchema } from '../../../server/ivr/calendar.ts';
import { compileFlows, type FlowSet } from '../../../server/ivr/flow.ts';
import { FlowSchema } from '../../../server/ivr/schema.ts';
import { IvrSession, type IvrSessionOptions } from '../../../server/ivr/session.ts';
import type { IvrAction } from '../../../server/ivr/actions.ts';
import type { Queue } from '../../../server/acd/config.ts';

export const LONDON = CalendarSchema.parse({
  timezone: 'Europe/London',
  weekly: { 'mon-fri': ['08:00-18:00'], sat: ['09:00-13:00'] },
  holidays: [
    { name: 'Christmas Eve', date: '2026-12-24', open: ['08:00-12:00'] },
    { name: 'Christmas Day', date: '12-25' },
  ],
});

/** Flows from YAML text per flow; prompts are TTS texts named after themselves. */
export function flowSet(flowsYaml: Record<string, string>, version = 'v1'): FlowSet {
  const flows = Object.fromEntries(Object.entries(flowsYaml).map(([n, y]) => [n, FlowSchema.parse(parse(y))]));
  const names = [
    'hello',
    'menu',
    'invalid',
    'noinput',
    'bye',
    'pin',
    'rate',
    'thanks',
    'lang',
    'cb',
    'cbok',
    'closed',
    'hol',
    'moh',
    'balance',
  ];
  const prompts = Object.fromEntries(names.map((n) => [n, { text: `${n} {{name}}`, file: `/p/${n}.wav` }]));
  prompts.balance = { text: 'Your balance is {{balance}}', file: undefined as unknown as string };
  const queue = { skills: [{ skill: 's', minLevel: 1 }] } as unknown as Queue;
  return compileFlows({
    version,
    dir: '/cfg',
    flows,
    prompts,
    calendars: { biz: LONDON },
    queues: { sales: queue, support: queue },
    musicOnHold: 'moh',
  });
}

export interface Harness {
  s: IvrSession;
  clock: FakeClock;
  actions: IvrAction[];
  /** Types of actions so far, with a short detail: "play:menu", "queue:sales"… */
  log: string[];
  ends: { outcome: string; reason: string }[];
  /** Finish every prompt currently playing (one at a time). */
  finishPrompts(max?: number): void;
}

export function harness(flows: FlowSet, flow: string, opts: Partial<IvrSessionOptions> = {}, start = Date.UTC(2026, 0, 5, 10, 0)): Harness {
  const clock = new FakeClock(start);
  const s = new IvrSession(flows, flow, { clock, callerId: '+15551234', dialled: '100', ...opts });
  const actions: IvrAction[] = [];
  const log: string[] = [];
  const ends: { outcome: string; reason: string }[] = [];
  s.on('action', (a) => {
    actions.push(a);
    switch (a.type) {
      case 'play':
        log.push(`play:${a.prompt.name ?? (a.prompt.kind === 'tts' ? a.prompt.text : a.prompt.file)}`);
        break;
      case 'queue':
        log.push(`queue:${a.queue}`);
        break;
      case 'transfer':
      case 'callback':
        log.push(`${a.type}:${a.number}`);
        break;
      case 'hangup':
        log.push(`hangup:${a.reason}`);
        break;
      case 'survey':
        log.push(`survey:${a.score}`);
        break;
      case 'lookup':
        log.push(`lookup:${a.url}`);
        break;
      case 'stopPrompt':
        log.push('stop');
        break;
    }
  });
  s.on('end', (e) => ends.push(e));
  return {
    s,
    clock,
    actions,
    log,
    ends,
    finishPrompts(max = 20) {
      for (let i = 0; i < max && s.state === 'playing'; i++) s.promptFinished();
    },
  };
}

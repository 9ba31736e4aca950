import { FakeClock } from '../../../lib/clock.ts';
import { Acd } from '../../../server/acd/acd.ts';
import { AgentSchema, QueueSchema, type AcdOptions } from '../../../server/acd/config.ts';
import type { AcdEvent, AcdEventType } from '../../../server/acd/events.ts';

export type QueueInput = Parameters<typeof QueueSchema.parse>[0];

export function agent(id: string, skills: Record<string, number>) {
  return AgentSchema.parse({ id, name: id, password: 'secret', skills });
}

export function queue(input: Record<string, unknown>) {
  return QueueSchema.parse(input);
}

export interface Harness {
  acd: Acd;
  clock: FakeClock;
  events: AcdEvent[];
  of<T extends AcdEventType>(type: T): Extract<AcdEvent, { type: T }>[];
  last<T extends AcdEventType>(type: T): Extract<AcdEvent, { type: T }> | undefined;
  /** Agents currently offered `callId`, from the events. */
  offersFor(callId: string): string[];
  clear(): void;
  sec(s: number): void;
  audit(): void;
}

export function harness(opts: {
  queues: Record<string, Record<string, unknown>>;
  agents: ReturnType<typeof agent>[];
  options?: Partial<AcdOptions>;
  auxCodes?: { code: string; label: string }[];
  login?: boolean;
}): Harness {
  const clock = new FakeClock();
  const queues = Object.fromEntries(Object.entries(opts.queues).map(([k, v]) => [k, queue(v)]));
  const acd = new Acd({
    clock,
    queues,
    agents: opts.agents,
    auxCodes: opts.auxCodes ?? [
      { code: 'break', label: 'Break' },
      { code: 'lunch', label: 'Lunch' },
    ],
    options: opts.options ?? {},
  });
  const events: AcdEvent[] = [];
  acd.on('event', (e) => events.push(e));
  if (opts.login !== false) for (const a of opts.agents) acd.agentLogin(a.id);
  const h: Harness = {
    acd,
    clock,
    events,
    of: <T extends AcdEventType>(type: T) => events.filter((e): e is Extract<AcdEvent, { type: T }> => e.type === type),
    last: <T extends AcdEventType>(type: T) => h.of(type).at(-1),
    offersFor: (callId) => {
      const v = acd.callView(callId);
      return v && v.state === 'offered' ? v.agents : [];
    },
    clear: () => {
      events.length = 0;
    },
    sec: (s) => clock.advance(s * 1000),
    audit: () => {
      const v = acd.audit();
      if (v.length) throw new Error(`ACD invariants broken:\n${v.join('\n')}`);
    },
  };
  return h;
}

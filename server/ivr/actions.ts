/**
 * What an IVR session (session.ts) says to the call layer: the actions it asks for (play, queue,
 * transfer, callback, hang-up…), the steps of the caller's path, how it ended, and the lookup
 * function the call layer injects. Kept apart from the interpreter so that the call layer and the
 * simulator read the contract without the machinery.
 */
import type { SkillRequirement } from '../acd/config.ts';
import type { IvrQueueExit } from '../acd/exit-reasons.ts';
import type { ResolvedPrompt } from './flow.ts';
import type { IvrNodeType } from './schema.ts';

/** The queue node's exit branches: the ACD's exit reasons as the IVR sees them (ivrQueueExit). */
export type QueueExitReason = IvrQueueExit;

export type IvrAction =
  | { type: 'play'; prompt: ResolvedPrompt; bargeIn: boolean }
  /** Stop the prompt now playing (the caller barged in); do not call promptFinished for it. */
  | { type: 'stopPrompt' }
  | { type: 'lookup'; url: string; method: 'GET' | 'POST'; timeoutMs: number; body?: string }
  | {
      type: 'queue';
      queue: string;
      priority: number;
      skills?: SkillRequirement[];
      musicOnHold?: ResolvedPrompt;
      /** The key that books a callback while waiting (announced with the position). */
      callbackKey?: string;
      /** Variables for the agent's screen pop (lookup results, collected digits). */
      vars: Record<string, string>;
    }
  | { type: 'transfer'; number: string }
  /** Book a callback in `queue`; whileQueued: the caller pressed the queue's callbackKey (keep the place). */
  | { type: 'callback'; queue: string; number: string; whileQueued?: boolean }
  | { type: 'survey'; score: number; variable: string; question: 'csat' | 'fcr' | 'nps' | 'custom'; scale: number; name?: string }
  | { type: 'hangup'; reason: string };

/**
 * How the IVR part of the call ended. `completed` is self-service (the caller got what they needed
 * inside the IVR); reports count it as answered.
 */
export type IvrOutcome = 'completed' | 'abandoned' | 'queued' | 'transferred' | 'callback' | 'failed';

export interface PathStep {
  /** Epoch ms when the caller reached the node. */
  at: number;
  flow: string;
  node: string;
  type: IvrNodeType;
  label?: string;
  /** Keys pressed at this node, in order (invalid ones too), comma-separated per attempt. */
  input?: string;
  /** How the node was left: the branch taken or result ("open", "1", "timeout", "answered"…). */
  outcome?: string;
}

/**
 * A caller's path in compact form, for a screen pop: "hours=open > welcome > menu[1] > sales=queued"
 * (the first flow's name left out, other flows as "flow:node"). From the live session, or from a
 * finished contact's logged ivr.step events (which carry no outcome).
 */
export function pathSummary(steps: readonly Pick<PathStep, 'flow' | 'node' | 'input' | 'outcome'>[]): string {
  const first = steps[0]?.flow;
  return steps
    .map((s) => `${s.flow === first ? '' : `${s.flow}:`}${s.node}${s.input ? `[${s.input}]` : ''}${s.outcome ? `=${s.outcome}` : ''}`)
    .join(' > ');
}

export type LookupResult = { ok: true; data: unknown } | { ok: false; error: string };
export type LookupFn = (req: { url: string; method: 'GET' | 'POST'; timeoutMs: number; body?: string }) => Promise<unknown>;

export interface IvrSessionEvents {
  action: [action: IvrAction];
  end: [end: { outcome: IvrOutcome; reason: string }];
  /** A node was reached (the step is completed later with input and outcome). */
  step: [step: PathStep];
}

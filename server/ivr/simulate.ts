/**
 * A dry run of a flow with no telephony: a FakeClock, a scripted caller and a transcript. Prompts
 * "play" for their real length (WAV size) or a speaking-rate estimate (TTS), keys are pressed at
 * each input the flow asks for, and an exhausted script means the caller stays silent, so timeouts
 * and retries happen as they would on a call.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { FakeClock } from '../../lib/clock.ts';
import type { FlowSet, ResolvedPrompt } from './flow.ts';
import { IvrSession } from './session.ts';
import type { IvrAction, IvrOutcome, LookupResult, PathStep, QueueExitReason } from './actions.ts';

export interface SimulationOptions {
  /** Epoch ms of the call. */
  at: number;
  callerId: string;
  dialled?: string;
  /** Keys typed at each successive input: "1", "12345#", or "" for silence. */
  inputs: string[];
  /** What happens in a queue: stop there (default), an agent answers and later hangs up, or an exit. */
  queue?: 'stop' | 'answered' | QueueExitReason;
  /** Reply to HTTP lookups; default: the lookup fails (no network in a dry run). */
  lookup?: LookupResult;
  /** Bound on the simulated call. */
  maxSeconds?: number;
}

export interface SimulationEvent {
  /** Seconds since the call started. */
  t: number;
  kind: 'node' | 'play' | 'keys' | 'silence' | 'queue' | 'transfer' | 'callback' | 'survey' | 'lookup' | 'hangup' | 'agent' | 'end';
  text: string;
}

export interface SimulationResult {
  flow: string;
  version: string;
  events: SimulationEvent[];
  path: PathStep[];
  summary: string;
  outcome: IvrOutcome | undefined;
  reason: string | undefined;
  /** The last queue the caller reached, with its priority. */
  queue?: { name: string; priority: number };
  prompts: ResolvedPrompt[];
  vars: Record<string, string>;
}

/** Seconds a prompt plays: 8 kHz 16-bit WAV bytes, or ~2.5 words a second for TTS. */
export function promptSeconds(p: ResolvedPrompt): number {
  if (p.kind === 'file') {
    try {
      return Math.max(0.2, (statSync(p.file).size - 44) / 16000);
    } catch {
      return 1;
    }
  }
  return Math.max(0.5, p.text.split(/\s+/).length / 2.5);
}

export function describePrompt(p: ResolvedPrompt): string {
  const name = p.name ?? (p.kind === 'file' ? path.basename(p.file) : 'tts');
  const text = p.kind === 'tts' ? p.text : p.text;
  return text !== undefined ? `${name}: "${text}"` : name;
}

export function simulateCall(flows: FlowSet, flowName: string, opts: SimulationOptions): SimulationResult {
  const clock = new FakeClock(opts.at);
  const s = new IvrSession(flows, flowName, { clock, callerId: opts.callerId, dialled: opts.dialled ?? '' });
  const events: SimulationEvent[] = [];
  const prompts: ResolvedPrompt[] = [];
  const t = (): number => Math.round((clock.now() - opts.at) / 100) / 10;
  const log = (kind: SimulationEvent['kind'], text: string): void => {
    events.push({ t: t(), kind, text });
  };
  let current: ResolvedPrompt | undefined;
  let queue: { name: string; priority: number } | undefined;
  let pendingLookup = false;
  s.on('step', (st) => log('node', `${st.flow}:${st.node} (${st.type}${st.label ? `, ${st.label}` : ''})`));
  s.on('action', (a: IvrAction) => {
    switch (a.type) {
      case 'play':
        current = a.prompt;
        prompts.push(a.prompt);
        log('play', describePrompt(a.prompt));
        break;
      case 'stopPrompt':
        current = undefined;
        break;
      case 'queue':
        queue = { name: a.queue, priority: a.priority };
        log(
          'queue',
          `queue "${a.queue}" priority ${a.priority}${a.skills ? ` skills ${a.skills.map((k) => `${k.skill}>=${k.minLevel}`).join(',')}` : ''}`,
        );
        break;
      case 'transfer':
        log('transfer', `transfer to ${a.number}`);
        break;
      case 'callback':
        log('callback', `callback to ${a.number} booked in queue "${a.queue}"`);
        break;
      case 'survey':
        log('survey', `survey score ${a.score} (${a.variable})`);
        break;
      case 'lookup':
        pendingLookup = true;
        log('lookup', `${a.method} ${a.url}`);
        break;
      case 'hangup':
        log('hangup', `IVR hangs up (${a.reason})`);
        break;
    }
  });
  s.on('end', (e) => log('end', `outcome ${e.outcome} (${e.reason})`));

  const inputs = [...opts.inputs];
  const limit = opts.at + (opts.maxSeconds ?? 3600) * 1000;
  let queueHandled = false;
  s.start();
  // Bounded: each turn either ends the call or moves the fake clock or consumes an input.
  for (let turn = 0; turn < 10_000 && !s.ended && clock.now() < limit; turn++) {
    if (pendingLookup) {
      pendingLookup = false;
      s.lookupResult(opts.lookup ?? { ok: false, error: 'no lookup in a dry run (use --lookup JSON)' });
      continue;
    }
    switch (s.state) {
      case 'playing': {
        const p = current;
        clock.advance(Math.round((p ? promptSeconds(p) : 0) * 1000));
        current = undefined;
        s.promptFinished();
        break;
      }
      case 'waiting': {
        const keys = inputs.shift();
        if (keys === undefined || keys === '' || keys === '-') {
          const next = clock.nextAt();
          log('silence', keys === undefined ? 'caller stays silent' : 'caller waits');
          if (next === undefined) {
            s.hangup();
            break;
          }
          clock.advanceTo(next);
        } else {
          log('keys', `caller presses ${keys.split('').join(' ')}`);
          for (const k of keys) {
            if (s.state !== 'waiting' && s.state !== 'playing') break;
            clock.advance(300);
            s.digit(k);
          }
        }
        break;
      }
      case 'queued': {
        const mode = opts.queue ?? 'stop';
        if (mode === 'stop' || queueHandled) {
          return finish();
        }
        queueHandled = true;
        if (mode === 'answered') {
          clock.advance(10_000);
          s.connected('agent');
          log('agent', 'an agent answers');
          clock.advance(60_000);
          log('agent', 'the agent hangs up');
          s.bridgeEnded();
        } else {
          clock.advance(30_000);
          log('queue', `caller leaves the queue: ${mode}`);
          s.queueExit(mode);
          queueHandled = false;
        }
        break;
      }
      case 'lookup': {
        const next = clock.nextAt();
        if (next === undefined) s.hangup();
        else clock.advanceTo(next);
        break;
      }
      default: {
        const next = clock.nextAt();
        if (next === undefined) s.hangup();
        else clock.advanceTo(next);
      }
    }
  }
  if (!s.ended && s.state !== 'queued') {
    log('end', 'simulation limit reached; caller hangs up');
    s.hangup();
  }
  return finish();

  function finish(): SimulationResult {
    return {
      flow: flowName,
      version: flows.version,
      events,
      path: s.path,
      summary: s.summary(),
      outcome: s.outcome,
      reason: s.endReason,
      ...(queue ? { queue } : {}),
      prompts,
      vars: { ...s.vars },
    };
  }
}

export function formatSimulation(r: SimulationResult): string {
  const lines = [`flow ${r.flow} (config ${r.version})`];
  for (const e of r.events) {
    const mark = {
      node: '•',
      play: '  ▶',
      keys: '  ☎',
      silence: '  …',
      queue: '  →',
      transfer: '  →',
      callback: '  ↺',
      survey: '  ★',
      lookup: '  ⇄',
      hangup: '  ✆',
      agent: '  ☺',
      end: '■',
    }[e.kind];
    lines.push(`${e.t.toFixed(1).padStart(7)}s ${mark} ${e.text}`);
  }
  lines.push('');
  lines.push(`path:    ${r.summary}`);
  lines.push(`outcome: ${r.outcome ?? 'in progress'}${r.reason ? ` (${r.reason})` : ''}`);
  if (r.queue) lines.push(`queue:   ${r.queue.name} (priority ${r.queue.priority})`);
  return lines.join('\n');
}

/**
 * The agent desktop's directory: where a call can go. Queues with how many callers wait and how
 * many agents are free, and agents (and supervisors) with their state now, for the transfer and
 * consult picker. Agent-scoped (a logged-in agent's bearer token) and nothing private: names,
 * states and counts only — no aux reason, no caller numbers, no figures of anyone's performance.
 *
 * Changes are pushed, not polled: DirectoryFeed listens to the ACD's events, recomputes the
 * directory at most every `debounceMs` (a burst of events — a call offered, answered, an agent
 * going to wrap-up — is one update), and tells its listeners only when something they can see
 * changed. The agent's own event stream (agentApi.ts) carries it as `event: directory`.
 */
import type { Acd } from '../acd/acd.ts';
import type { AcdEvent } from '../acd/events.ts';
import { Emitter } from '../../lib/events.ts';
import type { AgentSessions } from '../secrets/sessions.ts';
import { HttpError, sendJson, type Handler } from './server.ts';

export interface DirectoryQueue {
  name: string;
  open: boolean;
  /** Callers waiting (callbacks included). */
  waiting: number;
  /** Agents of the queue who are available now. */
  available: number;
  /** Agents staffing it (available, ringing, talking or in wrap-up). */
  staffed: number;
}

export interface DirectoryAgent {
  id: string;
  name: string;
  role: string;
  /** The ACD's state: available, not-ready, offered, on-call, wrap-up, logged-out. */
  state: string;
}

export interface Directory {
  queues: DirectoryQueue[];
  agents: DirectoryAgent[];
}

export interface DirectoryDeps {
  /** The ACD's snapshot and its event feed (Acd satisfies it). */
  acd: {
    snapshot(): ReturnType<Acd['snapshot']>;
    on(name: 'event', fn: (e: AcdEvent) => void): unknown;
    off(name: 'event', fn: (e: AcdEvent) => void): unknown;
  };
  /** Agents in force (agents.yaml, as reloaded). */
  agents(): readonly { id: string; name: string; role?: string }[];
}

/** The directory now, from one ACD snapshot. Pure. */
export function directoryOf(snap: ReturnType<Acd['snapshot']>, agents: readonly { id: string; name: string; role?: string }[]): Directory {
  const states = new Map(snap.agents.map((a) => [a.id, a.state]));
  return {
    queues: snap.queues
      .map((q) => ({ name: q.queue, open: q.open, waiting: q.waiting, available: q.agentsAvailable, staffed: q.agentsStaffed }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    agents: agents
      .map((a) => ({ id: a.id, name: a.name, role: a.role ?? 'agent', state: states.get(a.id) ?? 'logged-out' }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id)),
  };
}

/** Events that never change what the directory shows (everything else may: it is recomputed and compared). */
const IRRELEVANT = new Set<AcdEvent['type']>(['position', 'serviceLevel']);

export class DirectoryFeed {
  private readonly changes = new Emitter<{ directory: [Directory] }>();
  private last: Directory | undefined;
  private lastJson = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listener = (e: AcdEvent): void => {
    if (!IRRELEVANT.has(e.type)) this.schedule();
  };

  constructor(
    private readonly deps: DirectoryDeps,
    private readonly debounceMs = 250,
  ) {
    deps.acd.on('event', this.listener);
  }

  current(): Directory {
    if (!this.last) {
      this.last = directoryOf(this.deps.acd.snapshot(), this.deps.agents());
      this.lastJson = JSON.stringify(this.last);
    }
    return this.last;
  }

  /** Listen for changes; returns the unsubscribe function. */
  onChange(fn: (d: Directory) => void): () => void {
    this.changes.on('directory', fn);
    return () => this.changes.off('directory', fn);
  }

  /** Recompute now (e.g. agents.yaml reloaded) and tell listeners if it changed. */
  refresh(): void {
    const next = directoryOf(this.deps.acd.snapshot(), this.deps.agents());
    const json = JSON.stringify(next);
    if (json === this.lastJson) return;
    this.last = next;
    this.lastJson = json;
    this.changes.emit('directory', next);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.deps.acd.off('event', this.listener);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, this.debounceMs);
    this.timer.unref?.();
  }
}

export const DIRECTORY_PATH = '/api/v1/agent/directory';

/** GET /api/v1/agent/directory for a logged-in agent (bearer token). */
export function createDirectoryApi(feed: DirectoryFeed, sessions: AgentSessions): Handler {
  return async (req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== DIRECTORY_PATH) return false;
    if (req.method !== 'GET') throw new HttpError(405, 'method not allowed');
    const auth = req.headers.authorization;
    if (!sessions.get(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)) throw new HttpError(401, 'not logged in');
    sendJson(res, 200, feed.current());
    return true;
  };
}

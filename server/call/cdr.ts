/**
 * The call detail record as the event log the store keeps: call control and the ACD speak here,
 * and this file turns what they say into numbered CcEvents (server/kpi/events.ts) for the store.
 *
 * Each contact is its own stream numbered 1, 2, 3… so (contactId, seq) is an idempotency key.
 * Agent state streams are per agent and per server start (`agent:1001#<boot>`): a restarted server
 * starts a fresh stream rather than re-using sequence numbers the database already holds, which
 * its ON CONFLICT DO NOTHING would silently drop.
 */
import { randomBytes } from 'node:crypto';
import type { AcdEvent } from '../acd/events.ts';
import type { Clock } from '../../lib/clock.ts';
import { loggedExitReason } from '../acd/exit-reasons.ts';
import { agentStreamId, EventSequencer, type CcEventInput } from '../kpi/events.ts';
import { Emitter } from '../../lib/events.ts';
import { log as rootLog } from '../../lib/log.ts';

const log = rootLog.child({ mod: 'cdr' });

type Omit2<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event without its stream id and sequence number, which the log fills in. */
export type Unstamped = Omit2<CcEventInput, 'contactId' | 'seq'>;

/** The agent's wrap-up: a disposition code of the queue, a note, the customer's need resolved. */
export interface WrapupOutcome {
  disposition?: string;
  note?: string;
  resolved?: boolean;
}

export interface EventSink {
  /** Never blocks and never throws: the store spools to disk first. */
  emit(event: unknown): boolean;
}

export class CallDetailLog {
  /** Each contact event as it is written: the desk's "My day" pushes a CSAT answer to its agent (http/agentDesktop.ts). */
  readonly written = new Emitter<{ contact: [contactId: string, e: Unstamped] }>();
  private readonly streams = new Map<string, EventSequencer>();
  /** Wrap-up outcomes given by agents, written with the contact's wrap-up.end (setWrapupOutcome). */
  private readonly wrapups = new Map<string, WrapupOutcome>();
  /** Work that will still write to a contact (see keepOpen). */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Callbacks in the ACD, by the contact that asked; true once that contact's call is over (close when the callback is). */
  private readonly callbacks = new Map<string, boolean>();
  private readonly callbacksDone = new Set<string>();

  constructor(
    private readonly sink: EventSink,
    private readonly clock: Clock,
    /** Skill group a queue's calls are reported under (its first required skill). */
    private readonly skillGroupOf: (queue: string) => string | undefined = () => undefined,
    /** This process's node id (store.node): it names the agent streams and owns the contacts. */
    private readonly boot: string = randomBytes(4).toString('hex'),
  ) {}

  /** Append an event to a contact's stream. */
  contact(contactId: string, e: Unstamped): void {
    let s = this.streams.get(contactId);
    if (!s) this.streams.set(contactId, (s = new EventSequencer(contactId)));
    // The owner, so that crash recovery closes only the contacts of a node that died.
    this.write(s.stamp(e.type === 'contact.arrived' ? { ...e, node: this.boot } : e));
    this.written.emit('contact', contactId, e);
  }

  /**
   * Keep a contact's stream open until `work` settles (a recording still flushing to disk), so
   * an event it writes afterwards is numbered after the others even if the contact is closed
   * meanwhile; a reopened stream would start again at 1 and the store would drop the event as a
   * duplicate.
   */
  keepOpen(contactId: string, work: Promise<unknown>): void {
    const before = this.busy.get(contactId);
    const all: Promise<unknown> = Promise.allSettled(before ? [before, work] : [work]).then(() => {
      if (this.busy.get(contactId) === all) this.busy.delete(contactId);
    });
    this.busy.set(contactId, all);
  }

  /** What the agent recorded for a contact; written with its wrap-up.end (the ACD's wrapupEnd). */
  setWrapupOutcome(contactId: string, outcome: WrapupOutcome): void {
    this.wrapups.set(contactId, outcome);
  }

  /** The contact will get no more events (its call and the agent's wrap-up are over). */
  closeContact(contactId: string): void {
    // A pending callback still writes callback.dialled / given-up to the contact that asked for it.
    if (this.callbacks.has(contactId)) {
      this.callbacks.set(contactId, true);
      return;
    }
    const busy = this.busy.get(contactId);
    if (busy) void busy.then(() => this.closeContact(contactId));
    else this.streams.delete(contactId);
  }

  agentState(agentId: string, state: 'logged-out' | 'ready' | 'not-ready', reason?: string): void {
    const id = `${agentStreamId(agentId)}#${this.boot}`;
    let s = this.streams.get(id);
    if (!s) this.streams.set(id, (s = new EventSequencer(id)));
    this.write(s.stamp({ type: 'agent.state', ts: this.clock.now(), agentId, state, ...(reason ? { reason } : {}) }));
  }

  private write(e: unknown): void {
    if (!this.sink.emit(e)) log.error({ event: e }, 'event rejected by the store');
  }

  /**
   * A pending callback restored after a restart: its contact's stream continues at nextSeq (the
   * store's last seq + 1), and stays open until the callback is done.
   */
  reopenCallback(contactId: string, nextSeq: number): void {
    this.streams.set(contactId, new EventSequencer(contactId, nextSeq));
    this.callbacks.set(contactId, true);
  }

  /**
   * A callback's events (issue #12): the contact that asked gets callback.requested (and, when it
   * was waiting, the end of its queue visit: queue.exit 'callback'), callback.dialled per attempt
   * and callback.given-up. The agent's reservation, talk and wrap-up belong to the new outbound
   * contact call control makes (previousContactId = this one), not to this stream.
   * Returns true when the event was a callback's and is handled.
   */
  private callbackEvent(e: AcdEvent): boolean {
    const ts = e.at;
    if (e.type === 'callbackRequested') {
      this.callbacks.set(e.callId, this.callbacks.get(e.callId) ?? false);
      this.contact(e.callId, { type: 'callback.requested', ts, queue: e.queue, number: e.number });
      if (e.fromWaiting) this.contact(e.callId, { type: 'queue.exit', ts, queue: e.queue, reason: 'callback' });
      return true;
    }
    const id = 'callId' in e ? e.callId : undefined;
    if (id !== undefined && this.callbacksDone.has(id)) return true; // its wrap-up, after the talk
    if (id === undefined || !this.callbacks.has(id)) return e.type === 'enqueue' && e.callback;
    switch (e.type) {
      case 'callbackDialled':
        this.contact(id, {
          type: 'callback.dialled',
          ts,
          attempt: e.attempt,
          outcome: e.outcome,
          ...(e.agentId ? { agentId: e.agentId } : {}),
          ...(e.newContactId ? { newContactId: e.newContactId } : {}),
        });
        return true;
      case 'callbackGivenUp':
        this.contact(id, { type: 'callback.given-up', ts, queue: e.queue, attempts: e.attempts });
        return true;
      case 'exit':
      case 'callEnd': {
        // The callback is done (given up, withdrawn, or talked): its asking contact may close.
        const closed = this.callbacks.get(id);
        this.callbacks.delete(id);
        if (closed) this.closeContact(id);
        // The agent's wrap-up still follows a talked callback; it is skipped here too (bounded memory).
        this.callbacksDone.add(id);
        if (this.callbacksDone.size > 10_000) this.callbacksDone.delete(this.callbacksDone.values().next().value!);
        return true;
      }
      default:
        return true;
    }
  }

  /**
   * A contact the ACD did not route is handled by `agentId` from `ts` (the consulted agent after an
   * attended transfer): a queue visit answered at once, under the queue's skill group as any other.
   */
  connectedDirectly(contactId: string, queue: string, agentId: string, ts: number): void {
    const skillGroup = this.skillGroupOf(queue);
    this.contact(contactId, { type: 'queue.enter', ts, queue, ...(skillGroup ? { skillGroup } : {}) });
    this.contact(contactId, { type: 'queue.connect', ts, queue, agentId });
  }

  /** Map one ACD transition onto the event log (the ACD's call id is the contact id). */
  acd(e: AcdEvent): void {
    const ts = e.at;
    const c = (contactId: string, ev: Unstamped): void => this.contact(contactId, ev);
    if (this.callbackEvent(e)) return;
    switch (e.type) {
      case 'enqueue': {
        const skillGroup = this.skillGroupOf(e.queue);
        c(e.callId, { type: 'queue.enter', ts, queue: e.queue, priority: e.priority, ...(skillGroup ? { skillGroup } : {}) });
        return;
      }
      case 'escalate':
        // An overflow is a new queue visit: leave the old queue, enter the new one.
        if (e.overflowTo) {
          c(e.callId, { type: 'queue.exit', ts, queue: e.queue, reason: 'overflow' });
          const skillGroup = this.skillGroupOf(e.overflowTo);
          c(e.callId, { type: 'queue.enter', ts, queue: e.overflowTo, ...(skillGroup ? { skillGroup } : {}) });
        }
        return;
      case 'offer':
        c(e.callId, { type: 'queue.offer', ts, queue: e.queue, agentId: e.agentId });
        return;
      case 'rona':
        c(e.callId, { type: 'queue.rona', ts, queue: e.queue, agentId: e.agentId });
        return;
      case 'reject':
        c(e.callId, { type: 'queue.reject', ts, queue: e.queue, agentId: e.agentId });
        return;
      case 'connect':
        c(e.callId, { type: 'queue.connect', ts, queue: e.queue, agentId: e.agentId });
        return;
      case 'abandon':
        c(e.callId, { type: 'queue.abandon', ts, queue: e.queue });
        return;
      case 'exit':
        c(e.callId, { type: 'queue.exit', ts, queue: e.queue, reason: loggedExitReason(e.reason) });
        return;
      case 'wrapupStart':
        c(e.callId, { type: 'wrapup.start', ts, agentId: e.agentId, queue: e.queue });
        return;
      case 'wrapupEnd': {
        // The agent's disposition, note and resolved mark (server/call/wrapup.ts), if given.
        const outcome = this.wrapups.get(e.callId);
        this.wrapups.delete(e.callId);
        c(e.callId, { type: 'wrapup.end', ts, agentId: e.agentId, extended: e.extended, ...outcome });
        return;
      }
      case 'agentState': {
        const to = e.to === 'logged-out' ? 'logged-out' : e.to === 'not-ready' ? 'not-ready' : e.to === 'available' ? 'ready' : undefined;
        // offered / on-call / wrap-up are visible in the contact streams; the agent stream keeps
        // the states an agent chooses (logged in, ready, not ready with a reason).
        if (to) this.agentState(e.agentId, to, e.reason);
        return;
      }
      default:
        return;
    }
  }
}

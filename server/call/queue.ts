/**
 * Waiting in a queue: the ACD takes the call, the caller hears the queue's music on hold,
 * interrupted every `announce.period` seconds by their place in the queue; when the ACD lets the
 * call go without an agent (timeout, full, closed) the IVR continues at the queue node's branch.
 */
import type { SkillRequirement } from '../acd/config.ts';
import { ivrQueueExit, type ExitReason } from '../acd/exit-reasons.ts';
import { announcerFor } from '../ivr/announcement.ts';
import type { ResolvedPrompt } from '../ivr/flow.ts';
import type { Playback } from '../../media/index.ts';
import type { Call, Stoppable } from './call.ts';

export function enqueue(
  call: Call,
  queue: string,
  priority: number,
  skills: SkillRequirement[] | undefined,
  moh: ResolvedPrompt | undefined,
  /** The flow's callbackKey for this queue: announced with the position. */
  callbackKey?: string,
): void {
  call.queue = queue;
  call.queuedAt ??= call.ctx.clock.now();
  // Before enqueue: with an agent free, the ACD offers the call from inside enqueue().
  call.phase = 'queued';
  const r = call.ctx.acd.enqueue({
    callId: call.contactId,
    queue,
    priority,
    callerId: call.caller,
    arrivedAt: call.arrivedAt,
    ...(skills ? { skills } : {}),
  });
  if (!r.ok) {
    call.log.info({ queue, reason: r.reason }, 'not queued');
    call.phase = 'ivr';
    call.ivr?.session.queueExit(ivrQueueExit(r.reason));
    return;
  }
  const waiting = new Waiting(call, moh, callbackKey);
  call.waiting = waiting;
  void waiting.startMusic();
}

/**
 * The caller accepted a callback (issue #12). Still waiting in `queue` (the queue's callbackKey):
 * the ACD turns the waiting call into a callback in place. Otherwise (the callback node after a
 * queue exit, or another queue, or the call was ringing an agent): the call leaves the ACD if it
 * is still there, and a callback is enqueued in the node's `queue` with the call's original
 * arrival, so it keeps the place the caller had. Either way the caller's leg is now the IVR's
 * again (confirmation prompt, then hang-up) and a hang-up is no abandon.
 */
export function bookCallback(call: Call, queue: string, number: string): void {
  const { acd } = call.ctx;
  if (call.phase === 'queued') {
    call.stopWaiting();
    call.phase = 'ivr';
  }
  const inAcd = acd.callView(call.contactId);
  if (inAcd && inAcd.queue === queue && inAcd.state === 'waiting' && !inAcd.callback) {
    const r = acd.requestCallback({ callId: call.contactId, number });
    if (r.ok) {
      call.log.info({ queue, number }, 'callback booked in place');
      return;
    }
    call.log.warn({ error: r.error }, 'callback in place refused; enqueueing one');
  }
  if (inAcd) {
    call.cancelOffers();
    acd.cancel(call.contactId);
  }
  const r = acd.enqueue({ callId: call.contactId, queue, callerId: call.caller, arrivedAt: call.arrivedAt, callback: { number } });
  if (r.ok) call.log.info({ queue, number, position: r.position }, 'callback booked');
  else call.log.warn({ queue, error: r.error }, 'callback refused');
}

/** The ACD left the call's queue without an agent (timeout, full, closed…). */
export function queueExited(call: Call, reason: ExitReason): void {
  if (call.phase !== 'queued') return;
  call.stopWaiting();
  call.cancelOffers();
  call.phase = 'ivr';
  call.ivr?.session.queueExit(ivrQueueExit(reason));
}

/**
 * Tell a waiting caller their place (the queue's announce.period): the announcement interrupts
 * the music, which starts again after it.
 */
export async function announce(call: Call, position: number, ewtSeconds: number | null): Promise<void> {
  const waiting = call.waiting;
  if (call.phase !== 'queued' || !(waiting instanceof Waiting)) return;
  await waiting.announce(position, ewtSeconds);
}

/** What plays while queued: music on hold, or a position announcement interrupting it. */
class Waiting implements Stoppable {
  private playing: Playback | undefined;
  private announcing = false;
  private stopped = false;

  constructor(
    private readonly call: Call,
    /** The queue's music on hold; without it the caller hears silence between announcements. */
    private readonly music: ResolvedPrompt | undefined,
    private readonly callbackKey: string | undefined,
  ) {}

  private get live(): boolean {
    return !this.stopped && this.call.phase === 'queued';
  }

  async startMusic(): Promise<void> {
    const { call, music } = this;
    if (!music) return;
    try {
      const file = await call.promptFile(music);
      const leg = call.customerMedia;
      if (!this.live || !call.media || !leg) return;
      const pb = await call.media.play(leg, file, { loop: true });
      if (!this.live) pb.stop();
      else this.playing = pb;
    } catch (e) {
      call.log.warn({ err: String(e) }, 'music on hold failed');
    }
  }

  async announce(position: number, ewtSeconds: number | null): Promise<void> {
    const { call } = this;
    const leg = call.customerMedia;
    if (this.announcing || !call.media || !leg) return;
    // Composed from prompts rendered ahead (announcement.ts): nothing is synthesised while callers
    // wait. Until the parts are ready the caller keeps the music.
    const files = announcerFor(call.ctx.tts).files({
      position,
      ewtSeconds,
      ...(this.callbackKey ? { callbackKey: this.callbackKey } : {}),
    });
    if (!files) {
      void announcerFor(call.ctx.tts).prepare();
      return;
    }
    this.announcing = true;
    try {
      if (!this.live) return;
      // play() replaces the music at once (no gap): the same call stops what played to the leg.
      const pb = await call.media.play(leg, files);
      if (!this.live) return void pb.stop();
      this.playing = pb;
      await pb.done;
      if (this.live && this.playing === pb) {
        this.playing = undefined;
        await this.startMusic();
      }
    } catch (e) {
      call.log.warn({ err: String(e) }, 'position announcement failed');
      if (this.live && !this.playing) void this.startMusic();
    } finally {
      this.announcing = false;
    }
  }

  stop(): void {
    this.stopped = true;
    this.playing?.stop();
    this.playing = undefined;
  }
}

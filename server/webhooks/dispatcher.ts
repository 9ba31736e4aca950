/**
 * Sends the webhook outbox: fans new events out to the hooks subscribed to them, POSTs what is due
 * (JSON body, signed, one delivery id per event and hook so a receiver can drop a repeat), and on
 * failure (network error, timeout, non-2xx) tries again after an exponential back-off until the
 * hook's maxAttempts. The outbox is in Postgres (server/store/webhooks.ts), so deliveries owed when
 * the centre stops are sent after it starts again. One run at a time, woken by poke() (a new event)
 * or by its timer on the injected clock.
 */
import type { Clock } from '../../lib/clock.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { Webhook } from '../customers/config.ts';
import type { DueDelivery } from '../store/webhooks.ts';
import { EscalationTimer } from '../workorders/timer.ts';
import { backoffMs, SIGNATURE_HEADER, signature } from './sign.ts';

const log = rootLog.child({ mod: 'webhooks' });

export interface OutboxStore {
  fanOut(hooksFor: (type: string) => string[]): Promise<number>;
  due(now: number, limit?: number): Promise<DueDelivery[]>;
  delivered(id: number, now: number, status: number): Promise<void>;
  attemptFailed(id: number, now: number, error: string, status: number | undefined, nextAt: number | undefined): Promise<void>;
  nextDue(): Promise<number | undefined>;
}

export interface DispatcherOptions {
  store: OutboxStore;
  clock: Clock;
  hooks: () => readonly Webhook[];
  /** Longest sleep between looks at the outbox (events inserted by other processes). */
  pollMs?: number;
  backoff?: () => { baseMs: number; maxMs: number };
  fetch?: typeof fetch;
}

export class WebhookDispatcher {
  private readonly timer: EscalationTimer;

  constructor(private readonly opts: DispatcherOptions) {
    this.timer = new EscalationTimer(
      opts.clock,
      () => this.run(),
      opts.pollMs ?? 1000,
      (e) => log.warn({ err: String(e) }, 'webhook outbox run failed; retrying'),
    );
  }

  start(): void {
    this.timer.poke();
  }
  poke(): void {
    this.timer.poke();
  }
  stop(): void {
    this.timer.stop();
  }

  /** One pass: fan out, send what is due; returns when to look again. */
  async run(): Promise<number | undefined> {
    const hooks = this.opts.hooks();
    await this.opts.store.fanOut((type) => hooks.filter((h) => (h.events as readonly string[]).includes(type)).map((h) => h.name));
    for (let round = 0; round < 20; round++) {
      const due = await this.opts.store.due(this.opts.clock.now());
      if (due.length === 0) break;
      await Promise.all(
        due.map((d) =>
          this.send(
            d,
            hooks.find((h) => h.name === d.hook),
          ),
        ),
      );
    }
    return this.opts.store.nextDue();
  }

  private async send(d: DueDelivery, hook: Webhook | undefined): Promise<void> {
    const { clock, store } = this.opts;
    if (!hook) {
      await store.attemptFailed(d.id, clock.now(), 'hook no longer configured', undefined, undefined);
      return;
    }
    const body = JSON.stringify({ id: `${d.eventId}`, type: d.type, data: d.body });
    const t = clock.now();
    let status: number | undefined;
    let error: string;
    try {
      const res = await (this.opts.fetch ?? fetch)(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'callcentre-webhooks',
          'x-cc-event': d.type,
          'x-cc-delivery': `${d.eventId}:${hook.name}`,
          [SIGNATURE_HEADER]: signature(hook.secret, t, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(hook.timeoutSec * 1000),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        await store.delivered(d.id, clock.now(), res.status);
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (e) {
      error = (e as Error).message || String(e);
    }
    const failures = d.attempts + 1;
    const b = this.opts.backoff?.() ?? { baseMs: 1000, maxMs: 300_000 };
    const nextAt = failures >= hook.maxAttempts ? undefined : clock.now() + backoffMs(failures, b.baseMs, b.maxMs);
    if (nextAt === undefined) log.warn({ hook: hook.name, event: d.eventId, error }, 'webhook gave up after its last attempt');
    await store.attemptFailed(d.id, clock.now(), error, status, nextAt);
  }
}

/**
 * The one event mechanism: a typed emitter whose listeners are isolated from each other and from
 * the emitter. Every class that announces something (SIP stack, dialogs, transports, the ACD, IVR
 * sessions, media legs and planes, calls) extends it.
 *
 * Why not Node's EventEmitter: there a listener that throws stops the listeners after it and
 * throws into the code that emitted, which in a call centre means one buggy handler drops a call
 * for everyone; an 'error' event nobody listens to crashes the process; and a rejected promise
 * from an async listener goes unhandled. Here each listener runs on its own: a throw or a
 * rejection is logged (with the event's name) and the others still run.
 *
 * `deferred(fn)` holds every event emitted while fn runs and delivers them once fn has returned,
 * in order (the ACD's "consistent first, then tell" rule). A listener that emits during delivery
 * joins the same queue, so listeners never see the emitter half-way through a change.
 */
import { log as rootLog } from './log.ts';

const log = rootLog.child({ mod: 'events' });

/** `{ name: [arg1, arg2] }`: each event's name and the tuple of its arguments. */
export type EventMap<E> = { [K in keyof E]: unknown[] };
// `unknown` in the listener's return: listeners may be async; a returned promise is watched for
// rejection and otherwise ignored. (Not `void`: lint would then call an async listener a misused
// promise, and here that is the supported case.)
type Listener<A extends unknown[]> = (...args: A) => unknown;

export class Emitter<E extends EventMap<E>> {
  readonly #listeners = new Map<keyof E, Listener<unknown[]>[]>();
  readonly #held: { name: keyof E; args: unknown[] }[] = [];
  #holdDepth = 0;
  #delivering = false;

  on<K extends keyof E>(name: K, fn: Listener<E[K]>): this {
    const list = this.#listeners.get(name);
    if (list) list.push(fn as Listener<unknown[]>);
    else this.#listeners.set(name, [fn as Listener<unknown[]>]);
    return this;
  }

  once<K extends keyof E>(name: K, fn: Listener<E[K]>): this {
    const wrapper = ((...args: E[K]) => {
      this.off(name, wrapper);
      return fn(...args);
    }) as Listener<E[K]> & { inner?: Listener<E[K]> };
    wrapper.inner = fn;
    return this.on(name, wrapper);
  }

  off<K extends keyof E>(name: K, fn: Listener<E[K]>): this {
    const list = this.#listeners.get(name);
    if (!list) return this;
    const i = list.findIndex((l) => l === fn || (l as { inner?: unknown }).inner === fn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#listeners.delete(name);
    return this;
  }

  removeAllListeners(name?: keyof E): this {
    if (name === undefined) this.#listeners.clear();
    else this.#listeners.delete(name);
    return this;
  }

  listenerCount(name: keyof E): number {
    return this.#listeners.get(name)?.length ?? 0;
  }

  /** Promise of the next `name` event's arguments. */
  next<K extends keyof E>(name: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(name, (...args: E[K]) => resolve(args)));
  }

  /**
   * Deliver `name` to every listener, each on its own. Returns whether anyone listened. Inside
   * `deferred()` (or while held events are being delivered) the event is queued instead.
   */
  emit<K extends keyof E>(name: K, ...args: E[K]): boolean {
    if (this.#holdDepth > 0 || this.#delivering) {
      this.#held.push({ name, args });
      return this.listenerCount(name) > 0;
    }
    return this.#deliver(name, args);
  }

  /** Run fn with events held; deliver them (and any their listeners emit) when it returns or throws. */
  protected deferred<T>(fn: () => T): T {
    this.#holdDepth++;
    try {
      return fn();
    } finally {
      this.#holdDepth--;
      if (this.#holdDepth === 0) this.#drain();
    }
  }

  #drain(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let e = this.#held.shift(); e; e = this.#held.shift()) this.#deliver(e.name, e.args);
    } finally {
      this.#delivering = false;
    }
  }

  #deliver(name: keyof E, args: unknown[]): boolean {
    const list = this.#listeners.get(name);
    if (!list || list.length === 0) return false;
    // A copy: a listener may remove itself (once) or add others while we iterate.
    for (const fn of [...list]) {
      try {
        const r: unknown = fn.apply(this, args);
        if (r instanceof Promise) r.catch((err: unknown) => listenerFailed(this, name, err));
      } catch (err) {
        listenerFailed(this, name, err);
      }
    }
    return true;
  }
}

function listenerFailed(emitter: object, name: PropertyKey, err: unknown): void {
  log.error({ err, emitter: emitter.constructor.name, event: String(name) }, 'event listener failed');
}

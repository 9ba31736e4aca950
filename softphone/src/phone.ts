/**
 * The agent's SIP phone in the page: sip.js over WebSocket (RFC 7118), registered with the
 * per-session password the login reply carries, and kept connected.
 *
 * The complaint peers' users file most is a browser phone that silently stops ringing after a
 * network blip, a laptop sleeping or a proxy closing an idle socket. So the connection is watched:
 * when the WebSocket drops, the phone says so at once (status 'reconnecting', with the time of the
 * next try), reconnects with exponential back-off and jitter (1 s doubling to 30 s, so a centre
 * that restarts is not hit by every desk at the same instant), and registers again as soon as the
 * socket is back, since a registration is bound to the flow it arrived on (RFC 5626 §3). The page
 * shows the status; nothing here waits for the agent to notice.
 */
import { Registerer, RegistererState, UserAgent, type Invitation } from 'sip.js';

export type PhoneStatus = 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface PhoneOptions {
  uri: string;
  displayName: string;
  username: string;
  password: string;
  /** ws:// or wss:// URL of the centre's SIP WebSocket. */
  server: string;
  onInvite: (inv: Invitation) => void;
  onStatus: (status: PhoneStatus, detail: { nextTryAt?: number; attempt: number }) => void;
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

export class Phone {
  private readonly ua: UserAgent;
  private readonly registerer: Registerer;
  private stopped = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private statusNow: PhoneStatus = 'connecting';

  constructor(private readonly o: PhoneOptions) {
    const uri = UserAgent.makeURI(o.uri);
    if (!uri) throw new Error(`bad SIP URI from server: ${o.uri}`);
    this.ua = new UserAgent({
      uri,
      displayName: o.displayName,
      authorizationUsername: o.username,
      authorizationPassword: o.password,
      transportOptions: { server: o.server, keepAliveInterval: 25 },
      logLevel: 'warn',
      // No STUN: the server is ICE-lite with public candidates; a default STUN server only delays.
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: [] },
        iceGatheringTimeout: 1000,
      },
      delegate: {
        onInvite: (inv) => o.onInvite(inv),
        onConnect: () => this.connected(),
        onDisconnect: (error) => {
          // A disconnect we asked for (logout) is not a failure.
          if (!this.stopped && error) this.lost();
        },
      },
    });
    this.registerer = new Registerer(this.ua, { expires: 300 });
    // Expiry without a refresh, or the server ending the binding, takes the phone off line.
    this.registerer.stateChange.addListener((s) => {
      if (s !== RegistererState.Registered && this.statusNow === 'online' && !this.stopped) this.set('connecting');
    });
  }

  /** The sip.js UserAgent (h-audio: the echo test dials from it). */
  get userAgent(): UserAgent {
    return this.ua;
  }

  get status(): PhoneStatus {
    return this.statusNow;
  }

  async start(): Promise<void> {
    this.set('connecting');
    await this.ua.start();
    await this.register();
  }

  /**
   * REGISTER, online on its 2xx. The Registerer's own state cannot tell: it stays "Registered"
   * across a dropped socket, so registering again on the new one changes no state.
   */
  private register(): Promise<unknown> {
    return this.registerer.register({
      requestDelegate: {
        onAccept: () => this.set('online'),
        onReject: () => this.set('offline'),
      },
    });
  }

  /** Unregister and close (logout, page unload). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.registerer.unregister().catch(() => undefined);
    await this.ua.stop().catch(() => undefined);
    this.set('offline');
  }

  /** For the "unregister on unload" path, which cannot wait. */
  unregisterNow(): void {
    void this.registerer.unregister().catch(() => undefined);
  }

  private connected(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // The first connect registers from start(); a reconnect registers here, on the new flow.
    if (this.attempt > 0) {
      this.attempt = 0;
      this.set('connecting');
      this.register().catch(() => this.lost());
    }
  }

  private lost(): void {
    if (this.stopped || this.timer) return;
    this.attempt++;
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    const nextTryAt = Date.now() + delay;
    this.set('reconnecting', nextTryAt);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      // reconnect() rejects when the socket cannot open; the next disconnect/failure tries again.
      this.ua.reconnect().catch(() => this.lost());
    }, delay);
  }

  private set(status: PhoneStatus, nextTryAt?: number): void {
    this.statusNow = status;
    this.o.onStatus(status, { attempt: this.attempt, ...(nextTryAt !== undefined ? { nextTryAt } : {}) });
  }
}

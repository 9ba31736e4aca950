/**
 * The agent's SIP phone in the page: sip.js over WebSocket (RFC 7118), registered with the
 * per-session password the login reply carries, and kept connected.
 *
 * The complaint peers' users file most is a browser phone that silently stops ringing after a
 * network blip, a laptop sleeping or a proxy closing an idle socket. So the connection is watched:
 * when the WebSocket drops, the phone says so at once (status 'reconnecting', with the time of the
 * next try), reconnects with exponential back-off and jitter (1 s doubling to 10 s, so a centre
 * that restarts is not hit by every desk at the same instant), and registers again as soon as the
 * socket is back, since a registration is bound to the flow it arrived on (RFC 5626 §3). The page
 * shows the status; nothing here waits for the agent to notice.
 *
 * A call in progress survives the drop. sip.js keeps its Sessions when the transport goes and comes
 * back (UserAgent.reconnect() only reopens the socket), and the centre keeps the call for a grace
 * period (server/call/legRecovery.ts). Once registered again on the new socket — which moves the
 * call's dialog onto it at the centre — the phone sends each call a re-INVITE with an ICE restart,
 * so media finds its way over whatever network the machine now has. The same restart is sent when
 * the browser's ICE fails, or stays disconnected, while the socket is up (the socket survived a
 * short cut but the media path did not). A re-INVITE the centre answers 481 means it gave the
 * call up (the caller went back to the queue): the call ends here too. Each try and its outcome
 * are dispatched on window as a 'cc-ice-restart' CustomEvent ({ reason, outcome, ms }).
 */
import { Registerer, RegistererState, SessionState, UserAgent, type Invitation, type Session } from 'sip.js';
import type { SessionDescriptionHandler, SessionDescriptionHandlerOptions } from 'sip.js/lib/platform/web/index.js';

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
// Capped at 10 s: the centre keeps a dropped desktop Not ready (disconnected) for 30 s before it
// logs the agent out, so the last tries of a longer back-off would land after that.
const MAX_DELAY_MS = 10_000;
/** ICE 'disconnected' this long with the socket up: restart it rather than wait for 'failed'. */
const ICE_DISCONNECTED_RESTART_MS = 4000;

export interface IceRestartEvent {
  reason: 'reconnected' | 'ice-failed' | 'ice-disconnected';
  outcome: 'accepted' | 'rejected' | 'ended' | 'error';
  /** From sending the re-INVITE to its answer. */
  ms: number;
}

export class Phone {
  private readonly ua: UserAgent;
  private readonly registerer: Registerer;
  private stopped = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private statusNow: PhoneStatus = 'connecting';
  /** Calls in progress (answered invitations, and any session the page hands to track()). */
  private readonly sessions = new Set<Session>();

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
        onInvite: (inv) => {
          this.track(inv);
          o.onInvite(inv);
        },
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

  /** The sip.js UserAgent (the echo test dials from it). */
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
        onAccept: () => {
          this.set('online');
          // The centre moved each call's dialog to this socket as it took the REGISTER.
          if (this.restartPending) {
            this.restartPending = false;
            for (const s of this.sessions) void this.restartIce(s, 'reconnected');
          }
        },
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
      this.restartPending = true;
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

  /**
   * Keep this session across reconnects (ICE restart after the socket comes back, or when its ICE
   * fails). Invitations are tracked on their own; the page passes its outgoing calls here.
   */
  track(session: Session): void {
    this.sessions.add(session);
    let disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
    session.stateChange.addListener((s) => {
      if (s === SessionState.Terminated) {
        this.sessions.delete(session);
        if (disconnectedTimer) clearTimeout(disconnectedTimer);
        return;
      }
      if (s !== SessionState.Established) return;
      const pc = (session.sessionDescriptionHandler as SessionDescriptionHandler | undefined)?.peerConnection;
      pc?.addEventListener('iceconnectionstatechange', () => {
        if (disconnectedTimer) clearTimeout(disconnectedTimer);
        disconnectedTimer = undefined;
        // With the socket down, the restart waits for the new registration ('reconnected').
        if (!this.ua.isConnected() || this.statusNow !== 'online') return;
        if (pc.iceConnectionState === 'failed') void this.restartIce(session, 'ice-failed');
        else if (pc.iceConnectionState === 'disconnected') {
          disconnectedTimer = setTimeout(() => {
            disconnectedTimer = undefined;
            if (pc.iceConnectionState === 'disconnected' && this.ua.isConnected()) void this.restartIce(session, 'ice-disconnected');
          }, ICE_DISCONNECTED_RESTART_MS);
        }
      });
    });
  }

  /** A reconnect happened: the calls restart ICE once the new registration is accepted. */
  private restartPending = false;

  /** re-INVITE with an ICE restart (new ufrag/pwd): media resumes over the current network. */
  private async restartIce(session: Session, reason: IceRestartEvent['reason']): Promise<void> {
    if (session.state !== SessionState.Established) return;
    const started = Date.now();
    const report = (outcome: IceRestartEvent['outcome']): void => {
      const detail: IceRestartEvent = { reason, outcome, ms: Date.now() - started };
      if (typeof window !== 'undefined') window.dispatchEvent(new CustomEvent('cc-ice-restart', { detail }));
    };
    const restart: SessionDescriptionHandlerOptions = { offerOptions: { iceRestart: true } };
    // Later re-INVITEs (hold) must not restart ICE again.
    const reset = (): void => void (session.sessionDescriptionHandlerOptionsReInvite = {});
    try {
      await session.invite({
        sessionDescriptionHandlerOptions: restart,
        requestDelegate: {
          onAccept: () => {
            reset();
            report('accepted');
          },
          onReject: (res) => {
            reset();
            const code = res.message.statusCode;
            // 481: the centre no longer has the call (its grace ran out); 408: nobody answered.
            if (code === 481 || code === 408) {
              report('ended');
              void session.bye().catch(() => session.dispose());
            } else report('rejected');
          },
        },
      });
    } catch {
      reset();
      report('error');
    }
  }

  private set(status: PhoneStatus, nextTryAt?: number): void {
    this.statusNow = status;
    this.o.onStatus(status, { attempt: this.attempt, ...(nextTryAt !== undefined ? { nextTryAt } : {}) });
  }
}

/**
 * The agent's side of the ACD as the desktop and desk phones see it. Browser agents log in over
 * REST (server/http/agentApi.ts) and choose Ready / Not ready; desk-phone agents have no screen,
 * so registering their phone logs them in ready. When an agent's last registration goes (the
 * phone un-registers or expires, the browser tab closes its WebSocket) the agent is logged out, so
 * the ACD never offers calls to a device that is not there.
 *
 * A browser's WebSocket also drops on a network blip, a laptop waking, a proxy recycling its
 * sockets — and the desktop reconnects and registers again within seconds (softphone/src/phone.ts).
 * Logging the agent out there would leave them "stuck in the wrong state", the complaint peers'
 * users file most. So a browser agent who was Ready is set Not ready ('disconnected': no offers go
 * to a phone that is not there, and supervisors see why) and, if the desktop registers again
 * within the grace period (30 s by default), made Ready again; only after the grace is the agent
 * logged out. An agent who was Not ready keeps their reason; one on a call or in wrap-up is left
 * as the call's end leaves them.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { Emitter } from '../../lib/events.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { Acd } from '../acd/acd.ts';
import type { Agent } from '../acd/config.ts';
import type { AcdEvent } from '../acd/events.ts';
import { HttpError } from '../http/server.ts';
import type { AgentDesk, AgentStateView } from '../http/agentApi.ts';
import type { Binding, SipSecret } from '../sip/index.ts';
import { checkAgentPassword, secretWarnings, sipSecretOf } from '../secrets/passwords.ts';

const log = rootLog.child({ mod: 'agents' });

/** The not-ready reason of an agent whose desktop is reconnecting (a system aux code). */
export const SYSTEM_AUX_DISCONNECTED = 'disconnected';

export class CentreAgentDesk implements AgentDesk {
  private readonly changes = new Emitter<{ state: [agentId: string, view: AgentStateView] }>();
  /** Browser agents whose desktop is reconnecting: the grace timer, and whether they were Ready. */
  private readonly away = new Map<string, { timer: TimerHandle; wasReady: boolean }>();
  private agents: ReadonlyMap<string, Agent>;

  constructor(
    private readonly acd: Acd,
    agents: readonly Agent[],
    private aux: readonly { code: string; label: string }[],
    private readonly domain: string,
    /** How many registrations the user still has (all transports). */
    private readonly registrations: (user: string) => Promise<number>,
    private readonly reconnect: { clock: Clock; graceMs: number } | undefined = undefined,
  ) {
    this.agents = new Map(agents.map((a) => [a.id, a]));
    this.warnAboutSecrets();
  }

  /**
   * Clear passwords still work but are flagged at every load; a hashed entry whose SIP HA1 was
   * made for another realm (server.sipRealm changed) cannot register a desk phone.
   */
  private warnAboutSecrets(): void {
    for (const w of secretWarnings([...this.agents.values()], this.domain)) log.warn({ agent: w.agent }, w.message);
  }

  /** A reloaded config: new passwords, agents and aux codes apply from the next request. */
  reconfigure(agents: readonly Agent[], aux: readonly { code: string; label: string }[]): void {
    this.agents = new Map(agents.map((a) => [a.id, a]));
    this.aux = aux;
    this.warnAboutSecrets();
  }

  /** Feed every ACD event; state changes go to the desktops' event streams. */
  onAcdEvent(e: AcdEvent): void {
    if (e.type === 'agentState') this.changes.emit('state', e.agentId, this.state(e.agentId));
  }

  async authenticate(agentId: string, password: string): Promise<{ id: string; name: string } | undefined> {
    // An unknown id costs the same scrypt as a wrong password (no agent-id oracle by timing).
    const a = this.agents.get(agentId);
    return (await checkAgentPassword(a, password)) && a ? { id: a.id, name: a.name } : undefined;
  }

  /**
   * SIP digest secrets from agents.yaml: desk phones register with the agent id and password,
   * checked against the clear password or the stored HA1 for the centre's realm. (Browsers use
   * their session's SIP password, see server/secrets/sessions.ts.)
   */
  sipSecret(user: string): SipSecret | undefined {
    const a = this.agents.get(user);
    return a ? sipSecretOf(a, this.domain) : undefined;
  }

  auxCodes(): { code: string; label: string }[] {
    return this.aux.map((a) => ({ code: a.code, label: a.label }));
  }

  sipDomain(): string {
    return this.domain;
  }

  login(agentId: string): void {
    // A browser agent starts not ready: they say when they are at their desk.
    this.check(this.acd.agentLogin(agentId, { ready: false }));
  }
  ready(agentId: string): void {
    this.check(this.acd.agentReady(agentId));
  }
  notReady(agentId: string, reason: string): void {
    if (!this.aux.some((a) => a.code === reason)) throw new HttpError(400, `unknown not-ready reason "${reason}"`);
    this.check(this.acd.agentNotReady(agentId, reason));
  }
  endWrapUp(agentId: string): void {
    this.check(this.acd.endWrapUp(agentId));
  }
  logout(agentId: string): void {
    this.check(this.acd.agentLogout(agentId));
  }

  state(agentId: string): AgentStateView {
    const v = this.acd.agentView(agentId);
    if (!v) return { state: 'logged-out' };
    return { state: v.state, ...(v.reason ? { reason: v.reason } : {}) };
  }

  onState(listener: (agentId: string, view: AgentStateView) => void): () => void {
    this.changes.on('state', listener);
    return () => this.changes.off('state', listener);
  }

  /**
   * A desk phone (UDP/TCP/TLS) of an agent registered: log that agent in, ready. Not on a refresh
   * of the same registration: an agent a supervisor logged out stays out until the phone
   * registers anew (or the agent logs in).
   */
  registered(b: Binding, refresh = false): void {
    const user = userOfAor(b.aor);
    if (!user || !this.agents.has(user)) return;
    if (isBrowser(b)) return this.back(user);
    // A supervisor's or QA analyst's desk phone is for listening in, not for queue calls: it does
    // not log them in as an agent (the board would count them).
    if (!takesCalls(this.agents.get(user)!)) return;
    if (!refresh && this.acd.agentView(user)?.state === 'logged-out') this.acd.agentLogin(user, { ready: true });
  }

  async unregistered(b: Binding): Promise<void> {
    const user = userOfAor(b.aor);
    if (!user || !this.agents.has(user)) return;
    // A reloaded page or a re-registering phone has another binding already.
    if ((await this.registrations(user)) > 0) return;
    const state = this.acd.agentView(user)?.state;
    if (state === undefined || state === 'logged-out') return;
    if (!isBrowser(b) || !this.reconnect) return void this.acd.agentLogout(user, isBrowser(b) ? 'disconnected' : 'unregistered');
    if (this.away.has(user)) return;
    const wasReady = state === 'available';
    if (wasReady) this.acd.agentNotReady(user, SYSTEM_AUX_DISCONNECTED);
    const timer = this.reconnect.clock.setTimeout(() => {
      this.away.delete(user);
      void this.registrations(user).then((n) => {
        if (n === 0 && this.acd.agentView(user)?.state !== 'logged-out') this.acd.agentLogout(user, 'disconnected');
      });
    }, this.reconnect.graceMs);
    this.away.set(user, { timer, wasReady });
    log.info({ agent: user, graceMs: this.reconnect.graceMs }, 'desktop disconnected: waiting for it to reconnect');
  }

  /** A browser agent's desktop registered again within the grace: as they were. */
  private back(user: string): void {
    const a = this.away.get(user);
    if (!a) return;
    this.reconnect?.clock.clearTimeout(a.timer);
    this.away.delete(user);
    const v = this.acd.agentView(user);
    if (a.wasReady && v?.state === 'not-ready' && v.reason === SYSTEM_AUX_DISCONNECTED) this.acd.agentReady(user);
    log.info({ agent: user }, 'desktop reconnected');
  }

  private check(r: { ok: true } | { ok: false; error: string }): void {
    if (!r.ok) throw new HttpError(409, r.error);
  }
}

/** Someone who takes queue calls: an agent, or another role that was given skills. */
function takesCalls(a: Agent): boolean {
  return a.role === 'agent' || Object.keys(a.skills).length > 0;
}

function isBrowser(b: Binding): boolean {
  return b.source.transport === 'ws' || b.source.transport === 'wss';
}

function userOfAor(aor: string): string | undefined {
  const m = /^sips?:([^@]+)@/.exec(aor);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

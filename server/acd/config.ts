/**
 * Config schemas for the ACD's domain: skills, aux (not-ready) codes, agents and queues. These zod
 * schemas are the single source of truth; the config loader (server/config/) composes them into
 * the whole centre's schema, and the ACD engine uses the inferred types.
 *
 * Every field added after the first cut has a default, so existing config files stay valid.
 */
import { z } from 'zod';

const SkillLevel = z.number().int().min(1).max(10);

export const SkillRequirementSchema = z.strictObject({
  skill: z.string().min(1),
  minLevel: SkillLevel.default(1),
});

const Hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${len}}$`), `${len} hex digits`);

export const AgentSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'agent id: letters, digits, _ . -'),
    name: z.string().min(1),
    /**
     * Clear login password (softphone page, HTTP Basic, SIP digest). Accepted for compatibility and
     * the demo, with a warning at load: `callcentre passwd ID` replaces it with the two below.
     */
    password: z.string().min(4).optional(),
    /** scrypt hash of the login password (`scrypt$N$r$p$salt$hash`), written by `callcentre passwd`. */
    passwordHash: z
      .string()
      .regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}$/, 'scrypt$N$r$p$salt$hash (run `callcentre passwd`)')
      .optional(),
    /**
     * H(id:realm:password) for SIP digest (RFC 2617/7616/8760), for the centre's `server.sipRealm`;
     * desk phones register with the password and are checked against these.
     */
    sipHa1: z
      .strictObject({ realm: z.string().min(1), md5: Hex(32).optional(), sha256: Hex(64).optional() })
      .refine((h) => h.md5 !== undefined || h.sha256 !== undefined, { message: 'sipHa1 needs md5 and/or sha256' })
      .optional(),
    /** skill name -> level 1..10 */
    skills: z.record(z.string(), SkillLevel).default({}),
    /**
     * What else the person may do: supervisors and QA read reports and recordings (HTTP Basic with
     * id and password); admins read reports. Everyone with a login can take calls.
     */
    role: z.enum(['agent', 'supervisor', 'qa', 'admin']).default('agent'),
  })
  .refine((a) => (a.password === undefined) !== (a.passwordHash === undefined), {
    message: 'an agent needs either password or passwordHash (not both)',
  });

const StrategySchema = z.enum(['longest-idle', 'least-occupied', 'highest-skill', 'round-robin', 'ring-all']);

const EscalationStepSchema = z.strictObject({
  /** Seconds after the call entered the queue (its original arrival). */
  after: z.number().int().min(0),
  /** Relax the minimum levels of the queue's skills to this level. */
  relaxMinLevel: SkillLevel.optional(),
  /**
   * Also accept agents with these skills. Each entry is an alternative on its own: an agent who
   * meets any one of them (or the queue's own requirements) may take the call.
   */
  addSkills: z.array(SkillRequirementSchema).optional(),
  /** Move the call to this queue, keeping its original arrival time. */
  overflowTo: z.string().optional(),
});

/**
 * Whether a caller may join a queue nobody can answer (Asterisk's joinempty / leavewhenempty):
 * - 'always': join anyway;
 * - 'logged-in': at least one logged-in agent with the skills (not-ready counts);
 * - 'staffed': at least one agent with the skills who is available, ringing, talking or in wrap-up.
 */
const EmptyRuleSchema = z.enum(['always', 'logged-in', 'staffed']);

export const QueueSchema = z.strictObject({
  /** Queue priority across queues an agent serves (higher first). */
  priority: z.number().int().min(0).max(100).default(0),
  skills: z.array(SkillRequirementSchema).min(1),
  strategy: StrategySchema.default('longest-idle'),
  /** Seconds an offered agent has to answer before ring-no-answer. */
  offerTimeout: z.number().int().min(3).max(300).default(15),
  /** After-call work seconds; the agent may end it early or extend it once. */
  wrapUp: z.number().int().min(0).max(3600).default(10),
  /** Most seconds one extension of wrap-up may add. */
  wrapUpExtendMax: z.number().int().min(0).max(3600).default(120),
  maxLength: z.number().int().min(1).optional(),
  /** Seconds before the caller leaves with reason "timeout" (counted from joining this queue). */
  maxWait: z.number().int().min(1).optional(),
  /** Refuse a new caller (exit "no-agents") unless this holds. */
  joinWhenEmpty: EmptyRuleSchema.default('always'),
  /** Send waiting callers out (exit "no-agents") once this stops holding; 'always' = never leave. */
  leaveWhenEmpty: EmptyRuleSchema.default('always'),
  serviceLevel: z
    .strictObject({
      /** Answered within this many seconds counts as met. */
      threshold: z.number().int().min(1).default(20),
      /** Target fraction, e.g. 0.8 for 80 %. */
      target: z.number().min(0).max(1).default(0.8),
      /** Seconds of history behind the live service level. */
      window: z.number().int().min(60).max(86_400).default(1800),
    })
    .default({ threshold: 20, target: 0.8, window: 1800 }),
  escalation: z.array(EscalationStepSchema).default([]),
  /** Music-on-hold prompt name. */
  moh: z.string().optional(),
  /** Handle time (talk + wrap-up) assumed for wait estimates until real calls have been measured. */
  ahtSeconds: z.number().min(1).max(36_000).default(180),
  /** Emit a position/EWT event for each waiting caller every `period` seconds; 0 = never. */
  announce: z.strictObject({ period: z.number().int().min(0).max(3600).default(0) }).default({ period: 0 }),
  /** A caller who abandons and calls again within this many seconds resumes the old place; 0 = off. */
  abandonResume: z.number().int().min(0).max(86_400).default(0),
  callback: z
    .strictObject({
      /** Dial attempts before the callback gives up (exit "callback-failed", event callbackGivenUp). */
      maxAttempts: z.number().int().min(1).max(10).default(3),
      /**
       * Seconds before a callback whose dial did not reach the customer (busy, no answer, failed,
       * reservation expired) is tried again, keeping its place. A list is a schedule: the n-th
       * entry follows the n-th failed attempt, the last one repeats (e.g. [60, 300, 900]).
       */
      retryDelay: z.union([z.number().int().min(0).max(86_400), z.array(z.number().int().min(0).max(86_400)).min(1).max(10)]).default(300),
      /**
       * Seconds an agent stays reserved for a callback that call control has not reported on
       * (answered, busy, no-answer, failed). Then the agent is released (event
       * callbackReservationExpired) and the attempt counts as failed.
       */
      reservationTimeout: z.number().int().min(5).max(600).default(60),
    })
    .default({ maxAttempts: 3, retryDelay: 300, reservationTimeout: 60 }),
});

export const AuxCodeSchema = z.strictObject({ code: z.string().min(1), label: z.string().min(1) });

/** Centre-wide ACD behaviour; every field has a default. */
export const AcdOptionsSchema = z.strictObject({
  /** Seconds an agent who rejected an offer is kept out of routing before becoming available again. */
  rejectDelay: z.number().int().min(0).max(3600).default(10),
  /** Consecutive ring-no-answers after which the agent is logged out; 0 = never. */
  maxMisses: z.number().int().min(0).max(100).default(3),
  /** Ring-all offers at most this many agents at once. */
  ringAllMax: z.number().int().min(1).max(500).default(20),
  /** Recent handle times per queue behind the EWT. */
  ahtSamples: z.number().int().min(1).max(10_000).default(200),
});

export type Agent = z.infer<typeof AgentSchema>;
export type Queue = z.infer<typeof QueueSchema>;
export type SkillRequirement = z.infer<typeof SkillRequirementSchema>;
export type Strategy = z.infer<typeof StrategySchema>;
export type EscalationStep = z.infer<typeof EscalationStepSchema>;
export type AuxCode = z.infer<typeof AuxCodeSchema>;
export type AcdOptions = z.infer<typeof AcdOptionsSchema>;

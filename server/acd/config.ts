/**
 * Config schemas for the ACD's domain: skills, aux (not-ready) codes, agents and queues. These zod
 * schemas are the single source of truth; the config loader (server/config/) composes them into
 * the whole centre's schema, and the ACD engine uses the inferred types.
 */
import { z } from 'zod';

export const SkillLevel = z.number().int().min(1).max(10);

export const SkillRequirementSchema = z.object({
  skill: z.string().min(1),
  minLevel: SkillLevel.default(1),
});

export const AgentSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'agent id: letters, digits, _ . -'),
  name: z.string().min(1),
  /** Login password for the softphone page and SIP digest. */
  password: z.string().min(4),
  /** skill name -> level 1..10 */
  skills: z.record(z.string(), SkillLevel).default({}),
});

export const StrategySchema = z.enum([
  'longest-idle',
  'least-occupied',
  'highest-skill',
  'round-robin',
  'ring-all',
]);

export const EscalationStepSchema = z.object({
  /** Seconds after the call entered the queue (its original arrival). */
  after: z.number().int().min(0),
  /** Relax the minimum levels of the queue's skills to this level. */
  relaxMinLevel: SkillLevel.optional(),
  /** Also accept agents with these skills. */
  addSkills: z.array(SkillRequirementSchema).optional(),
  /** Move the call to this queue, keeping its original arrival time. */
  overflowTo: z.string().optional(),
});

export const QueueSchema = z.object({
  /** Queue priority across queues an agent serves (higher first). */
  priority: z.number().int().min(0).max(100).default(0),
  skills: z.array(SkillRequirementSchema).min(1),
  strategy: StrategySchema.default('longest-idle'),
  /** Seconds an offered agent has to answer before ring-no-answer. */
  offerTimeout: z.number().int().min(3).max(300).default(15),
  /** After-call work seconds; the agent may end it early or extend it once. */
  wrapUp: z.number().int().min(0).max(3600).default(10),
  maxLength: z.number().int().min(1).optional(),
  /** Seconds before the caller leaves with reason "timeout". */
  maxWait: z.number().int().min(1).optional(),
  serviceLevel: z
    .object({
      /** Answered within this many seconds counts as met. */
      threshold: z.number().int().min(1).default(20),
      /** Target fraction, e.g. 0.8 for 80 %. */
      target: z.number().min(0).max(1).default(0.8),
    })
    .default({ threshold: 20, target: 0.8 }),
  escalation: z.array(EscalationStepSchema).default([]),
  /** Music-on-hold prompt name. */
  moh: z.string().optional(),
});

export const AuxCodeSchema = z.object({ code: z.string().min(1), label: z.string().min(1) });

export type Agent = z.infer<typeof AgentSchema>;
export type Queue = z.infer<typeof QueueSchema>;
export type SkillRequirement = z.infer<typeof SkillRequirementSchema>;
export type Strategy = z.infer<typeof StrategySchema>;

/**
 * The IVR flow file (config/ivr/NAME.yaml): one flow per file, a map of named nodes and a start
 * node. These zod schemas are the single source of truth for the file format; the JSON Schema the
 * editors use is generated from them (`callcentre schema`).
 *
 * Every branch is a node name in the same flow, or `FLOW:NODE` / `FLOW:` to jump into another
 * flow (its start node when the node part is empty). Times are seconds.
 */
import { z } from 'zod';
import { SkillRequirementSchema } from '../acd/config.ts';

const NODE_NAME = /^[A-Za-z0-9_.-]+$/;

/** A branch target: `node`, `flow:node` or `flow:`. */
export const TargetSchema = z
  .string()
  .regex(/^([A-Za-z0-9_.-]+:)?([A-Za-z0-9_.-]*)$/, 'a node name, "flow:node" or "flow:"')
  .min(1)
  .meta({ description: 'Next node: a node name in this flow, "flow:node", or "flow:" for that flow\'s start.' });

/** One DTMF key. */
export const DigitSchema = z.string().regex(/^[0-9*#]$/, 'one DTMF key: 0-9, * or #');

/**
 * A prompt: the name of an entry in prompts.yaml, or inline `{file}` (relative to the config
 * directory) or `{text}` spoken by the TTS provider. Text may use {{variables}}.
 */
export const PromptRefSchema = z.union([
  z.string().min(1).meta({ description: 'Name of a prompt in prompts.yaml' }),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ text: z.string().min(1), lang: z.string().min(2).optional() }),
]);

const Seconds = z.number().positive().max(3600);

const base = {
  /** Shown in the graph and the path; defaults to the node name. */
  label: z.string().optional(),
};

export const PlayNodeSchema = z.strictObject({
  ...base,
  type: z.literal('play'),
  prompt: z.union([PromptRefSchema, z.array(PromptRefSchema).min(1)]),
  /** Whether a key press cuts the prompt short; the key is kept as type-ahead for the next menu or collect. */
  bargeIn: z.boolean().default(false),
  next: TargetSchema.optional(),
});

export const MenuNodeSchema = z.strictObject({
  ...base,
  type: z.literal('menu'),
  prompt: PromptRefSchema,
  /** key -> next node */
  choices: z.record(DigitSchema, TargetSchema).refine((c) => Object.keys(c).length > 0, 'a menu needs at least one choice'),
  /** Seconds to wait for a key after the prompt ends. */
  timeout: Seconds.default(5),
  /** Extra attempts after the first one (invalid key or no key). */
  retries: z.number().int().min(0).max(10).default(2),
  invalidPrompt: PromptRefSchema.optional(),
  timeoutPrompt: PromptRefSchema.optional(),
  /** Where to go once the attempts are used up; without it the call is hung up. */
  onFail: TargetSchema.optional(),
});

export const CollectNodeSchema = z.strictObject({
  ...base,
  type: z.literal('collect'),
  prompt: PromptRefSchema,
  /** Variable that receives the digits. */
  into: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'),
  minDigits: z.number().int().min(1).max(64).default(1),
  maxDigits: z.number().int().min(1).max(64).default(16),
  /** Key that ends input early; not stored. Empty string: none. */
  terminator: z.union([DigitSchema, z.literal('')]).default('#'),
  /** Seconds for the first key after the prompt ends. */
  timeout: Seconds.default(5),
  /** Seconds allowed between keys. */
  interDigitTimeout: Seconds.default(3),
  /** Regular expression the whole input must match (anchored). */
  pattern: z.string().optional(),
  retries: z.number().int().min(0).max(10).default(2),
  invalidPrompt: PromptRefSchema.optional(),
  timeoutPrompt: PromptRefSchema.optional(),
  next: TargetSchema,
  onFail: TargetSchema.optional(),
});

export const HoursNodeSchema = z.strictObject({
  ...base,
  type: z.literal('hours'),
  /** Calendar name in hours.yaml. */
  calendar: z.string().min(1),
  open: TargetSchema,
  closed: TargetSchema,
  /** Defaults to the closed branch. */
  holiday: TargetSchema.optional(),
});

export const SetNodeSchema = z.strictObject({
  ...base,
  type: z.literal('set'),
  /** variable -> value template ({{var}} substituted). */
  vars: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), z.union([z.string(), z.number(), z.boolean()])),
  next: TargetSchema,
});

export const LookupNodeSchema = z.strictObject({
  ...base,
  type: z.literal('lookup'),
  /** URL template; {{var}} values are URL-encoded. */
  url: z.string().min(1),
  method: z.enum(['GET', 'POST']).default('GET'),
  timeout: Seconds.default(3),
  /** variable -> dotted path into the JSON reply (e.g. "customer.tier"). */
  assign: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), z.string().min(1)).default({}),
  next: TargetSchema,
  onFailure: TargetSchema,
});

export const QueueNodeSchema = z.strictObject({
  ...base,
  type: z.literal('queue'),
  /** Queue name in queues.yaml (templates not allowed: it is checked when the file loads). */
  queue: z.string().min(1),
  priority: z.number().int().min(0).max(100).default(0),
  /** Replaces the queue's skill requirements for this call. */
  skills: z.array(SkillRequirementSchema).optional(),
  /** Branches when the caller leaves the queue without an agent; default hang up. */
  full: TargetSchema.optional(),
  timeout: TargetSchema.optional(),
  closed: TargetSchema.optional(),
  /** Where the caller goes when the agent hangs up first (e.g. a survey); default hang up. */
  afterCall: TargetSchema.optional(),
});

export const CallbackNodeSchema = z.strictObject({
  ...base,
  type: z.literal('callback'),
  prompt: PromptRefSchema,
  /** Queue the callback is placed in. */
  queue: z.string().min(1),
  /** Number to call back (template). */
  number: z.string().default('{{callerId}}'),
  acceptDigit: DigitSchema.default('1'),
  timeout: Seconds.default(5),
  /** Played once accepted, before `accepted`. */
  confirmPrompt: PromptRefSchema.optional(),
  /** Default: hang up (the call was completed in the IVR). */
  accepted: TargetSchema.optional(),
  declined: TargetSchema,
});

export const TransferNodeSchema = z.strictObject({
  ...base,
  type: z.literal('transfer'),
  /** External number (template), E.164 preferred. */
  number: z.string().min(1),
  prompt: PromptRefSchema.optional(),
});

export const SurveyNodeSchema = z.strictObject({
  ...base,
  type: z.literal('survey'),
  prompt: PromptRefSchema,
  /** Variable that receives the score. */
  into: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('csat'),
  /** Highest score key (1..N). */
  scale: z.number().int().min(2).max(9).default(5),
  timeout: Seconds.default(5),
  retries: z.number().int().min(0).max(5).default(1),
  invalidPrompt: PromptRefSchema.optional(),
  thanksPrompt: PromptRefSchema.optional(),
  /** Default: hang up. */
  next: TargetSchema.optional(),
});

export const LanguageNodeSchema = z.strictObject({
  ...base,
  type: z.literal('language'),
  prompt: PromptRefSchema,
  /** key -> language code (e.g. "en", "es"). */
  choices: z.record(DigitSchema, z.string().min(2)),
  timeout: Seconds.default(5),
  /** Language kept when no key (or a wrong key) is pressed; default: the flow's language. */
  default: z.string().min(2).optional(),
  next: TargetSchema,
});

export const GotoNodeSchema = z.strictObject({
  ...base,
  type: z.literal('goto'),
  target: TargetSchema,
});

export const HangupNodeSchema = z.strictObject({
  ...base,
  type: z.literal('hangup'),
  prompt: PromptRefSchema.optional(),
  /** Recorded on the CDR. */
  reason: z.string().default('ivr-completed'),
});

export const NodeSchema = z.discriminatedUnion('type', [
  PlayNodeSchema,
  MenuNodeSchema,
  CollectNodeSchema,
  HoursNodeSchema,
  SetNodeSchema,
  LookupNodeSchema,
  QueueNodeSchema,
  CallbackNodeSchema,
  TransferNodeSchema,
  SurveyNodeSchema,
  LanguageNodeSchema,
  GotoNodeSchema,
  HangupNodeSchema,
]);

export const FlowSchema = z.strictObject({
  description: z.string().optional(),
  /** Language at call start; a `language` node may change it. */
  language: z.string().min(2).default('en'),
  start: z.string().regex(NODE_NAME, 'a node name'),
  nodes: z.record(z.string().regex(NODE_NAME, 'node names: letters, digits, _ . -'), NodeSchema),
});

export type PromptRef = z.infer<typeof PromptRefSchema>;
export type IvrNode = z.infer<typeof NodeSchema>;
export type IvrNodeType = IvrNode['type'];
export type Flow = z.infer<typeof FlowSchema>;
export type NodeOf<T extends IvrNodeType> = Extract<IvrNode, { type: T }>;

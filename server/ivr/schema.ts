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
  label: z.string().optional().describe('Shown in the graph and the path; defaults to the node name.'),
};

export const PlayNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('play'),
    prompt: z.union([PromptRefSchema, z.array(PromptRefSchema).min(1)]),
    bargeIn: z
      .boolean()
      .default(false)
      .describe('Whether a key press cuts the prompt short; the key is kept as type-ahead for the next menu or collect.'),
    next: TargetSchema.optional(),
  })
  .describe('Play prompts, then go on.');

export const MenuNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('menu'),
    prompt: PromptRefSchema,
    choices: z
      .record(DigitSchema, TargetSchema)
      .refine((c) => Object.keys(c).length > 0, 'a menu needs at least one choice')
      .describe('key -> next node'),
    timeout: Seconds.default(5).describe('Seconds to wait for a key after the prompt ends.'),
    retries: z.number().int().min(0).max(10).default(2).describe('Extra attempts after the first one (invalid key or no key).'),
    invalidPrompt: PromptRefSchema.optional(),
    timeoutPrompt: PromptRefSchema.optional(),
    onFail: TargetSchema.optional().describe('Where to go once the attempts are used up; without it the call is hung up.'),
  })
  .describe('Play a prompt and branch on one key, with retries.');

export const CollectNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('collect'),
    prompt: PromptRefSchema,
    into: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name')
      .describe('Variable that receives the digits.'),
    minDigits: z.number().int().min(1).max(64).default(1),
    maxDigits: z.number().int().min(1).max(64).default(16),
    terminator: z
      .union([DigitSchema, z.literal('')])
      .default('#')
      .describe('Key that ends input early; not stored. Empty string: none.'),
    timeout: Seconds.default(5).describe('Seconds for the first key after the prompt ends.'),
    interDigitTimeout: Seconds.default(3).describe('Seconds allowed between keys.'),
    pattern: z.string().optional().describe('Regular expression the whole input must match (anchored).'),
    retries: z.number().int().min(0).max(10).default(2),
    invalidPrompt: PromptRefSchema.optional(),
    timeoutPrompt: PromptRefSchema.optional(),
    next: TargetSchema,
    onFail: TargetSchema.optional(),
  })
  .describe('Collect several digits into a variable.');

export const HoursNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('hours'),
    calendar: z.string().min(1).describe('Calendar name in hours.yaml.'),
    open: TargetSchema,
    closed: TargetSchema,
    holiday: TargetSchema.optional().describe('Defaults to the closed branch.'),
  })
  .describe('Branch on a business-hours calendar: open, closed or holiday.');

export const SetNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('set'),
    vars: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), z.union([z.string(), z.number(), z.boolean()]))
      .describe('variable -> value template ({{var}} substituted).'),
    next: TargetSchema,
  })
  .describe('Set call variables.');

export const LookupNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('lookup'),
    url: z.string().min(1).describe('URL template; {{var}} values are URL-encoded.'),
    method: z.enum(['GET', 'POST']).default('GET'),
    body: z.string().optional().describe('POST body template, e.g. {"phone": "{{callerId}}"}; values are JSON-escaped.'),
    timeout: Seconds.default(3),
    assign: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), z.string().min(1))
      .default({})
      .describe('variable -> dotted path into the JSON reply (e.g. "customer.tier").'),
    next: TargetSchema,
    onFailure: TargetSchema,
  })
  .describe('Fetch JSON over HTTP into variables.');

export const QueueNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('queue'),
    queue: z.string().min(1).describe('Queue name in queues.yaml (templates not allowed: it is checked when the file loads).'),
    priority: z.number().int().min(0).max(100).default(0),
    skills: z.array(SkillRequirementSchema).optional().describe("Replaces the queue's skill requirements for this call."),
    full: TargetSchema.optional().describe('Branches when the caller leaves the queue without an agent; default hang up.'),
    timeout: TargetSchema.optional(),
    closed: TargetSchema.optional(),
    afterCall: TargetSchema.optional().describe('Where the caller goes when the agent hangs up first (e.g. a survey); default hang up.'),
    callbackKey: DigitSchema.optional().describe(
      "While waiting, this key books a callback that keeps the caller's place in the queue (announced with the position).",
    ),
    callbackNumber: z.string().default('{{callerId}}').describe('Number to call back when callbackKey is pressed (template).'),
    callbackConfirmPrompt: PromptRefSchema.optional().describe('Played once the callback is booked with callbackKey.'),
    callbackAccepted: TargetSchema.optional().describe('Where the caller goes after booking with callbackKey; default hang up.'),
  })
  .describe('Hand the call to an ACD queue.');

export const CallbackNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('callback'),
    prompt: PromptRefSchema,
    queue: z.string().min(1).describe('Queue the callback is placed in.'),
    number: z.string().default('{{callerId}}').describe('Number to call back (template).'),
    acceptDigit: DigitSchema.default('1'),
    timeout: Seconds.default(5),
    confirmPrompt: PromptRefSchema.optional().describe('Played once accepted, before `accepted`.'),
    accepted: TargetSchema.optional().describe('Default: hang up (the call was completed in the IVR).'),
    declined: TargetSchema,
  })
  .describe('Offer a callback instead of waiting.');

export const TransferNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('transfer'),
    number: z.string().min(1).describe('External number (template), E.164 preferred.'),
    prompt: PromptRefSchema.optional(),
  })
  .describe('Transfer the call to an external number.');

export const SurveyNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('survey'),
    prompt: PromptRefSchema,
    into: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .default('csat')
      .describe('Variable that receives the score.'),
    question: z
      .enum(['csat', 'fcr', 'nps', 'custom'])
      .default('csat')
      .describe('What is asked: csat (1..scale), fcr (resolved? yes/no keys), nps (0..10), custom (1..scale, named by "name").'),
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/)
      .optional()
      .describe('Name of a custom question (required for question: custom); reported per name.'),
    scale: z.number().int().min(2).max(9).default(5).describe('Highest score key (1..N) for csat and custom.'),
    yesKey: DigitSchema.default('1').describe('fcr: the key for "yes, resolved".'),
    noKey: DigitSchema.default('2').describe('fcr: the key for "no, not resolved".'),
    npsEntry: z
      .enum(['two-key', 'single-key'])
      .default('two-key')
      .describe('nps: two-key reads 1 then 0 as 10 (1 then # or a pause is 1); single-key takes 0-9 and tenKey for 10.'),
    tenKey: DigitSchema.default('*').describe('nps single-key: the key that means 10.'),
    interDigit: Seconds.default(2).describe('nps two-key: how long to wait for the 0 after a 1.'),
    timeout: Seconds.default(5),
    retries: z.number().int().min(0).max(5).default(1),
    invalidPrompt: PromptRefSchema.optional(),
    thanksPrompt: PromptRefSchema.optional(),
    next: TargetSchema.optional().describe('Default: hang up.'),
  })
  .refine((n) => n.question !== 'custom' || n.name !== undefined, { message: 'a custom survey question needs a "name"', path: ['name'] })
  .refine((n) => n.question !== 'fcr' || n.yesKey !== n.noKey, { message: 'yesKey and noKey must differ', path: ['noKey'] })
  .describe('Post-call survey question: CSAT (1..scale), FCR (yes/no), NPS (0..10) or a named custom score.');

export const LanguageNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('language'),
    prompt: PromptRefSchema,
    choices: z.record(DigitSchema, z.string().min(2)).describe('key -> language code (e.g. "en", "es").'),
    timeout: Seconds.default(5),
    default: z.string().min(2).optional().describe("Language kept when no key (or a wrong key) is pressed; default: the flow's language."),
    next: TargetSchema,
  })
  .describe('Let the caller choose the prompt language.');

export const GotoNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('goto'),
    target: TargetSchema,
  })
  .describe('Jump to another node or flow.');

export const HangupNodeSchema = z
  .strictObject({
    ...base,
    type: z.literal('hangup'),
    prompt: PromptRefSchema.optional(),
    reason: z.string().default('ivr-completed').describe('Recorded on the CDR.'),
  })
  .describe('Optionally play a prompt, then hang up.');

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
  language: z.string().min(2).default('en').describe('Language at call start; a `language` node may change it.'),
  start: z.string().regex(NODE_NAME, 'a node name'),
  nodes: z.record(z.string().regex(NODE_NAME, 'node names: letters, digits, _ . -'), NodeSchema),
});

export type PromptRef = z.infer<typeof PromptRefSchema>;
export type IvrNode = z.infer<typeof NodeSchema>;
export type IvrNodeType = IvrNode['type'];
export type Flow = z.infer<typeof FlowSchema>;
export type NodeOf<T extends IvrNodeType> = Extract<IvrNode, { type: T }>;

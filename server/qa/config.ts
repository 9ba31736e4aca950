/**
 * config/qa.yaml: the scoring forms (sections and items with weights, a scale per item, N/A
 * allowed or not, auto-fail items), which form each queue's calls are scored on, the audio
 * analytics' voice-activity settings, the flag rules that route calls into the review queue, and
 * the random sample per agent per week. Validated by the config loader like every other file
 * (positioned errors); cross-checks (known queues, known scales) are in checkQaConfig.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const NAME = /^[A-Za-z0-9_.-]+$/;

export const ScaleSchema = z.strictObject({
  max: z.number().int().min(1).max(100).describe('Points for full marks; answers are whole points 0..max.'),
  labels: z.array(z.string().min(1)).optional().describe('One label per point value 0..max (e.g. ["No", "Yes"]); shown on the form.'),
});

export const ItemSchema = z.strictObject({
  id: z.string().regex(NAME),
  text: z.string().min(1).describe('The question the reviewer answers.'),
  weight: z.number().positive().default(1).describe('Weight within its section.'),
  scale: z.string().regex(NAME).default('yesno').describe('A scale named under scales:.'),
  na: z.boolean().default(false).describe('May the reviewer answer N/A (the item then drops out and its section re-weights)?'),
  autoFail: z.boolean().default(false).describe('Failing this item fails the whole evaluation (score 0), e.g. card number read back.'),
  category: z.string().optional().describe('Frequent-problem category for the reports; default the section title.'),
});

export const SectionSchema = z.strictObject({
  id: z.string().regex(NAME),
  title: z.string().min(1),
  weight: z.number().positive().describe('Weight of the section in the total.'),
  items: z.array(ItemSchema).min(1),
});

export const FormSchema = z.strictObject({
  title: z.string().min(1),
  passMark: z.number().min(0).max(100).default(80).describe('Score (0-100) at or above which an evaluation passes.'),
  failBelow: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('An item scoring under this share of its points counts as failed (frequent problems, auto-fail).'),
  sections: z.array(SectionSchema).min(1),
});

export const VadSchema = z.strictObject({
  frameMs: z.number().int().min(5).max(100).default(20).describe('Analysis frame length.'),
  thresholdDb: z.number().min(-90).max(0).default(-45).describe('A frame louder than this (dBFS RMS) is voice.'),
  hangoverMs: z
    .number()
    .int()
    .min(0)
    .max(2000)
    .default(200)
    .describe('Voice is held this long after the last loud frame (pauses between words).'),
});

export const FlagRulesSchema = z.strictObject({
  longSilenceSec: z
    .number()
    .positive()
    .optional()
    .describe('Flag a call whose longest silence (neither side speaking, not on hold) is at least this.'),
  overtalkShare: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Flag a call where both sides speak at once for at least this share of the time not on hold.'),
  lowCsat: z.number().int().min(1).max(10).optional().describe('Flag a call whose CSAT answer is at most this.'),
  repeatCallerHours: z.number().positive().optional().describe('Flag a call whose caller also called within this many hours before it.'),
});

export const QaFileSchema = z.strictObject({
  scales: z.record(z.string().regex(NAME), ScaleSchema).default({}),
  forms: z.record(z.string().regex(NAME), FormSchema),
  defaultForm: z.string().regex(NAME).describe('Form for queues not named under queues:.'),
  queues: z.record(z.string().regex(NAME), z.string().regex(NAME)).default({}).describe('Queue name: form name.'),
  analytics: z
    .strictObject({
      enabled: z.boolean().default(true),
      scanSec: z.number().min(0.2).max(3600).default(15).describe('How often the background worker looks for finished recordings.'),
      vad: VadSchema.default(VadSchema.parse({})),
    })
    .default({ enabled: true, scanSec: 15, vad: VadSchema.parse({}) }),
  flags: FlagRulesSchema.default({}),
  sample: z
    .strictObject({
      perAgentPerWeek: z.number().int().min(0).max(100).default(2).describe('Calls drawn at random per agent per week for review.'),
      seed: z.string().default('qa').describe('Changing the seed draws a different (still reproducible) sample.'),
    })
    .default({ perAgentPerWeek: 2, seed: 'qa' }),
});

export type QaFile = z.infer<typeof QaFileSchema>;
export type QaForm = z.infer<typeof FormSchema>;
export type QaScale = z.infer<typeof ScaleSchema>;
export type VadSettings = z.infer<typeof VadSchema>;
export type FlagRules = z.infer<typeof FlagRulesSchema>;

/** Scales every file has without declaring them. */
export const BUILTIN_SCALES: Record<string, QaScale> = {
  yesno: { max: 1, labels: ['No', 'Yes'] },
  five: { max: 5 },
};

/** A form as used: its scales resolved and a version that changes whenever its content does. */
export interface ResolvedForm extends QaForm {
  id: string;
  version: string;
  scales: Record<string, QaScale>;
}

export interface QaConfig {
  forms: Record<string, ResolvedForm>;
  defaultForm: string;
  queues: Record<string, string>;
  analytics: QaFile['analytics'];
  flags: FlagRules;
  sample: QaFile['sample'];
}

/** What an absent qa.yaml means: no forms, analytics on with the default settings, no flags. */
export const EMPTY_QA: QaFile = QaFileSchema.parse({ forms: {}, defaultForm: 'none' });

export interface QaProblem {
  path: (string | number)[];
  message: string;
  atKey?: boolean;
}

/** Cross-checks the schema cannot make: scales and forms named exist, ids unique, labels fit. */
export function checkQaConfig(f: QaFile, queues: ReadonlySet<string>): QaProblem[] {
  const out: QaProblem[] = [];
  const scales = { ...BUILTIN_SCALES, ...f.scales };
  for (const [sn, s] of Object.entries(f.scales)) {
    if (s.labels && s.labels.length !== s.max + 1)
      out.push({ path: ['scales', sn, 'labels'], message: `${s.labels.length} labels for ${s.max + 1} values (0..${s.max})` });
  }
  const formNames = Object.keys(f.forms);
  if (formNames.length > 0 && !Object.hasOwn(f.forms, f.defaultForm))
    out.push({ path: ['defaultForm'], message: `unknown form "${f.defaultForm}"; forms are ${formNames.join(', ')}` });
  for (const [qn, fn] of Object.entries(f.queues)) {
    if (!queues.has(qn))
      out.push({ path: ['queues', qn], message: `unknown queue "${qn}"; queues are ${[...queues].join(', ')}`, atKey: true });
    if (!Object.hasOwn(f.forms, fn)) out.push({ path: ['queues', qn], message: `unknown form "${fn}"; forms are ${formNames.join(', ')}` });
  }
  for (const [fn, form] of Object.entries(f.forms)) {
    const sections = new Set<string>();
    const items = new Set<string>();
    form.sections.forEach((s, i) => {
      if (sections.has(s.id)) out.push({ path: ['forms', fn, 'sections', i, 'id'], message: `duplicate section id "${s.id}"` });
      sections.add(s.id);
      s.items.forEach((it, j) => {
        if (items.has(it.id))
          out.push({ path: ['forms', fn, 'sections', i, 'items', j, 'id'], message: `duplicate item id "${it.id}" in form ${fn}` });
        items.add(it.id);
        if (!Object.hasOwn(scales, it.scale))
          out.push({
            path: ['forms', fn, 'sections', i, 'items', j, 'scale'],
            message: `unknown scale "${it.scale}"; scales are ${Object.keys(scales).join(', ')}`,
          });
      });
    });
  }
  return out;
}

/** The file as the centre uses it (call after checkQaConfig found nothing). */
export function resolveQaConfig(f: QaFile): QaConfig {
  const scales = { ...BUILTIN_SCALES, ...f.scales };
  const forms: Record<string, ResolvedForm> = {};
  for (const [id, form] of Object.entries(f.forms)) {
    const used = Object.fromEntries(form.sections.flatMap((s) => s.items.map((it) => [it.scale, scales[it.scale]!] as const)));
    const version = createHash('sha256').update(JSON.stringify({ form, used })).digest('hex').slice(0, 12);
    forms[id] = { ...form, id, version, scales: used };
  }
  return { forms, defaultForm: f.defaultForm, queues: f.queues, analytics: f.analytics, flags: f.flags, sample: f.sample };
}

/** The form a queue's calls are scored on (undefined when the centre has no forms). */
export function formForQueue(c: QaConfig, queue: string | null | undefined): ResolvedForm | undefined {
  return c.forms[(queue && c.queues[queue]) || c.defaultForm];
}

/**
 * config/aftercall.yaml: what happens after the call — the customer file, the CRM screen-pop link
 * per queue, work-order categories, priorities, states and SLAs, complaint escalation, knowledge
 * cards and webhooks. Checked with zod like the rest of the config; a file that fails the check is
 * reported with its path and the previous version (or the defaults) stays in force.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);

export const OwnerSchema = z.strictObject({
  kind: z.enum(['agent', 'queue', 'group']),
  id: z.string().min(1).max(64),
});
export type Owner = z.infer<typeof OwnerSchema>;

/** One escalation step of an SLA: due `afterSec` after the work order was created. */
export const EscalationStepSchema = z
  .strictObject({
    afterSec: z
      .number()
      .int()
      .min(1)
      .max(90 * 86_400),
    notify: z.array(z.string().min(1).max(200)).default([]).describe('Who is told (webhook event workorder.escalated carries it).'),
    reassign: OwnerSchema.optional(),
    raisePriority: z.boolean().default(false),
  })
  .describe('What happens when the step falls due and the work order is still open.');

export const SlaRuleSchema = z.strictObject({
  category: z.string().default('*'),
  priority: z.string().default('*'),
  resolveSec: z
    .number()
    .int()
    .min(1)
    .max(90 * 86_400),
  escalations: z.array(EscalationStepSchema).optional().describe('Default: notify the owner once the SLA is breached.'),
});
export type SlaRule = z.infer<typeof SlaRuleSchema>;

export const WorkOrdersConfigSchema = z
  .strictObject({
    categories: z
      .record(Name, z.strictObject({ label: z.string().max(200).optional(), complaint: z.boolean().default(false) }))
      .default({ general: { complaint: false }, complaint: { complaint: true } }),
    /** Lowest first; raising a priority takes the next one. */
    priorities: z.array(Name).min(1).default(['low', 'normal', 'high', 'urgent']),
    defaultPriority: Name.default('normal'),
    initialState: Name.default('open'),
    finalStates: z.array(Name).min(1).default(['resolved', 'closed']),
    transitions: z.record(Name, z.array(Name)).default({
      open: ['in-progress', 'resolved', 'closed'],
      'in-progress': ['open', 'resolved', 'closed'],
      resolved: ['closed', 'open'],
      closed: [],
    }),
    sla: z.array(SlaRuleSchema).default([{ category: '*', priority: '*', resolveSec: 86_400 }]),
  })
  .superRefine((w, ctx) => {
    const states = new Set([w.initialState, ...w.finalStates, ...Object.keys(w.transitions), ...Object.values(w.transitions).flat()]);
    for (const s of [w.initialState, ...w.finalStates])
      if (!(s in w.transitions)) ctx.addIssue({ code: 'custom', path: ['transitions'], message: `state "${s}" has no transitions entry` });
    for (const [from, tos] of Object.entries(w.transitions))
      for (const to of tos)
        if (!(to in w.transitions)) ctx.addIssue({ code: 'custom', path: ['transitions', from], message: `unknown state "${to}"` });
    if (!w.priorities.includes(w.defaultPriority))
      ctx.addIssue({ code: 'custom', path: ['defaultPriority'], message: `"${w.defaultPriority}" is not one of the priorities` });
    w.sla.forEach((r, i) => {
      if (r.category !== '*' && !(r.category in w.categories))
        ctx.addIssue({ code: 'custom', path: ['sla', i, 'category'], message: `unknown category "${r.category}"` });
      if (r.priority !== '*' && !w.priorities.includes(r.priority))
        ctx.addIssue({ code: 'custom', path: ['sla', i, 'priority'], message: `unknown priority "${r.priority}"` });
    });
    void states;
  });
export type WorkOrdersConfig = z.output<typeof WorkOrdersConfigSchema>;

export const WEBHOOK_EVENTS = [
  'contact.offered',
  'contact.answered',
  'contact.ended',
  'contact.wrapup',
  'recording.saved',
  'workorder.created',
  'workorder.changed',
  'workorder.escalated',
  'complaint.raised',
  // Supervisor floor alerts (server/alerts/): for the duty manager's phone or chat.
  'alert.raised',
  'alert.cleared',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export const WebhookSchema = z.strictObject({
  name: Name,
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().min(16).max(512).describe('Shared secret for the HMAC-SHA256 signature (at least 16 characters).'),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
  maxAttempts: z.number().int().min(1).max(100).default(12),
  timeoutSec: z.number().min(0.1).max(60).default(5),
});
export type Webhook = z.infer<typeof WebhookSchema>;

export const ComplaintRuleSchema = z.strictObject({
  category: z.string().default('*').describe('Complaint category (a work-order category) or *.'),
  owner: OwnerSchema,
  priority: Name.optional(),
});

export const AfterCallConfigSchema = z.strictObject({
  customers: z
    .strictObject({
      /** IVR variable (set by a lookup node) holding the customer's id in the centre's CRM. */
      externalIdVariable: z.string().default('customerId'),
      /** IVR variable holding the customer's name, if a lookup node sets it. */
      nameVariable: z.string().default('customerName'),
      historyLimit: z.number().int().min(1).max(200).default(20),
    })
    .default({ externalIdVariable: 'customerId', nameVariable: 'customerName', historyLimit: 20 }),
  screenPop: z
    .strictObject({
      /** Per queue (or "*"): a URL opening the customer in an external CRM; {{number}}, {{customerId}}, {{externalId}}, {{contactId}}, {{queue}}. */
      crmUrl: z.record(z.string(), z.string().max(2000)).default({}),
    })
    .default({ crmUrl: {} }),
  workOrders: WorkOrdersConfigSchema.default(WorkOrdersConfigSchema.parse({})),
  complaints: z.strictObject({ escalation: z.array(ComplaintRuleSchema).default([]) }).default({ escalation: [] }),
  webhooks: z.array(WebhookSchema).default([]),
  /** Back-off between attempts of a webhook delivery: baseSec, doubled each failure, at most maxSec. */
  webhookRetry: z
    .strictObject({ baseSec: z.number().min(0.1).max(3600).default(1), maxSec: z.number().min(0.1).max(86_400).default(300) })
    .default({ baseSec: 1, maxSec: 300 }),
});
export type AfterCallConfig = z.output<typeof AfterCallConfigSchema>;

export const AFTERCALL_FILE = 'aftercall.yaml';

export type AfterCallLoad = { ok: true; config: AfterCallConfig } | { ok: false; errors: string[] };

/** Read and check config/aftercall.yaml (absent: the defaults). Never throws. */
export function loadAfterCallConfig(configDir: string): AfterCallLoad {
  const file = join(configDir, AFTERCALL_FILE);
  let raw: unknown = {};
  if (existsSync(file)) {
    try {
      raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
    } catch (e) {
      return { ok: false, errors: [`${AFTERCALL_FILE}: ${(e as Error).message}`] };
    }
  }
  const r = AfterCallConfigSchema.safeParse(raw);
  if (!r.success)
    return { ok: false, errors: r.error.issues.map((i) => `${AFTERCALL_FILE}: ${i.path.join('.') || '(root)'}: ${i.message}`) };
  const names = r.data.webhooks.map((w) => w.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) return { ok: false, errors: [`${AFTERCALL_FILE}: webhooks: name "${dup}" used twice`] };
  return { ok: true, config: r.data };
}

/** Fill {{name}} from vars, each value URI-encoded (the template is the admin's, the values are callers'). */
export function fillUrlTemplate(template: string, vars: Record<string, string | undefined>): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, k: string) => encodeURIComponent(vars[k] ?? ''));
}

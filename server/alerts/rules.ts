/**
 * centre.yaml `floor:` — the supervisor floor's configuration: alert rules, surge plans bound to
 * their levels, the agents on standby and the groups agents can be borrowed from.
 *
 * ```yaml
 * floor:
 *   groups: { support: ['1003', '1005'] }
 *   standby: ['1006']
 *   alerts:
 *     - name: sales-sl
 *       metric: serviceLevel          # serviceLevel | answerRate | waiting | longestWait | abandonRate | volume
 *       scope: { queue: sales }       # centre | { queue } | { skillGroup }
 *       levels: { yellow: 0.85, orange: 0.8, red: 0.7 }
 *       hysteresis: 0.05
 *       minDurationSec: 30
 *       surge: sales
 *   surge:
 *     sales:
 *       queue: sales
 *       level1: { standby: ['1006'], skills: { sales: 5 } }
 *       level2: { groups: [support], share: 0.3, level: 3 }
 *       level3: { flows: [main] }
 * ```
 * Cross-references (queues, agents, groups, flows) are checked by checkFloor, with positions.
 */
import { z } from 'zod';

export const METRICS = ['serviceLevel', 'answerRate', 'waiting', 'longestWait', 'abandonRate', 'volume'] as const;
export type AlertMetric = (typeof METRICS)[number];

/** Metrics that are bad when low (a level is reached at or below its threshold); the rest are bad when high. */
export const LOW_IS_BAD: ReadonlySet<AlertMetric> = new Set(['serviceLevel', 'answerRate']);

export const LEVELS = ['yellow', 'orange', 'red'] as const;
export type AlertLevel = (typeof LEVELS)[number];
/** yellow 1, orange 2, red 3: the surge plan's level for an alert level. */
export const levelRank = (l: AlertLevel | null): 0 | 1 | 2 | 3 => (l === null ? 0 : ((LEVELS.indexOf(l) + 1) as 1 | 2 | 3));

const NAME = /^[A-Za-z0-9_-]+$/;
const Id = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'an agent id');

export const ScopeSchema = z.union([
  z.literal('centre'),
  z.strictObject({ queue: z.string().regex(NAME) }),
  z.strictObject({ skillGroup: z.string().regex(NAME) }),
]);
export type AlertScope = z.infer<typeof ScopeSchema>;

export function scopeKey(s: AlertScope): string {
  return s === 'centre' ? 'centre' : 'queue' in s ? `queue:${s.queue}` : `skillGroup:${s.skillGroup}`;
}

export const AlertRuleSchema = z
  .strictObject({
    name: z.string().regex(NAME),
    metric: z
      .enum(METRICS)
      .describe(
        'serviceLevel, answerRate (ratios 0..1, bad when low); waiting (callers), longestWait (seconds), abandonRate (0..1), volume (share above the normal for this weekday and interval: 0.3 = +30 %), bad when high.',
      ),
    scope: ScopeSchema.default('centre'),
    levels: z
      .strictObject({ yellow: z.number().optional(), orange: z.number().optional(), red: z.number().optional() })
      .refine((l) => l.yellow !== undefined || l.orange !== undefined || l.red !== undefined, 'at least one level needs a threshold'),
    hysteresis: z.number().nonnegative().default(0).describe('How far back past a threshold the figure must come before its level clears.'),
    minDurationSec: z.number().nonnegative().default(0).describe('How long a level must hold (to raise) or be gone (to clear).'),
    surge: z.string().regex(NAME).optional().describe('Surge plan whose levels follow this alert (yellow 1, orange 2, red 3).'),
  })
  .superRefine((r, ctx) => {
    // Levels must be ordered by severity: red beyond orange beyond yellow.
    const low = LOW_IS_BAD.has(r.metric);
    const set = LEVELS.map((l) => [l, r.levels[l]] as const).filter((x): x is readonly [AlertLevel, number] => x[1] !== undefined);
    for (let i = 1; i < set.length; i++) {
      const [pl, pv] = set[i - 1]!;
      const [l, v] = set[i]!;
      if (low ? v >= pv : v <= pv)
        ctx.addIssue({
          code: 'custom',
          path: ['levels', l],
          message: `${l} must be ${low ? 'below' : 'above'} ${pl} (${pv}): ${r.metric} is worse when ${low ? 'lower' : 'higher'}`,
        });
    }
  });
export type AlertRule = z.output<typeof AlertRuleSchema>;

export const SurgePlanSchema = z.strictObject({
  queue: z.string().regex(NAME).describe('The surging queue: level 2 lends its first skill, level 3 diverts callers headed for it.'),
  level1: z
    .strictObject({
      standby: z.array(Id).default([]).describe('Standby agents logged in (ready) at level 1; default floor.standby.'),
      skills: z
        .record(z.string().regex(NAME), z.number().int().min(1).max(10))
        .optional()
        .describe('Skills they get while the surge lasts.'),
    })
    .optional(),
  level2: z
    .strictObject({
      groups: z.array(z.string().regex(NAME)).min(1),
      share: z
        .number()
        .gt(0)
        .max(1)
        .default(0.3)
        .describe('At most this share of each group is lent (rounded down: 0.3 of 3 agents lends none).'),
      level: z.number().int().min(1).max(10).default(5).describe('Skill level lent agents get in the queue skill.'),
    })
    .optional(),
  level3: z
    .strictObject({
      flows: z
        .array(z.string().regex(NAME))
        .min(1)
        .describe('IVR flows whose diversion flag is raised (GET /api/v1/floor/diversions/FLOW answers 200).'),
    })
    .optional(),
});
export type SurgePlan = z.output<typeof SurgePlanSchema>;

export const FloorConfigSchema = z.strictObject({
  groups: z.record(z.string().regex(NAME), z.array(Id)).default({}).describe('Named groups of agents (for level 2 of a surge plan).'),
  standby: z.array(Id).default([]).describe('Agents on standby, logged in by level 1 of a surge plan.'),
  alerts: z.array(AlertRuleSchema).default([]),
  surge: z.record(z.string().regex(NAME), SurgePlanSchema).default({}),
  boardRefreshSec: z.number().min(1).max(300).default(5).describe('How often the wallboard recomputes and pushes its figures.'),
  sampleSec: z.number().min(0.2).max(60).default(1).describe('How often the live figures are sampled for the alert rules.'),
  monitorRingSec: z
    .number()
    .min(1)
    .max(120)
    .default(30)
    .describe("How long a supervisor's phone rings for listen / whisper / barge before the request gives up (409)."),
});
export type FloorConfig = z.output<typeof FloorConfigSchema>;
export const DEFAULT_FLOOR: FloorConfig = FloorConfigSchema.parse({});

export interface FloorProblem {
  path: (string | number)[];
  message: string;
}

/** Cross-references a schema cannot see: names of queues, agents, skills, flows; paths under `floor`. */
export function checkFloor(
  f: FloorConfig,
  known: { queues: ReadonlySet<string>; agents: ReadonlySet<string>; flows: ReadonlySet<string>; skillGroups: ReadonlySet<string> },
): FloorProblem[] {
  const out: FloorProblem[] = [];
  const agent = (id: string, path: (string | number)[]) => {
    if (!known.agents.has(id)) out.push({ path, message: `unknown agent "${id}"` });
  };
  for (const [g, ids] of Object.entries(f.groups)) ids.forEach((id, i) => agent(id, ['groups', g, i]));
  f.standby.forEach((id, i) => agent(id, ['standby', i]));
  const names = new Set<string>();
  f.alerts.forEach((r, i) => {
    if (names.has(r.name)) out.push({ path: ['alerts', i, 'name'], message: `alert "${r.name}" is defined twice` });
    names.add(r.name);
    if (r.scope !== 'centre' && 'queue' in r.scope && !known.queues.has(r.scope.queue))
      out.push({ path: ['alerts', i, 'scope', 'queue'], message: `unknown queue "${r.scope.queue}"` });
    if (r.scope !== 'centre' && 'skillGroup' in r.scope && !known.skillGroups.has(r.scope.skillGroup))
      out.push({ path: ['alerts', i, 'scope', 'skillGroup'], message: `unknown skill group "${r.scope.skillGroup}"` });
    if (r.surge !== undefined && !f.surge[r.surge]) out.push({ path: ['alerts', i, 'surge'], message: `unknown surge plan "${r.surge}"` });
    if (r.metric === 'volume' && (r.scope === 'centre' || !('queue' in r.scope)))
      out.push({ path: ['alerts', i, 'scope'], message: 'a volume alert needs a queue scope (the forecast is per queue)' });
  });
  for (const [n, p] of Object.entries(f.surge)) {
    if (!known.queues.has(p.queue)) out.push({ path: ['surge', n, 'queue'], message: `unknown queue "${p.queue}"` });
    p.level1?.standby.forEach((id, i) => agent(id, ['surge', n, 'level1', 'standby', i]));
    p.level2?.groups.forEach((g, i) => {
      if (!f.groups[g]) out.push({ path: ['surge', n, 'level2', 'groups', i], message: `unknown group "${g}" (floor.groups)` });
    });
    p.level3?.flows.forEach((fl, i) => {
      if (!known.flows.has(fl)) out.push({ path: ['surge', n, 'level3', 'flows', i], message: `unknown IVR flow "${fl}"` });
    });
  }
  return out;
}

/**
 * `planning:` and `targets:` in centre.yaml: how the centre sizes, alerts on volume, judges adherence
 * and reminds agents to rest, and what it promises. Every key has a default, so both are optional.
 */
import { z } from 'zod';
import { TargetsConfigSchema } from './targets.ts';
import { StaffingModelSchema } from './staffing.ts';

export const PlanningConfigSchema = z.strictObject({
  /** Planning interval, minutes. */
  intervalMin: z.union([z.literal(15), z.literal(30), z.literal(60)]).default(30),
  /** Staffing assumptions for forecasts turned into head counts (see `callcentre erlang`). */
  staffing: z
    .strictObject({
      model: StaffingModelSchema.default('erlang-c'),
      serviceLevel: z
        .strictObject({ thresholdSec: z.number().nonnegative(), target: z.number().min(0).max(1) })
        .default({ thresholdSec: 20, target: 0.8 }),
      asaSec: z.number().positive().optional(),
      maxOccupancy: z.number().gt(0).max(1).optional(),
      maxAbandonRate: z.number().min(0).max(1).optional(),
      patienceSec: z.number().positive().optional(),
      shrinkage: z.number().min(0).lt(1).default(0.3),
    })
    .default({ model: 'erlang-c', serviceLevel: { thresholdSec: 20, target: 0.8 }, shrinkage: 0.3 }),
  /** Weeks of history a forecast is fitted on. */
  historyWeeks: z.number().int().min(1).max(104).default(8),
  /** Volume alerts against the normal for the interval (seed: +30 % and +50 %). */
  volumeAlerts: z
    .strictObject({
      elevated: z.number().positive().default(0.3),
      surge: z.number().positive().default(0.5),
      minExpected: z.number().nonnegative().default(5),
    })
    .default({ elevated: 0.3, surge: 0.5, minExpected: 5 }),
  /** Attendance exceptions pushed to supervisors, minutes. */
  adherence: z
    .strictObject({
      lateLoginGraceMin: z.number().nonnegative().default(5),
      earlyLogoutGraceMin: z.number().nonnegative().default(5),
      longNotReadyMin: z.number().positive().default(15),
      breakOverrunGraceMin: z.number().nonnegative().default(3),
    })
    .default({ lateLoginGraceMin: 5, earlyLogoutGraceMin: 5, longNotReadyMin: 15, breakOverrunGraceMin: 3 }),
  /** Rest reminder on the agent desktop after continuous talk (seed: 2 hours); a gap of restGapMin is a rest. */
  rest: z
    .strictObject({ afterTalkMin: z.number().positive().default(120), restGapMin: z.number().positive().default(10) })
    .default({ afterTalkMin: 120, restGapMin: 10 }),
});
export type PlanningConfig = z.output<typeof PlanningConfigSchema>;

export { TargetsConfigSchema };
export const DEFAULT_PLANNING: PlanningConfig = PlanningConfigSchema.parse({});

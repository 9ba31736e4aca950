/**
 * The KPI engine's settings: how service level, short abandons and FCR are defined, the queues'
 * objectives and the zone intervals are cut in. centre.yaml's `kpi:` section gives the centre's
 * defaults (server/config/kpi.ts builds the settings from the config); a request may override each.
 */
import { z } from 'zod';
import { isTimeZone, type Zone } from './intervals.ts';
import { ServiceLevelModeSchema } from './serviceLevel.ts';

/** KPI settings from the centre config (kpi: section). */
export const KpiSettingsSchema = z.object({
  serviceLevelThresholdsSec: z
    .array(z.number().int().min(1).max(3600))
    .min(1)
    // Two equal thresholds would give two sl_<T>s columns of the same name in the CSV.
    .refine((t) => new Set(t).size === t.length, 'thresholds must all differ')
    .default([20, 30]),
  serviceLevelMode: ServiceLevelModeSchema.default('abandons-ignored'),
  shortAbandonSec: z.number().int().min(0).max(600).default(5),
  fcrWindowSec: z
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(7 * 86_400),
  /**
   * Each queue's own service-level objective (from the queue config: e.g. 80 % within 20 s). Queue
   * rows then carry serviceLevelObjective, computed in the report's mode.
   */
  queueObjectives: z
    .record(z.string(), z.object({ thresholdSec: z.number().int().min(1).max(3600), target: z.number().min(0).max(1) }))
    .default({}),
  /** Fixed offset used when no timeZone is given. */
  tzOffsetMinutes: z
    .number()
    .int()
    .min(-14 * 60)
    .max(14 * 60)
    .default(0),
  /** IANA zone for interval edges and local times (follows daylight saving); wins over tzOffsetMinutes. */
  timeZone: z.string().refine(isTimeZone, 'unknown IANA time zone').optional(),
});

/**
 * centre.yaml's `kpi:` section: the centre's own definitions, used by REST and the CLI unless a
 * request overrides them. Same limits as the settings themselves (one schema for both).
 */
export const KpiConfigSchema = z.strictObject({
  serviceLevelMode: KpiSettingsSchema.shape.serviceLevelMode.describe(
    'How abandoned calls count in service level: abandons-ignored (Cisco "ignore"), abandons-met (Amazon Connect), abandons-missed (Cisco "negative").',
  ),
  serviceLevelThresholdsSec: KpiSettingsSchema.shape.serviceLevelThresholdsSec.describe(
    'One service-level figure per threshold, in seconds (e.g. [20, 30]).',
  ),
  shortAbandonSec: KpiSettingsSchema.shape.shortAbandonSec.describe(
    'Callers who hang up in the queue sooner than this are short abandons: out of service level and abandon rate. 0 = none.',
  ),
  fcrWindowSec: KpiSettingsSchema.shape.fcrWindowSec.describe(
    'Repeat-contact window for first-contact resolution, in seconds (604800 = 7 days).',
  ),
});
export type KpiConfig = z.output<typeof KpiConfigSchema>;

/** The zone intervals are cut in. */
export function zoneOf(s: KpiSettings): Zone {
  return s.timeZone ?? s.tzOffsetMinutes;
}
export type KpiSettings = z.output<typeof KpiSettingsSchema>;
/** Settings as callers may give them (every key optional, defaults filled in). */
export type KpiSettingsInput = z.input<typeof KpiSettingsSchema>;
export const DEFAULT_KPI_SETTINGS: KpiSettings = KpiSettingsSchema.parse({});

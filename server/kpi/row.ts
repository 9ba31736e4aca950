/**
 * One row of a KPI report (per interval and dimension key) and the dimensions a report can be cut
 * by: the shape the engine (report.ts), its accumulators (accumulate.ts) and the rollups share.
 */
import { z } from 'zod';
import type { ServiceLevelFigure } from './serviceLevel.ts';

export const DimensionSchema = z.enum(['centre', 'queue', 'skillGroup', 'agent']);
export type Dimension = z.infer<typeof DimensionSchema>;

export interface KpiRow {
  dimension: Dimension;
  key: string;
  intervalStart: string;
  intervalEnd: string;
  offered: number | null;
  answered: number;
  abandoned: number | null;
  shortAbandoned: number | null;
  exited: number | null;
  waiting: number | null;
  answerRate: number | null;
  abandonRate: number | null;
  serviceLevels: ServiceLevelFigure[] | null;
  /** Queue rows: SL at the queue's own threshold and whether it reached the queue's target. */
  serviceLevelObjective: (ServiceLevelFigure & { target: number; targetMet: boolean | null }) | null;
  contactsOffered: number | null;
  contactsAnsweredByAgent: number | null;
  contactsCompletedInIvr: number | null;
  connectRate: number | null;
  asaSec: number | null;
  avgAbandonSec: number | null;
  longestWaitSec: number | null;
  handled: number;
  talkSec: number;
  holdSec: number;
  acwSec: number;
  ahtSec: number | null;
  avgTalkSec: number | null;
  avgHoldSec: number | null;
  avgAcwSec: number | null;
  wrapupsExtended: number;
  transferred: number;
  transferRate: number | null;
  rona: number;
  rejected: number;
  loggedInSec: number | null;
  readySec: number | null;
  notReadySec: number | null;
  occupancy: number | null;
  utilization: number | null;
  fcrEligible: number;
  fcrResolved: number;
  fcrRepeatRate: number | null;
  fcrSurveyAnswers: number;
  fcrSurveyResolved: number;
  fcrSurveyRate: number | null;
  csatAnswers: number;
  csatAverage: number | null;
  csatTop2Box: number | null;
}

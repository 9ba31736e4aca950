/**
 * The KPI settings a centre's reports use, from its config: the `kpi:` definitions of centre.yaml,
 * the centre's time zone (interval edges, local times) and each queue's service-level objective
 * from queues.yaml. The server (for REST) and the report CLI both call this, so a figure cannot
 * differ between them because one of them forgot a setting.
 */
import type { KpiSettings } from '../kpi/settings.ts';
import type { CentreConfig } from './load.ts';

export function kpiSettingsOf(config: Pick<CentreConfig, 'server' | 'queues' | 'kpi'>): Partial<KpiSettings> {
  return {
    ...config.kpi,
    timeZone: config.server.timezone,
    queueObjectives: Object.fromEntries(
      Object.entries(config.queues).map(([name, q]) => [name, { thresholdSec: q.serviceLevel.threshold, target: q.serviceLevel.target }]),
    ),
  };
}

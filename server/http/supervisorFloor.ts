/**
 * The supervisor floor's server side, wired in one place (issue 16): the live floor that samples
 * the ACD for the alert rules (centre.yaml floor:), runs the surge plans bound to them and writes
 * what happens to floor_events; volume alerts against the forecast; the wallboard and the
 * supervisor controls (state, move, priority, surge, listen / whisper / barge) over HTTP.
 * centre.ts hands it the centre's objects; it hands back the floor (the ACD's reload needs its
 * lent skills) and the two HTTP handlers, and registers its own stoppers.
 */
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../../lib/clock.ts';
import { log as rootLog } from '../../lib/log.ts';
import type { Acd } from '../acd/acd.ts';
import { AcdSupervisor } from '../acd/supervisor.ts';
import { Floor } from '../alerts/floor.ts';
import { instrumentFloor } from '../alerts/metrics.ts';
import type { Call } from '../call/call.ts';
import { monitorOf } from '../call/monitor.ts';
import { withAgentSkills } from '../call/transfer.ts';
import type { CentreConfig } from '../config/load.ts';
import type { WebhookEventType } from '../customers/config.ts';
import { parseTime } from '../kpi/intervals.ts';
import { zoneOf } from '../kpi/settings.ts';
import { fitForecast, Forecaster } from '../planning/forecast.ts';
import { loadHistory } from '../planning/history.ts';
import { VolumeWatch } from '../planning/watch.ts';
import { FloorLog } from '../store/floorLog.ts';
import type { Store } from '../store/store.ts';
import type { Principal } from './reports.ts';
import type { Handler } from './server.ts';
import { createSupervisorApi } from './supervisor.ts';
import { createWallboardApi } from './wallboard.ts';

const log = rootLog.child({ mod: 'floor' });

export interface SupervisorFloorDeps {
  clock: Clock;
  acd: Acd;
  store: Store;
  /** The config at start (volume alerts are set up from it) and the one in force. */
  config: () => CentreConfig;
  /** Calls in progress, by contact id (the centre's map). */
  calls: ReadonlyMap<string, Call>;
  /** HTTP Basic for supervisors (through the login guard). */
  authorize: (req: IncomingMessage) => Principal | undefined | Promise<Principal | undefined>;
  /** The agent whose desktop session a request's Bearer token is (the agent's help button). */
  agentOf: (req: IncomingMessage) => string | undefined;
  /** Alerts raised and cleared go to the webhooks that asked for them. */
  notify: (type: WebhookEventType, body: Record<string, unknown>) => Promise<void>;
  /** Registers a stopper, run last-first when the centre stops. */
  onStop: (stop: () => Promise<void>) => void;
}

export interface SupervisorFloor {
  readonly floor: Floor;
  readonly wallboardApi: Handler;
  /** Mounted before the agent API: it owns POST /api/v1/agent/help under the agent's prefix. */
  readonly supervisorApi: Handler;
}

export function createSupervisorFloor(d: SupervisorFloorDeps): SupervisorFloor {
  const { clock, acd, store, config } = d;
  const floorLog = new FloorLog(store.pool, clock);
  d.onStop(() => floorLog.close());
  const floor = new Floor({
    clock,
    acd,
    config,
    acdSkills: (a) => withAgentSkills([a])[0]!.skills,
    log: floorLog.record,
    audit: store.audit,
  });
  floor.sinks.push({ alert: (c) => log.warn({ alert: c }, `alert ${c.kind}: ${c.rule} ${c.level ?? 'clear'}`) });
  floor.sinks.push({
    alert: (c) =>
      void d
        .notify(c.kind === 'raised' ? 'alert.raised' : 'alert.cleared', { ...c })
        .catch((e: unknown) => log.warn({ err: String(e) }, 'alert webhook not queued')),
  });
  d.onStop(async () => floor.stop());
  instrumentFloor(floor);
  watchVolume(d, floor);
  const wallboardApi = createWallboardApi({
    clock,
    store,
    acd,
    floor,
    events: (limit) => floorLog.list({ limit }),
    calls: () => d.calls.values(),
    monitorOf: (id) => {
      const c = d.calls.get(id);
      return c && monitorOf(c);
    },
    config,
    authorize: d.authorize,
    audit: store.audit,
  });
  d.onStop(async () => wallboardApi.close());
  const supervisorApi = createSupervisorApi({
    acd,
    commands: new AcdSupervisor(acd),
    floor,
    events: (q) => floorLog.list(q),
    authorize: d.authorize,
    agentOf: d.agentOf,
    timeZone: () => zoneOf(store.settings),
    now: () => clock.now(),
    audit: store.audit,
    call: (id) => d.calls.get(id),
    monitorRingMs: () => config().floor.monitorRingSec * 1000,
  });
  return { floor, wallboardApi, supervisorApi };
}

/** Volume against the same weekday and interval of recent weeks (planning/watch.ts), when a rule asks. */
function watchVolume(d: SupervisorFloorDeps, floor: Floor): void {
  const config = d.config();
  if (!config.floor.alerts.some((r) => r.metric === 'volume')) return;
  const p = config.planning;
  const tz = zoneOf(d.store.settings);
  void (async () => {
    const to = parseTime('today', tz, d.clock.now());
    const history = await loadHistory(d.store, Object.keys(config.queues), to - p.historyWeeks * 7 * 86_400_000, to, p.intervalMin);
    const models = new Map([...history].map(([q, h]) => [q, fitForecast(h, { intervalMin: p.intervalMin, zone: tz })]));
    const watch = new VolumeWatch(d.clock, new Forecaster(models), p.intervalMin, (e) => floor.volumeAlert(e), p.volumeAlerts);
    d.acd.on('event', (e) => {
      if (e.type === 'enqueue' && !e.resumed && !e.callback) watch.arrival(e.queue);
    });
  })().catch((e: unknown) => log.warn({ err: String(e) }, 'volume alerts off: no forecast from the history'));
}

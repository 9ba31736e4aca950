/**
 * The live floor: samples the ACD's live figures for every alert rule, runs the alert engine and
 * the surge runner, keeps agents' calls for help, and tells the board when anything changed.
 * No I/O of its own: the ACD, the event log, the audit trail and the alert sinks are injected,
 * and time is the injected Clock (the centre wires the real ones, tests can wire fakes).
 *
 * Figures per scope (queue, skill group = the queues whose first skill it is, centre = all):
 * - serviceLevel: the ACD's live service level (its rolling window), weighted by the calls it
 *   judged when several queues are summed; answerRate: answered / (answered + abandoned) over the
 *   same window; abandonRate: its complement; waiting: callers waiting; longestWait: seconds the
 *   longest-waiting caller has waited; volume: calls so far this interval over the normal for the
 *   same weekday and interval of recent weeks, minus 1 (planning/watch.ts VolumeWatch, fed by each
 *   queue entry), 0 when no excess was seen this interval.
 * A figure with nothing to judge (no calls in the window) is undefined and changes no alert.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { Emitter } from '../../lib/events.ts';
import type { Acd } from '../acd/acd.ts';
import type { AcdEvent } from '../acd/events.ts';
import type { QueueStats } from '../acd/types.ts';
import type { VolumeAlertEvent } from '../planning/watch.ts';
import type { SurgeAction } from '../surge/plan.ts';
import { SurgeRunner, type SurgeLevel, type SurgeRecord } from '../surge/runner.ts';
import { AlertEngine, type AlertChange } from './engine.ts';
import { levelRank, type AlertRule, type FloorConfig } from './rules.ts';

/** Where raised and cleared alerts go besides the event log (signed webhooks: server/webhooks/). */
export interface AlertSink {
  alert(change: AlertChange): void;
}

export interface FloorEventOut {
  type: string;
  actor: string;
  target?: string;
  detail?: Record<string, unknown>;
  at?: number;
}

export interface HelpRequest {
  agentId: string;
  at: number;
  callId?: string;
  note?: string;
}

export interface FloorDeps {
  clock: Clock;
  acd: Pick<Acd, 'snapshot' | 'on' | 'off' | 'agentLogin' | 'agentLogout' | 'setAgentSkills' | 'queueStats'>;
  config: () => {
    floor: FloorConfig;
    queues: Readonly<Record<string, { skills: readonly { skill: string }[] }>>;
    agents: readonly { id: string; skills: Readonly<Record<string, number>> }[];
  };
  /** The floor event log (server/store/floorLog.ts). */
  log: (e: FloorEventOut) => void;
  /**
   * An agent's configured skills as the ACD holds them (the centre adds each agent's own skill for
   * transfers to an agent: call/transfer.ts withAgentSkills). Default: as configured.
   */
  acdSkills?: (agent: { id: string; skills: Readonly<Record<string, number>> }) => Record<string, number>;
  /** The audit trail for actions on agents (surge logins and lending). */
  audit?: (e: { actor: string; action: 'surge.action'; target?: string; detail?: Record<string, unknown> }) => void;
  sinks?: AlertSink[];
}

export class Floor extends Emitter<{ changed: [what: string] }> {
  readonly alerts: AlertEngine;
  readonly surge: SurgeRunner;
  private readonly help = new Map<string, HelpRequest>();
  private readonly diversions = new Set<string>();
  /**
   * Skills a surge plan added, by agent (level 1's skills for a standby agent, level 2's lent
   * skill): only what was added, so that the agent's own skills stay the configured ones, through
   * a reload too (withSurgeSkills).
   */
  private readonly surgeSkills = new Map<string, Record<string, number>>();
  private readonly volume = new Map<string, { intervalStart: number; over: number }>();
  private timer: TimerHandle | undefined;
  private readonly onAcd = (e: AcdEvent) => this.acdEvent(e);
  private stopped = false;
  readonly sinks: AlertSink[];

  constructor(private readonly deps: FloorDeps) {
    super();
    const floor = deps.config().floor;
    this.sinks = [...(deps.sinks ?? [])];
    this.alerts = new AlertEngine(deps.clock, floor.alerts);
    this.surge = new SurgeRunner(
      deps.clock,
      floor,
      {
        agents: () => this.floorAgents(),
        queueSkill: (q) => deps.config().queues[q]?.skills[0]?.skill,
        apply: (a, reverse) => this.apply(a, reverse),
      },
      (r) => this.surgeRecord(r),
    );
    deps.acd.on('event', this.onAcd);
    this.schedule();
  }

  /** A reloaded config: new rules and plans (removed ones clear and stand down). */
  configure(): void {
    const floor = this.deps.config().floor;
    for (const c of this.alerts.configure(floor.alerts)) this.alertChanged(c);
    this.surge.configure(floor);
    this.emit('changed', 'config');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.deps.acd.off('event', this.onAcd);
  }

  /** One sampling round over every rule (also run on a timer and on the ACD's SL breach events). */
  sample(): void {
    for (const rule of this.alerts.ruleList) {
      const c = this.alerts.sample(rule.name, this.figure(rule));
      if (c) this.alertChanged(c);
    }
  }

  /** VolumeWatch's verdicts (planning/watch.ts): the excess over normal for this interval. */
  volumeAlert(e: VolumeAlertEvent): void {
    const over = e.normal > 0 ? e.actual / e.normal - 1 : 0;
    const cur = this.volume.get(e.queue);
    if (!cur || cur.intervalStart !== e.intervalStart || over > cur.over)
      this.volume.set(e.queue, { intervalStart: e.intervalStart, over });
    this.deps.log({ type: 'volume.alert', actor: 'system', target: e.queue, detail: { ...e } });
    this.sample();
  }

  /** A supervisor sets a surge plan's level by hand (null: back to its alerts). */
  manualSurge(plan: string, level: SurgeLevel | null, by: string): SurgeRecord[] | undefined {
    const why = level === null ? 'handed back to its alerts by hand' : `level ${level} set by hand`;
    const r = this.surge.manual(plan, level, by, why);
    if (r !== undefined) {
      this.deps.log({ type: 'surge.manual', actor: by, target: plan, detail: { level, why } });
      this.emit('changed', 'surge');
    }
    return r;
  }

  requestHelp(h: HelpRequest): void {
    this.help.set(h.agentId, h);
    this.deps.log({ type: 'help.requested', actor: h.agentId, ...(h.callId ? { target: h.callId } : {}), detail: { ...h } });
    this.emit('changed', 'help');
  }

  acknowledgeHelp(agentId: string, by: string): boolean {
    if (!this.help.delete(agentId)) return false;
    this.deps.log({ type: 'help.acknowledged', actor: by, target: agentId });
    this.emit('changed', 'help');
    return true;
  }

  helpRequests(): HelpRequest[] {
    return [...this.help.values()].sort((a, b) => a.at - b.at);
  }

  isDiverted(flow: string): boolean {
    return this.diversions.has(flow);
  }

  divertedFlows(): string[] {
    return [...this.diversions].sort();
  }

  /** The figure a rule watches, now. */
  figure(rule: AlertRule): number | undefined {
    const stats = this.statsIn(rule);
    if (stats.length === 0) return undefined;
    const judged = stats.reduce((n, s) => n + s.answered + s.abandoned, 0);
    switch (rule.metric) {
      case 'waiting':
        return stats.reduce((n, s) => n + s.waiting, 0);
      case 'longestWait':
        return Math.max(...stats.map((s) => s.longestWaitMs)) / 1000;
      case 'serviceLevel': {
        let w = 0;
        let sum = 0;
        for (const s of stats) {
          const n = s.answered + s.abandoned;
          if (s.serviceLevelLive === null || n === 0) continue;
          w += n;
          sum += s.serviceLevelLive * n;
        }
        return w > 0 ? sum / w : undefined;
      }
      case 'answerRate':
        return judged > 0 ? stats.reduce((n, s) => n + s.answered, 0) / judged : undefined;
      case 'abandonRate':
        return judged > 0 ? stats.reduce((n, s) => n + s.abandoned, 0) / judged : undefined;
      case 'volume': {
        const now = this.deps.clock.now();
        let over = 0;
        for (const s of stats) {
          const v = this.volume.get(s.queue);
          // VolumeWatch's grid; a verdict from an earlier interval no longer counts.
          if (v && now - v.intervalStart < 60 * 60_000) over = Math.max(over, v.over);
        }
        return over;
      }
    }
  }

  private statsIn(rule: AlertRule): QueueStats[] {
    const { queues } = this.deps.config();
    const names = Object.keys(queues).filter((q) =>
      rule.scope === 'centre'
        ? true
        : 'queue' in rule.scope
          ? q === rule.scope.queue
          : queues[q]?.skills[0]?.skill === rule.scope.skillGroup,
    );
    return names.map((q) => this.deps.acd.queueStats(q)).filter((s): s is QueueStats => s !== undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.sample();
      this.schedule();
    }, this.deps.config().floor.sampleSec * 1000);
  }

  private acdEvent(e: AcdEvent): void {
    if (e.type !== 'serviceLevel') return;
    // The ACD says a queue's live SL crossed its target: log it and judge the rules at once.
    this.deps.log({
      type: 'acd.service-level',
      actor: 'system',
      target: e.queue,
      detail: { value: e.value, target: e.target, breached: e.breached },
      at: e.at,
    });
    this.sample();
  }

  private alertChanged(c: AlertChange): void {
    this.deps.log({ type: `alert.${c.kind}`, actor: 'system', target: c.rule, detail: { ...c }, at: c.at });
    for (const s of this.sinks) {
      try {
        s.alert(c);
      } catch {
        // A sink's failure is its own (it logs); the floor goes on.
      }
    }
    if (c.surge !== undefined) {
      // The plan follows the most severe alert bound to it.
      const level = Math.max(
        0,
        ...this.alerts
          .active()
          .filter((a) => a.surge === c.surge)
          .map((a) => levelRank(a.level)),
      ) as SurgeLevel;
      const why = `alert ${c.rule} ${c.level === null ? 'cleared' : `${c.kind} to ${c.level}`} (${c.metric} ${round(c.value)}, threshold ${c.threshold})`;
      this.surge.alertLevel(c.surge, level, why);
    }
    this.emit('changed', 'alert');
  }

  private floorAgents(): Map<string, { id: string; loggedIn: boolean; skills: Record<string, number> }> {
    const snap = this.deps.acd.snapshot();
    const state = new Map(snap.agents.map((a) => [a.id, a.state]));
    const out = new Map<string, { id: string; loggedIn: boolean; skills: Record<string, number> }>();
    for (const a of this.deps.config().agents) {
      const st = state.get(a.id);
      out.set(a.id, {
        id: a.id,
        loggedIn: st !== undefined && st !== 'logged-out',
        skills: { ...a.skills, ...this.surgeSkills.get(a.id) },
      });
    }
    return out;
  }

  /**
   * The agents of a reloaded config with the skills a surge plan added now: a reload must not take
   * back what an active plan lent (the plan reverses it when it stands down).
   */
  withSurgeSkills<A extends { id: string; skills: Readonly<Record<string, number>> }>(agents: readonly A[]): A[] {
    return agents.map((a) => {
      const added = this.surgeSkills.get(a.id);
      return added ? { ...a, skills: { ...a.skills, ...added } } : a;
    });
  }

  /** Give the agent its configured skills plus `added` (none: back to the configured ones). */
  private setSurgeSkills(agent: string, added: Record<string, number> | undefined): { ok: true } | { ok: false; error: string } {
    const configured = this.deps.config().agents.find((a) => a.id === agent);
    if (!configured) return { ok: false, error: `unknown agent ${agent}` };
    const own = this.deps.acdSkills?.(configured) ?? { ...configured.skills };
    const r = this.deps.acd.setAgentSkills(agent, { ...own, ...added });
    if (!r.ok) return r;
    if (added && Object.keys(added).length > 0) this.surgeSkills.set(agent, { ...added });
    else this.surgeSkills.delete(agent);
    return { ok: true };
  }

  private apply(a: SurgeAction, reverse: boolean): { ok: true } | { ok: false; error: string } {
    const acd = this.deps.acd;
    switch (a.kind) {
      case 'login': {
        if (reverse) {
          const r = a.skills ? this.setSurgeSkills(a.agent, undefined) : { ok: true as const };
          const out = acd.agentLogout(a.agent, 'surge-end');
          if (!r.ok) return r;
          return out;
        }
        if (a.skills) {
          const s = this.setSurgeSkills(a.agent, addedSkills(a.skills, a.restoreSkills));
          if (!s.ok) return s;
        }
        return acd.agentLogin(a.agent, { ready: true });
      }
      case 'lend':
        return this.setSurgeSkills(a.agent, reverse ? undefined : addedSkills(a.skills, a.restoreSkills));
      case 'divert':
        if (reverse) this.diversions.delete(a.flow);
        else this.diversions.add(a.flow);
        return { ok: true };
    }
  }

  private surgeRecord(r: SurgeRecord): void {
    const detail = {
      plan: r.plan,
      queue: r.queue,
      level: r.level,
      action: r.action,
      description: r.description,
      ok: r.ok,
      error: r.error,
      why: r.why,
    };
    this.deps.log({ type: r.reversed ? 'surge.reversed' : 'surge.action', actor: r.by, target: r.plan, detail, at: r.at });
    if (r.action.kind !== 'divert')
      this.deps.audit?.({ actor: r.by, action: 'surge.action', target: r.action.agent, detail: { ...detail, reversed: r.reversed } });
    this.emit('changed', 'surge');
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** What a surge action's skills add to the agent's (new skills, or a changed level). */
function addedSkills(skills: Record<string, number>, before: Record<string, number> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(skills).filter(([k, v]) => before?.[k] !== v));
}

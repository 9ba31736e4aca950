/**
 * The surge runner: keeps each surge plan at the level its alerts (or a supervisor) ask for,
 * taking a level's actions on the way up and reversing them, last first, on the way down.
 * Pure: the floor's agents and the ACD/IVR commands come in through SurgePorts; every action
 * taken or reversed comes out as a SurgeRecord (the centre writes it to the event log, the audit
 * trail and the board).
 *
 * A plan's level is the manual level a supervisor set, if any, else the most severe level of the
 * alerts bound to it (yellow 1, orange 2, red 3). `auto` hands a plan back to its alerts.
 */
import type { Clock } from '../../lib/clock.ts';
import type { FloorConfig } from '../alerts/rules.ts';
import { describeAction, planLevel, type FloorAgent, type SurgeAction } from './plan.ts';

export type SurgeLevel = 0 | 1 | 2 | 3;

export interface SurgePorts {
  agents(): ReadonlyMap<string, FloorAgent>;
  /** The queue's first required skill. */
  queueSkill(queue: string): string | undefined;
  /** Carry out an action, or its reverse. */
  apply(action: SurgeAction, reverse: boolean): { ok: true } | { ok: false; error: string };
}

export interface SurgeRecord {
  at: number;
  plan: string;
  queue: string;
  level: 1 | 2 | 3;
  action: SurgeAction;
  description: string;
  reversed: boolean;
  ok: boolean;
  error?: string;
  /** Who: 'system' for an alert, else the supervisor. */
  by: string;
  why: string;
}

export interface SurgeStatus {
  plan: string;
  queue: string;
  level: SurgeLevel;
  alertLevel: SurgeLevel;
  manual: SurgeLevel | null;
  since: number | null;
  by: string | null;
  why: string | null;
  actions: { level: number; description: string }[];
}

interface PlanState {
  level: SurgeLevel;
  alertLevel: SurgeLevel;
  manual: SurgeLevel | null;
  since: number | null;
  by: string | null;
  why: string | null;
  applied: Map<number, SurgeAction[]>;
}

export class SurgeRunner {
  private readonly plans = new Map<string, PlanState>();

  constructor(
    private readonly clock: Clock,
    private floor: FloorConfig,
    private readonly ports: SurgePorts,
    private readonly onRecord: (r: SurgeRecord) => void,
  ) {}

  /** New config: plans that disappeared are stood down first. */
  configure(floor: FloorConfig): SurgeRecord[] {
    const out: SurgeRecord[] = [];
    for (const name of [...this.plans.keys()]) {
      if (!floor.surge[name]) {
        out.push(...this.move(name, 0, 'system', 'surge plan removed from the config'));
        this.plans.delete(name);
      }
    }
    this.floor = floor;
    return out;
  }

  /** The alerts bound to a plan now ask for this level. */
  alertLevel(plan: string, level: SurgeLevel, why: string): SurgeRecord[] {
    const st = this.state(plan);
    if (!st) return [];
    st.alertLevel = level;
    if (st.manual !== null) return [];
    return this.move(plan, level, 'system', why);
  }

  /** A supervisor sets a level by hand (null: back to the alerts' level). */
  manual(plan: string, level: SurgeLevel | null, by: string, why: string): SurgeRecord[] | undefined {
    const st = this.state(plan);
    if (!st) return undefined;
    st.manual = level;
    return this.move(plan, level ?? st.alertLevel, by, why);
  }

  status(): SurgeStatus[] {
    return Object.entries(this.floor.surge).map(([name, p]) => {
      const st = this.plans.get(name);
      return {
        plan: name,
        queue: p.queue,
        level: st?.level ?? 0,
        alertLevel: st?.alertLevel ?? 0,
        manual: st?.manual ?? null,
        since: st?.since ?? null,
        by: st?.by ?? null,
        why: st?.why ?? null,
        actions: [...(st?.applied ?? new Map<number, SurgeAction[]>())].flatMap(([level, list]) =>
          list.map((a) => ({ level, description: describeAction(a) })),
        ),
      };
    });
  }

  /** Agents some plan has logged in or lent. */
  taken(): Set<string> {
    const out = new Set<string>();
    for (const st of this.plans.values())
      for (const list of st.applied.values()) for (const a of list) if (a.kind !== 'divert') out.add(a.agent);
    return out;
  }

  /** Flows some plan diverts now. */
  diverted(): Set<string> {
    const out = new Set<string>();
    for (const st of this.plans.values())
      for (const list of st.applied.values()) for (const a of list) if (a.kind === 'divert') out.add(a.flow);
    return out;
  }

  private state(plan: string): PlanState | undefined {
    if (!this.floor.surge[plan]) return undefined;
    let st = this.plans.get(plan);
    if (!st) this.plans.set(plan, (st = { level: 0, alertLevel: 0, manual: null, since: null, by: null, why: null, applied: new Map() }));
    return st;
  }

  private move(plan: string, target: SurgeLevel, by: string, why: string): SurgeRecord[] {
    const st = this.plans.get(plan);
    const cfg = this.floor.surge[plan];
    if (!st || st.level === target) return [];
    const out: SurgeRecord[] = [];
    const queue = cfg?.queue ?? '';
    const record = (level: 1 | 2 | 3, action: SurgeAction, reversed: boolean, r: { ok: true } | { ok: false; error: string }) => {
      const rec: SurgeRecord = {
        at: this.clock.now(),
        plan,
        queue,
        level,
        action,
        description: describeAction(action),
        reversed,
        ok: r.ok,
        ...(r.ok ? {} : { error: r.error }),
        by,
        why,
      };
      out.push(rec);
      this.onRecord(rec);
    };
    // Down: reverse the levels above the target, most recent first.
    for (let l = st.level; l > target; l--) {
      for (const a of [...(st.applied.get(l) ?? [])].reverse()) record(l as 1 | 2 | 3, a, true, this.ports.apply(a, true));
      st.applied.delete(l);
    }
    // Up: take each level's actions in turn.
    for (let l = st.level + 1; l <= target && cfg; l++) {
      const actions = planLevel(cfg, l as 1 | 2 | 3, {
        floor: this.floor,
        agents: this.ports.agents(),
        queueSkill: this.ports.queueSkill(cfg.queue),
        taken: this.taken(),
      });
      const done: SurgeAction[] = [];
      for (const a of actions) {
        const r = this.ports.apply(a, false);
        record(l as 1 | 2 | 3, a, false, r);
        if (r.ok) done.push(a);
      }
      st.applied.set(l, done);
    }
    st.level = target;
    st.since = this.clock.now();
    st.by = by;
    st.why = why;
    return out;
  }
}

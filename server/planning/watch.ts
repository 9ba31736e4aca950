/**
 * Live planning alerts for supervisors, on an injected Clock:
 *
 * - VolumeWatch: arrivals per queue in the running interval against the forecast's normal for it
 *   (prorated to the elapsed part), raising `elevated` (+30 %) and `surge` (+50 %) once per level and
 *   interval. Call control feeds it each queue entry; the supervisor view subscribes.
 * - AttendanceWatch: today's schedule against agent logins and states: late login (grace after the
 *   shift start passes with no login), long not-ready outside a scheduled break, early logout.
 *
 * Pure: no I/O; the callbacks are the only way out.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';
import { DEFAULT_ADHERENCE_RULES, type AdherenceRules, type ShiftPlan } from './adherence.ts';
import { DEFAULT_VOLUME_ALERTS, volumeAlert, type Forecaster, type VolumeAlertLevels } from './forecast.ts';

export interface VolumeAlertEvent {
  queue: string;
  level: 'elevated' | 'surge';
  at: number;
  intervalStart: number;
  actual: number;
  normal: number;
}

export class VolumeWatch {
  private readonly counts = new Map<string, { intervalStart: number; n: number; fired: Set<string> }>();

  constructor(
    private readonly clock: Clock,
    private readonly forecaster: Pick<Forecaster, 'normalFor'>,
    private readonly intervalMin: number,
    private readonly onAlert: (e: VolumeAlertEvent) => void,
    private readonly levels: VolumeAlertLevels = DEFAULT_VOLUME_ALERTS,
  ) {}

  /** One call entered `queue` now. */
  arrival(queue: string): void {
    const now = this.clock.now();
    const size = this.intervalMin * 60_000;
    // The forecaster knows the zone's interval edges; the fixed grid here only tells intervals apart.
    const intervalStart = Math.floor(now / size) * size;
    let c = this.counts.get(queue);
    if (!c || c.intervalStart !== intervalStart) this.counts.set(queue, (c = { intervalStart, n: 0, fired: new Set() }));
    c.n++;
    const normal = this.forecaster.normalFor(queue, now, true);
    if (normal === undefined) return;
    const level = volumeAlert(c.n, normal, this.levels);
    for (const l of ['elevated', 'surge'] as const) {
      if ((l === 'elevated' ? level !== 'none' : level === 'surge') && !c.fired.has(l)) {
        c.fired.add(l);
        this.onAlert({ queue, level: l, at: now, intervalStart, actual: c.n, normal });
      }
    }
  }
}

export interface AttendanceAlert {
  agentId: string;
  kind: 'late-login' | 'long-not-ready' | 'early-logout';
  at: number;
}

export class AttendanceWatch {
  private readonly timers = new Map<string, TimerHandle[]>();
  private readonly loggedIn = new Set<string>();
  private readonly notReadyTimer = new Map<string, TimerHandle>();
  private plans: ShiftPlan[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly onAlert: (a: AttendanceAlert) => void,
    private readonly rules: AdherenceRules = DEFAULT_ADHERENCE_RULES,
  ) {}

  /** Today's (or any coming) shifts; replaces what was set. */
  setSchedule(plans: readonly ShiftPlan[]): void {
    for (const list of this.timers.values()) for (const t of list) this.clock.clearTimeout(t);
    this.timers.clear();
    this.plans = [...plans];
    const now = this.clock.now();
    for (const p of plans) {
      const due = p.start + this.rules.lateLoginGraceMin * 60_000;
      if (due < now || p.end <= now) continue;
      const t = this.clock.setTimeout(() => {
        if (!this.loggedIn.has(p.agentId)) this.onAlert({ agentId: p.agentId, kind: 'late-login', at: this.clock.now() });
      }, due - now);
      this.timers.set(p.agentId, [...(this.timers.get(p.agentId) ?? []), t]);
    }
  }

  /** The agent's state changed (from the agent.state events call control writes). */
  agentState(agentId: string, state: 'ready' | 'not-ready' | 'logged-out'): void {
    const now = this.clock.now();
    const prev = this.notReadyTimer.get(agentId);
    if (prev) {
      this.clock.clearTimeout(prev);
      this.notReadyTimer.delete(agentId);
    }
    if (state === 'logged-out') {
      this.loggedIn.delete(agentId);
      const shift = this.plans.find((p) => p.agentId === agentId && p.start <= now && now < p.end);
      if (shift && now < shift.end - this.rules.earlyLogoutGraceMin * 60_000) this.onAlert({ agentId, kind: 'early-logout', at: now });
      return;
    }
    this.loggedIn.add(agentId);
    if (state === 'not-ready') {
      const shift = this.plans.find((p) => p.agentId === agentId && p.start <= now && now < p.end);
      const inBreak = shift?.breaks.some((b) => b.start <= now && now < b.end);
      if (shift && !inBreak) {
        this.notReadyTimer.set(
          agentId,
          this.clock.setTimeout(
            () => this.onAlert({ agentId, kind: 'long-not-ready', at: this.clock.now() }),
            this.rules.longNotReadyMin * 60_000,
          ),
        );
      }
    }
  }

  dispose(): void {
    for (const list of this.timers.values()) for (const t of list) this.clock.clearTimeout(t);
    for (const t of this.notReadyTimer.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    this.notReadyTimer.clear();
  }
}

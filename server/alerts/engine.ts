/**
 * The alert engine: figures in, graded alerts out. Pure (no I/O), on an injected Clock.
 *
 * Each rule watches one metric in one scope and has up to three levels (yellow < orange < red in
 * severity). A sample reaches a level when it is at or past that level's threshold (at or below
 * for service level and answer rate, at or above for the rest). Levels move with:
 * - minimum duration: a higher level is raised only once samples have stayed at or past it for
 *   `minDurationSec` without a break; a level is left only once samples have stayed on the calm
 *   side of it (beyond the hysteresis) for `minDurationSec` without a break;
 * - hysteresis: to leave a level the figure must come back past its threshold by `hysteresis`
 *   (for "low is bad" metrics: rise above threshold + hysteresis; otherwise fall below
 *   threshold − hysteresis). Where it lands is the most severe level whose threshold (with the
 *   hysteresis) it still reaches.
 * An undefined sample (nothing to judge, e.g. no calls offered yet) breaks every run in progress
 * and changes nothing.
 *
 * Transitions are reported as AlertChange: `raised` when the level went up, `cleared` when it
 * went down (to a lower level or to none). One sample moves at most one transition.
 */
import type { Clock } from '../../lib/clock.ts';
import { LEVELS, LOW_IS_BAD, levelRank, scopeKey, type AlertLevel, type AlertRule } from './rules.ts';

export interface AlertChange {
  kind: 'raised' | 'cleared';
  rule: string;
  metric: AlertRule['metric'];
  scope: string;
  /** The level now in force (null: none). */
  level: AlertLevel | null;
  /** The level before. */
  previous: AlertLevel | null;
  value: number;
  /** The threshold crossed: the new level's when raised, the left level's when cleared. */
  threshold: number;
  at: number;
  /** Surge plan bound to the rule, if any. */
  surge?: string;
}

export interface ActiveAlert {
  rule: string;
  metric: AlertRule['metric'];
  scope: string;
  level: AlertLevel;
  since: number;
  value: number;
  surge?: string;
}

interface RuleState {
  level: AlertLevel | null;
  since: number;
  value: number;
  /** Since when samples have continuously reached each level (absent: not reaching it now). */
  reaching: Map<AlertLevel, number>;
  /** Since when samples have continuously been calm of the current level (beyond the hysteresis). */
  calmSince: number | undefined;
}

export class AlertEngine {
  private rules: AlertRule[] = [];
  private readonly state = new Map<string, RuleState>();

  constructor(
    private readonly clock: Clock,
    rules: readonly AlertRule[] = [],
  ) {
    this.configure(rules);
  }

  /** Replace the rules; alerts of rules kept (same name, metric and scope) keep their level. */
  configure(rules: readonly AlertRule[]): AlertChange[] {
    const out: AlertChange[] = [];
    const keep = new Set(rules.map((r) => `${r.name}|${r.metric}|${scopeKey(r.scope)}`));
    for (const old of this.rules) {
      const st = this.state.get(old.name);
      if (!keep.has(`${old.name}|${old.metric}|${scopeKey(old.scope)}`) && st?.level) {
        out.push(this.change(old, st, 'cleared', null, st.value, threshold(old, st.level)));
      }
      if (!keep.has(`${old.name}|${old.metric}|${scopeKey(old.scope)}`)) this.state.delete(old.name);
    }
    this.rules = [...rules];
    return out;
  }

  get ruleList(): readonly AlertRule[] {
    return this.rules;
  }

  /** One sample of a rule's figure (undefined: nothing to judge now). */
  sample(ruleName: string, value: number | undefined): AlertChange | undefined {
    const rule = this.rules.find((r) => r.name === ruleName);
    if (!rule) return undefined;
    const now = this.clock.now();
    let st = this.state.get(rule.name);
    if (!st) this.state.set(rule.name, (st = { level: null, since: now, value: 0, reaching: new Map(), calmSince: undefined }));
    if (value === undefined || !Number.isFinite(value)) {
      st.reaching.clear();
      st.calmSince = undefined;
      return undefined;
    }
    st.value = value;
    const minMs = rule.minDurationSec * 1000;
    for (const l of LEVELS) {
      const t = rule.levels[l];
      if (t !== undefined && reaches(rule, value, t, 0)) {
        if (!st.reaching.has(l)) st.reaching.set(l, now);
      } else st.reaching.delete(l);
    }
    // Up: the most severe level above the current one that has held long enough.
    for (const l of [...LEVELS].reverse()) {
      if (levelRank(l) <= levelRank(st.level)) break;
      const from = st.reaching.get(l);
      if (from !== undefined && now - from >= minMs) {
        st.calmSince = undefined;
        return this.change(rule, st, 'raised', l, value, rule.levels[l]!);
      }
    }
    if (st.level === null) return undefined;
    // Down: calm of the current level (past its hysteresis) for long enough.
    const cur = st.level;
    const calm = !reaches(rule, value, rule.levels[cur]!, rule.hysteresis);
    if (!calm) {
      st.calmSince = undefined;
      return undefined;
    }
    st.calmSince ??= now;
    if (now - st.calmSince < minMs) return undefined;
    st.calmSince = undefined;
    let to: AlertLevel | null = null;
    for (const l of LEVELS) {
      if (levelRank(l) >= levelRank(cur)) break;
      const t = rule.levels[l];
      if (t !== undefined && reaches(rule, value, t, rule.hysteresis)) to = l;
    }
    return this.change(rule, st, 'cleared', to, value, rule.levels[cur]!);
  }

  /** Alerts in force now, most severe first. */
  active(): ActiveAlert[] {
    const out: ActiveAlert[] = [];
    for (const r of this.rules) {
      const st = this.state.get(r.name);
      if (!st?.level) continue;
      out.push({
        rule: r.name,
        metric: r.metric,
        scope: scopeKey(r.scope),
        level: st.level,
        since: st.since,
        value: st.value,
        ...(r.surge !== undefined ? { surge: r.surge } : {}),
      });
    }
    return out.sort((a, b) => levelRank(b.level) - levelRank(a.level) || a.since - b.since);
  }

  private change(
    rule: AlertRule,
    st: RuleState,
    kind: 'raised' | 'cleared',
    to: AlertLevel | null,
    value: number,
    thr: number,
  ): AlertChange {
    const previous = st.level;
    st.level = to;
    st.since = this.clock.now();
    return {
      kind,
      rule: rule.name,
      metric: rule.metric,
      scope: scopeKey(rule.scope),
      level: to,
      previous,
      value,
      threshold: thr,
      at: st.since,
      ...(rule.surge !== undefined ? { surge: rule.surge } : {}),
    };
  }
}

/** Whether `value` reaches threshold `t`, the threshold moved `slack` towards the calm side. */
function reaches(rule: AlertRule, value: number, t: number, slack: number): boolean {
  return LOW_IS_BAD.has(rule.metric) ? value <= t + slack : value >= t - slack;
}

function threshold(rule: AlertRule, l: AlertLevel): number {
  return rule.levels[l] ?? NaN;
}

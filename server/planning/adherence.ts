/**
 * Schedule adherence and attendance: each agent's scheduled shifts (with breaks) against what they
 * actually did (ready / not-ready / logged out, from the event log), and the exceptions supervisors
 * are alerted to — late login, early logout, absence, long not-ready outside a break, break overrun —
 * plus the rest reminder: after a stretch of continuous talk (seed: more than 2 hours) the agent's
 * desktop is told to take a pause.
 *
 * Pure. The batch functions judge a finished period; RestReminder runs live on an injected Clock.
 */
import type { Clock, TimerHandle } from '../../lib/clock.ts';

export interface AdherenceRules {
  /** Minutes after a shift's start before a missing login is late. */
  lateLoginGraceMin: number;
  /** Minutes before a shift's end that a logout may come without being early. */
  earlyLogoutGraceMin: number;
  /** Not-ready outside a scheduled break longer than this is reported. */
  longNotReadyMin: number;
  /** Minutes a break may run over before it is reported. */
  breakOverrunGraceMin: number;
}

export const DEFAULT_ADHERENCE_RULES: AdherenceRules = {
  lateLoginGraceMin: 5,
  earlyLogoutGraceMin: 5,
  longNotReadyMin: 15,
  breakOverrunGraceMin: 3,
};

export interface ShiftPlan {
  agentId: string;
  start: number;
  end: number;
  breaks: { start: number; end: number }[];
}

/** What the agent did: logged in and ready or not-ready (with aux reason) from start to end; gaps are logged out. */
export interface ActualSpan {
  agentId: string;
  state: 'ready' | 'not-ready';
  reason?: string;
  start: number;
  end: number;
}

export type ExceptionKind = 'late-login' | 'early-logout' | 'absent' | 'long-not-ready' | 'break-overrun';

export interface AdherenceException {
  agentId: string;
  kind: ExceptionKind;
  /** When it became an exception (the moment a live alert would fire). */
  at: number;
  minutes: number;
}

export interface AgentAdherence {
  agentId: string;
  scheduledMin: number;
  /** Minutes in conformance: working time logged in and ready (or busy: calls are ready time here), break time not ready or out. */
  inAdherenceMin: number;
  adherence: number | null;
  exceptions: AdherenceException[];
}

const MIN = 60_000;

function overlapMs(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

export function adherence(
  plans: readonly ShiftPlan[],
  actual: readonly ActualSpan[],
  rules: AdherenceRules = DEFAULT_ADHERENCE_RULES,
): AgentAdherence[] {
  const agents = [...new Set(plans.map((p) => p.agentId))].sort();
  return agents.map((agentId) => {
    const shifts = plans.filter((p) => p.agentId === agentId).sort((a, b) => a.start - b.start);
    const spans = actual.filter((s) => s.agentId === agentId).sort((a, b) => a.start - b.start);
    const exceptions: AdherenceException[] = [];
    let scheduled = 0;
    let inAdherence = 0;
    for (const sh of shifts) {
      scheduled += sh.end - sh.start;
      const inShift = spans.filter((s) => s.end > sh.start && s.start < sh.end);
      // Conformance: ready while working; anything but ready while on break.
      const onBreak = (t0: number, t1: number) => sh.breaks.reduce((s, b) => s + overlapMs(t0, t1, b.start, b.end), 0);
      let ready = 0;
      let readyOnBreak = 0;
      for (const s of inShift) {
        if (s.state !== 'ready') continue;
        ready += overlapMs(s.start, s.end, sh.start, sh.end);
        readyOnBreak += onBreak(Math.max(s.start, sh.start), Math.min(s.end, sh.end));
      }
      const breakTotal = sh.breaks.reduce((s, b) => s + (b.end - b.start), 0);
      inAdherence += ready - readyOnBreak + (breakTotal - readyOnBreak);

      const firstLogin = inShift[0]?.start ?? spans.find((s) => s.start >= sh.start && s.start < sh.end)?.start;
      if (inShift.length === 0) {
        exceptions.push({ agentId, kind: 'absent', at: sh.start + rules.lateLoginGraceMin * MIN, minutes: (sh.end - sh.start) / MIN });
        continue;
      }
      if (firstLogin !== undefined && firstLogin > sh.start + rules.lateLoginGraceMin * MIN) {
        exceptions.push({
          agentId,
          kind: 'late-login',
          at: sh.start + rules.lateLoginGraceMin * MIN,
          minutes: (firstLogin - sh.start) / MIN,
        });
      }
      const lastOut = Math.max(...inShift.map((s) => s.end));
      if (lastOut < sh.end - rules.earlyLogoutGraceMin * MIN)
        exceptions.push({ agentId, kind: 'early-logout', at: lastOut, minutes: (sh.end - lastOut) / MIN });
      for (const s of inShift) {
        if (s.state !== 'not-ready') continue;
        const outside = s.end - s.start - onBreak(s.start, s.end);
        const overlapsBreak = sh.breaks.some((b) => overlapMs(s.start, s.end, b.start, b.end) > 0);
        if (overlapsBreak) {
          const b = sh.breaks.find((x) => overlapMs(s.start, s.end, x.start, x.end) > 0)!;
          const over = s.end - b.end;
          if (over > rules.breakOverrunGraceMin * MIN)
            exceptions.push({ agentId, kind: 'break-overrun', at: b.end + rules.breakOverrunGraceMin * MIN, minutes: over / MIN });
        } else if (outside > rules.longNotReadyMin * MIN) {
          exceptions.push({ agentId, kind: 'long-not-ready', at: s.start + rules.longNotReadyMin * MIN, minutes: outside / MIN });
        }
      }
    }
    return {
      agentId,
      scheduledMin: scheduled / MIN,
      inAdherenceMin: inAdherence / MIN,
      adherence: scheduled > 0 ? Math.round((inAdherence / scheduled) * 10_000) / 10_000 : null,
      exceptions: exceptions.sort((a, b) => a.at - b.at),
    };
  });
}

export interface RestRules {
  /** Continuous talk that earns a reminder, minutes (seed: 120). */
  afterTalkMin: number;
  /** A gap between calls at least this long counts as rest and restarts the stretch, minutes. */
  restGapMin: number;
}

export const DEFAULT_REST_RULES: RestRules = { afterTalkMin: 120, restGapMin: 10 };

/**
 * When reminders fall due for one agent's talk spans (batch): the stretch is measured from the first
 * call after a rest to the current moment, with short gaps between calls counted in (wrap-up and a
 * ringing phone are not a rest). One reminder per stretch.
 */
export function restReminders(talk: readonly { start: number; end: number }[], rules: RestRules = DEFAULT_REST_RULES): number[] {
  const out: number[] = [];
  let stretchStart: number | undefined;
  let lastEnd = -Infinity;
  let reminded = false;
  for (const t of [...talk].sort((a, b) => a.start - b.start)) {
    if (stretchStart === undefined || t.start - lastEnd >= rules.restGapMin * MIN) {
      stretchStart = t.start;
      reminded = false;
    }
    const due = stretchStart + rules.afterTalkMin * MIN;
    if (!reminded && due <= t.end) {
      out.push(Math.max(due, t.start));
      reminded = true;
    }
    lastEnd = Math.max(lastEnd, t.end);
  }
  return out;
}

/**
 * Live rest reminder for the agent desktop: call control reports talk starting and ending; when a
 * stretch passes the limit (during a call or at the next call's start), `remind(agentId, minutes)` is
 * called once per stretch.
 */
export class RestReminder {
  private readonly agents = new Map<
    string,
    { stretchStart: number; lastEnd: number; talking: boolean; reminded: boolean; timer?: TimerHandle }
  >();

  constructor(
    private readonly clock: Clock,
    private readonly remind: (agentId: string, talkMinutes: number) => void,
    private readonly rules: RestRules = DEFAULT_REST_RULES,
  ) {}

  talkStarted(agentId: string): void {
    const now = this.clock.now();
    let a = this.agents.get(agentId);
    if (!a || now - a.lastEnd >= this.rules.restGapMin * MIN) {
      if (a?.timer) this.clock.clearTimeout(a.timer);
      a = { stretchStart: now, lastEnd: now, talking: true, reminded: false };
      this.agents.set(agentId, a);
    }
    a.talking = true;
    const due = a.stretchStart + this.rules.afterTalkMin * MIN;
    if (!a.reminded) {
      if (a.timer) this.clock.clearTimeout(a.timer);
      const st = a;
      st.timer = this.clock.setTimeout(() => this.fire(agentId, st), Math.max(0, due - now));
    }
  }

  talkEnded(agentId: string): void {
    const a = this.agents.get(agentId);
    if (!a) return;
    a.talking = false;
    a.lastEnd = this.clock.now();
    // Between calls the stretch pauses; the timer is set again at the next call.
    if (a.timer) this.clock.clearTimeout(a.timer);
    delete a.timer;
  }

  private fire(agentId: string, a: { stretchStart: number; talking: boolean; reminded: boolean }): void {
    if (a.reminded || !a.talking) return;
    a.reminded = true;
    this.remind(agentId, Math.round((this.clock.now() - a.stretchStart) / MIN));
  }

  dispose(): void {
    for (const a of this.agents.values()) if (a.timer) this.clock.clearTimeout(a.timer);
    this.agents.clear();
  }
}

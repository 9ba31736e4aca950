/**
 * The surge planner: which actions one level of a surge plan takes, given who is on the floor.
 * Pure: no I/O, no clock; the runner (runner.ts) decides when and carries them out through ports.
 *
 * - Level 1 logs in the plan's standby agents (default: floor.standby) who are logged out, with
 *   the plan's skills if it names some (their own skills come back when the level is reversed).
 * - Level 2 lends agents of the named groups to the surging queue: it gives them the queue's skill
 *   at the plan's level. Of each group at most floor(share × group size) agents are lent, counting
 *   those this plan already lent; candidates are logged in, do not have the skill yet, and are not
 *   lent by another level or plan; they are taken in the group's order.
 * - Level 3 raises the diversion flag of each named IVR flow.
 * Each action carries what reverses it.
 */
import type { FloorConfig, SurgePlan } from '../alerts/rules.ts';

export type SurgeAction =
  | { kind: 'login'; agent: string; skills?: Record<string, number>; restoreSkills?: Record<string, number> }
  | { kind: 'lend'; agent: string; group: string; skill: string; skills: Record<string, number>; restoreSkills: Record<string, number> }
  | { kind: 'divert'; flow: string };

export interface FloorAgent {
  id: string;
  loggedIn: boolean;
  skills: Readonly<Record<string, number>>;
}

export interface PlanContext {
  floor: Pick<FloorConfig, 'groups' | 'standby'>;
  agents: ReadonlyMap<string, FloorAgent>;
  /** The surging queue's skill (its first required skill); level 2 lends nothing without one. */
  queueSkill: string | undefined;
  /** Agents some plan has already taken (logged in or lent): not taken twice. */
  taken: ReadonlySet<string>;
}

export function planLevel(plan: SurgePlan, level: 1 | 2 | 3, ctx: PlanContext): SurgeAction[] {
  if (level === 1) {
    const l1 = plan.level1;
    if (!l1) return [];
    const ids = l1.standby.length > 0 ? l1.standby : ctx.floor.standby;
    const out: SurgeAction[] = [];
    for (const id of ids) {
      const a = ctx.agents.get(id);
      if (!a || a.loggedIn || ctx.taken.has(id)) continue;
      out.push(
        l1.skills
          ? { kind: 'login', agent: id, skills: { ...a.skills, ...l1.skills }, restoreSkills: { ...a.skills } }
          : { kind: 'login', agent: id },
      );
    }
    return out;
  }
  if (level === 2) {
    const l2 = plan.level2;
    const skill = ctx.queueSkill;
    if (!l2 || skill === undefined) return [];
    const out: SurgeAction[] = [];
    const chosen = new Set<string>();
    for (const g of l2.groups) {
      const members = ctx.floor.groups[g] ?? [];
      const cap = Math.floor(l2.share * members.length + 1e-9);
      let lent = members.filter((m) => ctx.taken.has(m)).length;
      for (const id of members) {
        if (lent >= cap) break;
        const a = ctx.agents.get(id);
        if (!a || !a.loggedIn || ctx.taken.has(id) || chosen.has(id) || a.skills[skill] !== undefined) continue;
        chosen.add(id);
        lent++;
        out.push({ kind: 'lend', agent: id, group: g, skill, skills: { ...a.skills, [skill]: l2.level }, restoreSkills: { ...a.skills } });
      }
    }
    return out;
  }
  return (plan.level3?.flows ?? []).map((flow) => ({ kind: 'divert', flow }));
}

/** What a level's action is, in words, for the event log and the board. */
export function describeAction(a: SurgeAction): string {
  switch (a.kind) {
    case 'login':
      return `log in standby agent ${a.agent}${a.skills ? ` with ${Object.keys(a.skills).join(', ')}` : ''}`;
    case 'lend':
      return `lend agent ${a.agent} of ${a.group} the skill ${a.skill}`;
    case 'divert':
      return `divert IVR flow ${a.flow}`;
  }
}

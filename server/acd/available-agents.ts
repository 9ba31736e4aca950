/**
 * Index of the agents who are available right now, by skill and level: for every skill, ten sets
 * (one per level), each in the order agents became available. Because an agent enters the index
 * with idleSince = now, a set's iteration order is its longest-idle order, so the agent a queue
 * wants is nearly always the first one that also meets the queue's other requirements: no sort and
 * no scan of the whole team on the hot path.
 *
 * Selection work by strategy, for one requirement set (n = available agents with the skill):
 * - longest-idle: at most one partial walk per level of the rarest required skill;
 * - highest-skill: walks levels from 10 down and stops at the first match;
 * - least-occupied, round-robin, ring-all: one walk over the n candidates.
 */
import type { SkillRequirement, Strategy } from './config.ts';

export interface RoutableAgent {
  /** Fixed order of the agent in the configuration (round-robin walks it). */
  readonly ord: number;
  skills: ReadonlyMap<string, number>;
  /** When the agent last became available (the longest-idle key). */
  idleSince: number;
  /** Talk + wrap-up milliseconds today (the least-occupied key). */
  occupiedMs: number;
}

/** A call may be taken by an agent who meets every requirement of any one alternative. */
export type Requirements = readonly (readonly SkillRequirement[])[];

function meetsAll(agent: RoutableAgent, conj: readonly SkillRequirement[]): boolean {
  for (const r of conj) {
    const level = agent.skills.get(r.skill);
    if (level === undefined || level < r.minLevel) return false;
  }
  return true;
}

export function meetsAny(agent: RoutableAgent, alts: Requirements): boolean {
  for (const conj of alts) if (meetsAll(agent, conj)) return true;
  return false;
}

const LEVELS = 10;

export class AvailableAgents<A extends RoutableAgent> {
  private readonly bySkill = new Map<string, Set<A>[]>();
  private readonly members = new Set<A>();

  has(agent: A): boolean {
    return this.members.has(agent);
  }

  add(agent: A): void {
    if (this.members.has(agent)) return;
    this.members.add(agent);
    for (const [skill, level] of agent.skills) this.levels(skill)[level]!.add(agent);
  }

  remove(agent: A): void {
    if (!this.members.delete(agent)) return;
    for (const [skill, level] of agent.skills) this.bySkill.get(skill)?.[level]?.delete(agent);
  }

  /** Available agents with `skill` at `minLevel` or above. */
  count(skill: string, minLevel = 1): number {
    const sets = this.bySkill.get(skill);
    if (!sets) return 0;
    let n = 0;
    for (let l = Math.max(1, minLevel); l <= LEVELS; l++) n += sets[l]!.size;
    return n;
  }

  /**
   * The agent(s) to offer a call with these requirements: one agent, or for ring-all up to `limit`
   * agents (longest idle first). `rrAfter` is the ord of the last agent the queue offered to.
   */
  select(alts: Requirements, strategy: Strategy, rrAfter = -1, limit = 1): A[] {
    if (strategy === 'ring-all') return this.ringAll(alts, limit);
    let best: A | undefined;
    let bestScore = 0;
    for (const conj of alts) {
      const first = conj[0];
      if (!first) continue;
      let found: A | undefined;
      let score = 0;
      switch (strategy) {
        case 'longest-idle':
          found = this.longestIdle(conj);
          break;
        case 'highest-skill':
          found = this.highestSkill(conj);
          score = found ? -(found.skills.get(first.skill) ?? 0) : 0;
          break;
        case 'least-occupied':
          found = this.scanBest(conj, (a, b) => a.occupiedMs < b.occupiedMs || (a.occupiedMs === b.occupiedMs && idleBefore(a, b)));
          break;
        case 'round-robin':
          found = this.scanBest(conj, (a, b) => rrDistance(a.ord, rrAfter) < rrDistance(b.ord, rrAfter));
          break;
      }
      if (!found) continue;
      if (!best) {
        best = found;
        bestScore = score;
        continue;
      }
      let better: boolean;
      switch (strategy) {
        case 'highest-skill':
          better = score < bestScore || (score === bestScore && idleBefore(found, best));
          break;
        case 'least-occupied':
          better = found.occupiedMs < best.occupiedMs || (found.occupiedMs === best.occupiedMs && idleBefore(found, best));
          break;
        case 'round-robin':
          better = rrDistance(found.ord, rrAfter) < rrDistance(best.ord, rrAfter);
          break;
        default:
          better = idleBefore(found, best);
      }
      if (better) {
        best = found;
        bestScore = score;
      }
    }
    return best ? [best] : [];
  }

  private levels(skill: string): Set<A>[] {
    let sets = this.bySkill.get(skill);
    if (!sets) {
      sets = Array.from({ length: LEVELS + 1 }, () => new Set<A>());
      this.bySkill.set(skill, sets);
    }
    return sets;
  }

  /** The requirement with the fewest available agents drives the walk. */
  private rarest(conj: readonly SkillRequirement[]): SkillRequirement | undefined {
    let best: SkillRequirement | undefined;
    let bestN = Infinity;
    for (const r of conj) {
      const n = this.count(r.skill, r.minLevel);
      if (n < bestN) {
        best = r;
        bestN = n;
        if (n === 0) break;
      }
    }
    return bestN === 0 ? undefined : best;
  }

  private longestIdle(conj: readonly SkillRequirement[]): A | undefined {
    const drive = this.rarest(conj);
    if (!drive) return undefined;
    const sets = this.bySkill.get(drive.skill)!;
    let best: A | undefined;
    for (let l = Math.max(1, drive.minLevel); l <= LEVELS; l++) {
      for (const a of sets[l]!) {
        // Sets are in idle order, so the first match of a level is that level's best.
        if (best && !idleBefore(a, best)) break;
        if (conj.length === 1 || meetsAll(a, conj)) {
          best = a;
          break;
        }
      }
    }
    return best;
  }

  private highestSkill(conj: readonly SkillRequirement[]): A | undefined {
    const primary = conj[0]!;
    const sets = this.bySkill.get(primary.skill);
    if (!sets) return undefined;
    for (let l = LEVELS; l >= Math.max(1, primary.minLevel); l--) {
      for (const a of sets[l]!) if (conj.length === 1 || meetsAll(a, conj)) return a;
    }
    return undefined;
  }

  private scanBest(conj: readonly SkillRequirement[], better: (a: A, b: A) => boolean): A | undefined {
    const drive = this.rarest(conj);
    if (!drive) return undefined;
    const sets = this.bySkill.get(drive.skill)!;
    let best: A | undefined;
    for (let l = Math.max(1, drive.minLevel); l <= LEVELS; l++) {
      for (const a of sets[l]!) {
        if ((!best || better(a, best)) && meetsAll(a, conj)) best = a;
      }
    }
    return best;
  }

  private ringAll(alts: Requirements, limit: number): A[] {
    const picked = new Set<A>();
    for (const conj of alts) {
      const drive = this.rarest(conj);
      if (!drive) continue;
      const sets = this.bySkill.get(drive.skill)!;
      for (let l = Math.max(1, drive.minLevel); l <= LEVELS; l++) {
        for (const a of sets[l]!) if (meetsAll(a, conj)) picked.add(a);
      }
    }
    return [...picked].sort((a, b) => (idleBefore(a, b) ? -1 : 1)).slice(0, limit);
  }
}

function idleBefore(a: RoutableAgent, b: RoutableAgent): boolean {
  return a.idleSince < b.idleSince || (a.idleSince === b.idleSince && a.ord < b.ord);
}

/** How far after `after` the ord comes, wrapping: the next agent in the fixed order goes first. */
function rrDistance(ord: number, after: number): number {
  return ord > after ? ord - after : ord - after + 1_000_000_000;
}

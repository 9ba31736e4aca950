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
 *
 * The sets are intrusive linked lists (AgentLine below), not Sets: an agent joins and leaves the
 * index on every call, and a Set that churns reallocates its hash table every few add/delete
 * pairs; the lists' nodes are made once per agent and skill and then only relinked.
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

/** One agent's place in one line: made once per agent and skill, linked in and out. */
interface Node<A> {
  readonly agent: A;
  readonly line: AgentLine<A>;
  prev: Node<A> | undefined;
  next: Node<A> | undefined;
}

/** The available agents with one skill at one level, in the order they became available. */
class AgentLine<A> {
  head: Node<A> | undefined;
  tail: Node<A> | undefined;
  size = 0;

  append(n: Node<A>): void {
    n.prev = this.tail;
    n.next = undefined;
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
    this.size++;
  }

  unlink(n: Node<A>): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = undefined;
    this.size--;
  }
}

/** An agent's nodes, one per skill, for the skills map they were made from. */
interface Slots<A> {
  skills: ReadonlyMap<string, number>;
  nodes: Node<A>[];
  indexed: boolean;
}

export class AvailableAgents<A extends RoutableAgent> {
  private readonly bySkill = new Map<string, AgentLine<A>[]>();
  /** Every agent ever indexed (an agent record lives as long as the engine). */
  private readonly slots = new Map<A, Slots<A>>();

  has(agent: A): boolean {
    return this.slots.get(agent)?.indexed === true;
  }

  add(agent: A): void {
    let sl = this.slots.get(agent);
    if (sl?.indexed) return;
    // Skills are changed by replacing the map (and only while out of the index): new nodes then.
    if (!sl || sl.skills !== agent.skills) {
      const nodes: Node<A>[] = [];
      // keys() and get(): iterating a Map's entries allocates a [key, value] pair per entry.
      for (const skill of agent.skills.keys()) {
        nodes.push({ agent, line: this.levels(skill)[agent.skills.get(skill)!]!, prev: undefined, next: undefined });
      }
      sl = { skills: agent.skills, nodes, indexed: false };
      this.slots.set(agent, sl);
    }
    for (const n of sl.nodes) n.line.append(n);
    sl.indexed = true;
  }

  remove(agent: A): void {
    const sl = this.slots.get(agent);
    if (!sl?.indexed) return;
    for (const n of sl.nodes) n.line.unlink(n);
    sl.indexed = false;
  }

  /** Available agents with `skill` at `minLevel` or above. */
  count(skill: string, minLevel = 1): number {
    const lines = this.bySkill.get(skill);
    if (!lines) return 0;
    let n = 0;
    for (let l = Math.max(1, minLevel); l <= LEVELS; l++) n += lines[l]!.size;
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

  private levels(skill: string): AgentLine<A>[] {
    let lines = this.bySkill.get(skill);
    if (!lines) {
      lines = Array.from({ length: LEVELS + 1 }, () => new AgentLine<A>());
      this.bySkill.set(skill, lines);
    }
    return lines;
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
      for (let n = sets[l]!.head; n; n = n.next) {
        const a = n.agent;
        // Lines are in idle order, so the first match of a level is that level's best.
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
      for (let n = sets[l]!.head; n; n = n.next) if (conj.length === 1 || meetsAll(n.agent, conj)) return n.agent;
    }
    return undefined;
  }

  private scanBest(conj: readonly SkillRequirement[], better: (a: A, b: A) => boolean): A | undefined {
    const drive = this.rarest(conj);
    if (!drive) return undefined;
    const sets = this.bySkill.get(drive.skill)!;
    let best: A | undefined;
    for (let l = Math.max(1, drive.minLevel); l <= LEVELS; l++) {
      for (let n = sets[l]!.head; n; n = n.next) {
        const a = n.agent;
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
        for (let n = sets[l]!.head; n; n = n.next) if (meetsAll(n.agent, conj)) picked.add(n.agent);
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

/**
 * Knowledge cards: markdown files in config/knowledge/*.md, each with YAML front matter saying
 * which calls it helps with — a queue, an IVR variable's value, a disposition of the caller's
 * earlier contacts, or words in the caller's data (IVR variables, earlier notes). Loaded and
 * checked with the rest of the config (a bad card is an error with its file, and the previous set
 * stays); matched purely: the screen pop shows the best cards first.
 *
 * ```md
 * ---
 * title: Refunds within 30 days
 * match: { queues: [sales], dispositions: [refund], ivr: { reason: billing }, words: [refund, money back] }
 * ---
 * Offer the refund form; …
 * ```
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const CardFrontMatterSchema = z.strictObject({
  title: z.string().min(1).max(200),
  tags: z.array(z.string().max(64)).default([]),
  match: z
    .strictObject({
      queues: z.array(z.string().min(1)).default([]),
      dispositions: z.array(z.string().min(1)).default([]),
      ivr: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.string(), z.array(z.string())])).default({}),
      words: z.array(z.string().min(2).max(100)).default([]),
    })
    .refine(
      (m) => m.queues.length + m.dispositions.length + Object.keys(m.ivr).length + m.words.length > 0,
      'a card needs at least one match',
    ),
});

export interface KnowledgeCard {
  /** The file name without .md. */
  id: string;
  title: string;
  tags: string[];
  body: string;
  /** Hash of the file: which version an agent saw. */
  version: string;
  match: z.output<typeof CardFrontMatterSchema>['match'];
}

export type CardsLoad = { ok: true; cards: KnowledgeCard[] } | { ok: false; errors: string[] };

const FRONT = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/;

export function parseCard(id: string, text: string): { ok: true; card: KnowledgeCard } | { ok: false; error: string } {
  const m = FRONT.exec(text);
  if (!m) return { ok: false, error: 'no front matter (--- … ---) at the top' };
  let raw: unknown;
  try {
    raw = parseYaml(m[1]!);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  const r = CardFrontMatterSchema.safeParse(raw ?? {});
  if (!r.success)
    return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(front matter)'}: ${i.message}`).join('; ') };
  return {
    ok: true,
    card: {
      id,
      title: r.data.title,
      tags: r.data.tags,
      match: r.data.match,
      body: m[2]!.trim(),
      version: createHash('sha256').update(text).digest('hex').slice(0, 12),
    },
  };
}

/** Every card of config/knowledge (absent directory: none). Never throws. */
export function loadCards(configDir: string): CardsLoad {
  const dir = join(configDir, 'knowledge');
  if (!existsSync(dir)) return { ok: true, cards: [] };
  const cards: KnowledgeCard[] = [];
  const errors: string[] = [];
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()) {
    const id = f.slice(0, -3);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(id)) {
      errors.push(`knowledge/${f}: file name must be letters, digits, _ . -`);
      continue;
    }
    const r = parseCard(id, readFileSync(join(dir, f), 'utf8'));
    if (r.ok) cards.push(r.card);
    else errors.push(`knowledge/${f}: ${r.error}`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, cards };
}

export interface CardContext {
  queue?: string | undefined;
  ivr?: Record<string, string> | undefined;
  /** Dispositions of the caller's earlier contacts (most recent first). */
  dispositions?: readonly string[] | undefined;
  /** Free text about the caller: IVR values, earlier notes. */
  text?: string | undefined;
}

export interface CardMatch {
  card: KnowledgeCard;
  score: number;
  why: string[];
}

const lower = (s: string) => s.toLocaleLowerCase();

/**
 * Cards that fit the call, best first. Score: a matching queue 1, an IVR variable 3, a disposition 2,
 * each word found 1 (a card that names a queue and the call is in another queue does not match).
 */
export function matchCards(cards: readonly KnowledgeCard[], ctx: CardContext, limit = 5): CardMatch[] {
  const text = lower(ctx.text ?? '');
  const out: CardMatch[] = [];
  for (const card of cards) {
    const m = card.match;
    const why: string[] = [];
    let score = 0;
    if (m.queues.length > 0) {
      if (!ctx.queue || !m.queues.includes(ctx.queue)) continue;
      score += 1;
      why.push(`queue:${ctx.queue}`);
    }
    for (const [k, want] of Object.entries(m.ivr)) {
      const got = ctx.ivr?.[k];
      if (got !== undefined && (Array.isArray(want) ? want : [want]).includes(got)) {
        score += 3;
        why.push(`ivr:${k}=${got}`);
      }
    }
    for (const d of m.dispositions)
      if ((ctx.dispositions ?? []).some((x) => lower(x) === lower(d))) {
        score += 2;
        why.push(`disposition:${d}`);
      }
    for (const w of m.words)
      if (text.includes(lower(w))) {
        score += 1;
        why.push(`word:${w}`);
      }
    // A card that names only queues matches every call of them; others need one more reason.
    const onlyQueues = Object.keys(m.ivr).length + m.dispositions.length + m.words.length === 0;
    if (score > 0 && (onlyQueues || why.some((y) => !y.startsWith('queue:')))) out.push({ card, score, why });
  }
  return out.sort((a, b) => b.score - a.score || (a.card.id < b.card.id ? -1 : 1)).slice(0, limit);
}

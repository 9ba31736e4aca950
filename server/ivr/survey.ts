/**
 * What a key means in a survey node, by the question it asks (csat/custom: 1..scale; fcr: a yes
 * and a no key; nps 0–10: two-key, where a 1 may begin 10, or single-key with a key for 10).
 * Pure; the session (session.ts) times the keys and records the answer.
 */
import type { NodeOf } from './schema.ts';

/** The scale recorded with the answer: NPS 10, FCR 1 (yes/no), else the node's. */
export function surveyScale(node: NodeOf<'survey'>): number {
  return node.question === 'nps' ? 10 : node.question === 'fcr' ? 1 : node.scale;
}

/** The score a single key gives, 'wait' (NPS two-key: a 1 may be the start of 10), or undefined (invalid). */
export function surveyKeyScore(node: NodeOf<'survey'>, d: string): number | 'wait' | undefined {
  switch (node.question) {
    case 'fcr':
      return d === node.yesKey ? 1 : d === node.noKey ? 0 : undefined;
    case 'nps':
      if (node.npsEntry === 'single-key') return d === node.tenKey ? 10 : /^[0-9]$/.test(d) ? Number(d) : undefined;
      return d === '1' ? 'wait' : /^[0-9]$/.test(d) ? Number(d) : undefined;
    default:
      return /^[1-9]$/.test(d) && Number(d) <= node.scale ? Number(d) : undefined;
  }
}

/**
 * Which of our addresses to advertise in Via and Contact when bound to a wildcard address.
 */
import { networkInterfaces } from 'node:os';

export function advertisedHost(bound: string): string {
  if (bound !== '0.0.0.0' && bound !== '::') return bound.includes(':') ? `[${bound}]` : bound;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * Which trunk an inbound INVITE belongs to (by source address, optionally then by digest) and which
 * IVR flow answers the dialled number. Source lists accept addresses and CIDR blocks, IPv4 or IPv6;
 * node's BlockList does the matching so there is no hand-written address arithmetic.
 */
import { BlockList, isIP } from 'node:net';
import type { Trunk } from '../config/schema.ts';

export interface TrunkMatcher {
  /** The trunk whose allow-list holds this source address, or undefined. */
  bySource(address: string): { name: string; trunk: Trunk } | undefined;
}

function addressList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    if (!addr) continue;
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits !== undefined) list.addSubnet(addr, Number(bits), family);
    else list.addAddress(addr, family);
  }
  return list;
}

export function trunkMatcher(trunks: Record<string, Trunk>): TrunkMatcher {
  const lists = Object.entries(trunks).map(([name, trunk]) => ({ name, trunk, list: addressList(trunk.from) }));
  return {
    bySource(address) {
      // "::ffff:127.0.0.1" arrives from dual-stack sockets; match it as the IPv4 it is.
      const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(a) === 6 ? 'ipv6' : isIP(a) === 4 ? 'ipv4' : undefined;
      if (!family) return undefined;
      const hit = lists.find((l) => l.list.check(a, family));
      return hit ? { name: hit.name, trunk: hit.trunk } : undefined;
    },
  };
}

/** The flow for a dialled number: the first route whose anchored pattern matches. */
export function routeFlow(trunk: Trunk, dialled: string): string | undefined {
  for (const r of trunk.routes) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${r.match})$`);
    } catch {
      continue; // the config validator reports bad patterns; a running centre skips them
    }
    if (re.test(dialled)) return r.flow;
  }
  return undefined;
}

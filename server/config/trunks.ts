/**
 * Which trunk an INVITE came in on (by source address) and which IVR flow answers the dialled
 * number (first matching route). Built once per config version.
 */
import { BlockList, isIP } from 'node:net';
import type { Trunk } from './schema.ts';
import { parseCidr, plainAddress } from '../../lib/ratelimit.ts';

export interface CallRoute {
  trunk: string;
  flow: string;
}

export class TrunkTable {
  private readonly entries: { name: string; allow: BlockList; routes: { re: RegExp; flow: string }[] }[] = [];

  constructor(trunks: Readonly<Record<string, Trunk>>) {
    for (const [name, t] of Object.entries(trunks)) {
      const allow = new BlockList();
      for (const rule of t.from) {
        const r = parseCidr(rule);
        if (!r) continue; // the loader has rejected malformed rules already
        if (r.prefix === undefined) allow.addAddress(r.address, r.family);
        else allow.addSubnet(r.address, r.prefix, r.family);
      }
      this.entries.push({ name, allow, routes: t.routes.map((x) => ({ re: new RegExp(`^(?:${x.match})$`), flow: x.flow })) });
    }
  }

  /** The trunk whose `from` covers `source` (an IPv4-mapped IPv6 address counts as IPv4). */
  trunkFor(source: string): string | undefined {
    const addr = plainAddress(source);
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (isIP(addr) === 0) return undefined;
    return this.entries.find((e) => e.allow.check(addr, family))?.name;
  }

  /** Trunk and IVR flow for a call from `source` to `dialled`, or undefined (reject the call). */
  route(source: string, dialled: string): CallRoute | undefined {
    const name = this.trunkFor(source);
    const e = this.entries.find((x) => x.name === name);
    const r = e?.routes.find((x) => x.re.test(dialled));
    return e && r ? { trunk: e.name, flow: r.flow } : undefined;
  }
}

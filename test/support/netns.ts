/**
 * An agent's machine on another network: a Linux network namespace joined to the host by a veth
 * pair, with headless Chromium running INSIDE it. The page then reaches the centre on a
 * non-loopback address, so the browser's secure-context rule really applies (the microphone only
 * over HTTPS), and a test can cut the agent's network (every packet dropped, or UDP only) with
 * nftables in the namespace while the centre on the host sees nothing but silence — as when a
 * home router drops out or a firewall blocks UDP.
 *
 * Needs root (CI runs as root), `ip` (iproute2) and `nft` (Debian nftables; scripts/test.sh
 * installs it). Each namespace is named by its caller and deleted by close(), and create() first
 * removes a leftover of the same name from a crashed run.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from './browser.ts';

const run = promisify(execFile);

async function sh(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args, { timeout: 10_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

export interface AgentNetwork {
  /** The namespace's name (also the prefix of its veth ends). */
  readonly name: string;
  /** The host's end of the link: bind the centre's HTTPS, SIP and media here. */
  readonly hostAddress: string;
  /** The agent machine's address inside the namespace. */
  readonly agentAddress: string;
  /**
   * Headless Chromium inside the namespace with a fake microphone (a WAV). `trustCertPem` is the
   * centre's certificate: Chromium trusts its key (and only it) instead of ignoring every error.
   */
  launchBrowser(micWav: string, opts?: { trustCertPem?: string }): Promise<Browser>;
  /** Drop every packet in and out of the namespace (the link stays up: no "network changed"). */
  cut(): Promise<void>;
  /** Drop UDP only, both ways (a network that allows only TCP). */
  blockUdp(): Promise<void>;
  /** Remove every drop rule: packets flow again. */
  restore(): Promise<void>;
  /** Delete the namespace (and with it the veth pair and its rules). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The base64 SHA-256 of a certificate's SubjectPublicKeyInfo: what Chromium's
 * --ignore-certificate-errors-spki-list takes.
 */
export function spkiHash(certPem: string): string {
  const key = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(key).digest('base64');
}

/**
 * A namespace `name` (≤ 12 characters: veth names are limited to 15) on the /24 10.<net>.0.0:
 * the host is .1, the agent .2. `net` must differ between test files running at the same time.
 */
export async function createAgentNetwork(name: string, net: number): Promise<AgentNetwork> {
  if (!/^[a-z][a-z0-9-]{0,11}$/.test(name)) throw new Error(`namespace name "${name}": 1–12 of a-z, 0-9, -`);
  if (!Number.isInteger(net) || net < 1 || net > 254) throw new Error(`net ${net}: 1–254`);
  const hostIf = `${name}-h`;
  const nsIf = `${name}-n`;
  const hostAddress = `10.${net}.0.1`;
  const agentAddress = `10.${net}.0.2`;
  const inNs = (args: string[]): Promise<void> => sh('ip', ['netns', 'exec', name, ...args]);

  await sh('ip', ['netns', 'del', name]).catch(() => undefined);
  await sh('ip', ['link', 'del', hostIf]).catch(() => undefined);
  await sh('ip', ['netns', 'add', name]);
  const dir = mkdtempSync(join(tmpdir(), `cc-${name}-`));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await sh('ip', ['netns', 'del', name]).catch(() => undefined);
    await sh('ip', ['link', 'del', hostIf]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    await sh('ip', ['link', 'set', nsIf, 'netns', name]);
    await sh('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', hostIf]);
    await sh('ip', ['link', 'set', hostIf, 'up']);
    await inNs(['ip', 'addr', 'add', `${agentAddress}/24`, 'dev', nsIf]);
    await inNs(['ip', 'link', 'set', nsIf, 'up']);
    await inNs(['ip', 'link', 'set', 'lo', 'up']);
    // One table with an input and an output chain; cut/blockUdp add rules, restore flushes them.
    const ruleset = [
      'table inet cc {',
      '  chain input { type filter hook input priority 0; policy accept; }',
      '  chain output { type filter hook output priority 0; policy accept; }',
      '}',
      '',
    ].join('\n');
    const rules = join(dir, 'rules.nft');
    writeFileSync(rules, ruleset);
    await inNs(['nft', '-f', rules]);
  } catch (e) {
    await close();
    throw e;
  }

  // Playwright talks to Chromium over inherited pipes; `ip netns exec` execs, so they survive.
  const wrapper = join(dir, 'chromium-in-ns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);

  const drop = async (what: string[]): Promise<void> => {
    for (const chain of ['input', 'output']) await inNs(['nft', 'add', 'rule', 'inet', 'cc', chain, ...what, 'drop']);
  };

  return {
    name,
    hostAddress,
    agentAddress,
    async launchBrowser(micWav, opts = {}) {
      const args = chromiumArgs(micWav);
      if (opts.trustCertPem) args.push(`--ignore-certificate-errors-spki-list=${spkiHash(readFileSync(opts.trustCertPem, 'utf8'))}`);
      return chromium.launch({ executablePath: wrapper, headless: true, args });
    },
    cut: () => drop([]),
    blockUdp: () => drop(['meta', 'l4proto', 'udp']),
    async restore() {
      for (const chain of ['input', 'output']) await inNs(['nft', 'flush', 'chain', 'inet', 'cc', chain]);
    },
    close,
  };
}

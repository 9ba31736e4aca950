/**
 * Capture what a peer that cannot analyse audio itself (sipp) receives: tcpdump on loopback,
 * UDP to one port, written packet by packet so nothing is lost when the capture stops.
 * --immediate-mode matters: without it the kernel hands packets over in blocks, and the ones of
 * the last block (e.g. all of a 50 ms SIP exchange) are dropped when SIGINT stops the capture.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Capture {
  stop(): Promise<Buffer>;
}

export function captureUdp(port: number): Promise<Capture> {
  return captureUdpRanges([[port, port]]);
}

/** UDP to any of the given destination port ranges (each party of a call listens on its own). */
export async function captureUdpRanges(ranges: readonly (readonly [number, number])[]): Promise<Capture> {
  const file = join(mkdtempSync(join(tmpdir(), 'cc-cap-')), 'cap.pcap');
  const filter = ['udp', 'and', '(', ...ranges.flatMap(([lo, hi], i) => [...(i ? ['or'] : []), 'dst', 'portrange', `${lo}-${hi}`]), ')'];
  const child = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '--immediate-mode', '-s', '0', '-w', file, ...filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
  return {
    stop: () =>
      new Promise<Buffer>((resolve) => {
        child.once('exit', () => resolve(readFileSync(file)));
        child.kill('SIGINT');
      }),
  };
}

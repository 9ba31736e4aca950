/**
 * Where log lines go (issue #14): stdout for the server, stderr once configureLog says so, for
 * every logger, including children taken before the switch. The CLI switches before any command
 * runs, so `callcentre report --format json | jq` gets the report and nothing else.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function run(script: string, args: string[] = []): { out: string; err: string; code: number | null } {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' };
  delete env.VITEST; // under vitest the logger is silent
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...(script ? ['--input-type=module', '-e', script] : []), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
    timeout: 30_000,
  });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

const lines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; mod?: string });

describe('log destination', () => {
  it('stdout by default; stderr after configureLog({ destination: 2 }), for children made earlier too', () => {
    const r = run(`
      import { log, configureLog } from './lib/log.ts';
      const child = log.child({ mod: 'store' });
      log.info('before');
      configureLog({ destination: 2 });
      child.info('after, child');
      log.info('after, root');
    `);
    expect(r.code, r.err).toBe(0);
    expect(lines(r.out).map((l) => l.msg)).toEqual(['before']);
    expect(lines(r.err).map((l) => [l.msg, l.mod])).toEqual([
      ['after, child', 'store'],
      ['after, root', undefined],
    ]);
  });

  it('the CLI sends logs to stderr before any command runs: its stdout is only its output', () => {
    const r = run(`
      import { buildProgram } from './server/cli.ts';
      import { log } from './lib/log.ts';
      const program = buildProgram();
      program.command('noop').action(() => {
        log.child({ mod: 'store' }).info('store open');
        process.stdout.write('the output\\n');
      });
      await program.parseAsync(['node', 'callcentre', 'noop']);
    `);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('the output\n');
    expect(lines(r.err).map((l) => l.msg)).toEqual(['store open']);
  });
});

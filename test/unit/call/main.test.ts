/**
 * `npm start` with a broken config: the centre does not start, says exactly what is wrong (file,
 * line, column, path) and exits 1 — before it touches Postgres, media or any port.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'cc-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('server/main.ts', () => {
  it('refuses a broken config with positioned errors and exit code 1', () => {
    const config = join(dir, 'config');
    cpSync(resolve('config'), config, { recursive: true });
    const queues = join(config, 'queues.yaml');
    writeFileSync(queues, readFileSync(queues, 'utf8').replace('strategy: longest-idle', 'strategy: longest-waiting'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', resolve('server/main.ts'), '--config', config], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, LOG_LEVEL: 'silent', CC_DATA_DIR: join(dir, 'data') },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`The config in ${config} is not valid:`);
    expect(r.stderr).toMatch(/queues\.yaml:\d+:\d+ .*strategy/);
    expect(r.stdout).not.toContain('is running');
  });
});

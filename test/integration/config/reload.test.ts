/**
 * Hot reload against the real file system and watcher: a call in the IVR keeps its version while
 * the flow file is replaced by a broken version and then by a valid one; new calls follow the
 * valid one.
 */
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../lib/clock.ts';
import type { ConfigError } from '../../../server/config/errors.ts';
import type { CentreConfig } from '../../../server/config/load.ts';
import { ConfigLoadError, ConfigWatcher } from '../../../server/config/watcher.ts';
import { IvrSession } from '../../../server/ivr/session.ts';
import type { IvrAction } from '../../../server/ivr/actions.ts';
import { waitFor as waitUntil } from '../../support/waitFor.ts';

const DEMO = path.resolve(import.meta.dirname, '../../../config');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cc-reload-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function waitFor<T>(w: ConfigWatcher, event: 'reload' | 'invalid', ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    w.once(event, (...args: unknown[]) => {
      clearTimeout(t);
      resolve(args[0] as T);
    });
  });
}

/** Replace a file the way editors do: write a temporary file, then rename it over the old one. */
function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

function call(flows: ConfigWatcher['flows'], at: number) {
  const clock = new FakeClock(at);
  const s = new IvrSession(flows, 'main', { clock, callerId: '+15551234', dialled: '100' });
  const actions: IvrAction[] = [];
  s.on('action', (a) => {
    actions.push(a);
    // The caller listens to every prompt to its end.
    if (a.type === 'play') queueMicrotask(() => s.promptFinished());
  });
  return { s, clock, actions };
}

/** The IVR runs its prompts asynchronously: wait until the call sits at the menu. */
const atMenu = (c: ReturnType<typeof call>) =>
  waitUntil(() => c.s.state === 'waiting', { timeoutMs: 2000, what: 'the call to wait at the main menu' });

describe('config hot reload', () => {
  it('keeps calls on their version, rejects a broken edit, then swaps in a valid one', async () => {
    const dir = path.join(tmp, 'centre');
    cpSync(DEMO, dir, { recursive: true });
    const flowFile = path.join(dir, 'ivr', 'main.yaml');
    const original = readFileSync(flowFile, 'utf8');
    const monday10 = Date.parse('2026-12-21T10:00:00Z');

    const w = await ConfigWatcher.start(dir, { debounceMs: 100 });
    try {
      const v1 = w.current.version;
      const first = call(w.flows, monday10);
      first.s.start();
      await atMenu(first); // at the main menu, on v1

      // 1. A broken edit: key 1 now points at a node that does not exist.
      const invalid = waitFor<ConfigError[]>(w, 'invalid');
      replace(flowFile, original.replace('"1": sales', '"1": salez'));
      const errors = await invalid;
      // The typo also leaves "sales" unreachable: both are reported.
      expect(errors.map((e) => `${e.file}:${e.line} ${e.path.join('.')} ${e.message}`)).toEqual([
        expect.stringMatching(/^ivr\/main\.yaml:\d+ nodes\.menu\.choices\.1 unknown node reference "salez"/),
        expect.stringMatching(/^ivr\/main\.yaml:\d+ nodes\.sales unreachable node "sales"/),
      ]);
      expect(w.current.version).toBe(v1);
      expect(w.lastErrors).toHaveLength(2);

      // A call arriving now gets the version still in force.
      const during = call(w.flows, monday10);
      during.s.start();
      await atMenu(during);
      during.s.digit('1');
      expect(during.actions.at(-1)).toMatchObject({ type: 'queue', queue: 'sales' });

      // 2. A valid edit: keys 1 and 2 swapped.
      const reloaded = waitFor<CentreConfig>(w, 'reload');
      replace(flowFile, original.replace('"1": sales', '"1": support').replace('"2": support', '"2": sales'));
      const v2 = await reloaded;
      expect(v2.version).not.toBe(v1);
      expect(w.current).toBe(v2);
      expect(w.lastErrors).toEqual([]);

      // The first call, still in the menu since before both edits, finishes on v1.
      first.s.digit('1');
      expect(first.s.version).toBe(v1);
      expect(first.actions.at(-1)).toMatchObject({ type: 'queue', queue: 'sales' });
      first.s.queueExit('timeout');
      await waitUntil(() => first.s.position.node === 'offer-callback', {
        timeoutMs: 2000,
        what: 'the first call to reach offer-callback',
      });
      expect(first.s.position).toEqual({ flow: 'main', node: 'offer-callback' });

      // New calls follow v2.
      const after = call(w.flows, monday10);
      after.s.start();
      await atMenu(after);
      after.s.digit('1');
      expect(after.s.version).toBe(v2.version);
      expect(after.actions.at(-1)).toMatchObject({ type: 'queue', queue: 'support' });

      // 3. Deleting a file the centre needs is rejected too; the running version stays.
      const gone = waitFor<ConfigError[]>(w, 'invalid');
      rmSync(path.join(dir, 'queues.yaml'));
      expect((await gone)[0]).toMatchObject({ file: 'queues.yaml', message: expect.stringMatching(/cannot read/) });
      expect(w.current).toBe(v2);
    } finally {
      await w.close();
    }
  });

  it('refuses to start on an invalid directory, with every error', async () => {
    const dir = path.join(tmp, 'broken');
    cpSync(DEMO, dir, { recursive: true });
    const f = path.join(dir, 'hours.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('Europe/London', 'Europe/Lundon'));
    const err = await ConfigWatcher.start(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigLoadError);
    expect((err as ConfigLoadError).errors[0]).toMatchObject({
      file: 'hours.yaml',
      message: expect.stringMatching(/unknown time zone "Europe\/Lundon"/),
    });
  });
});

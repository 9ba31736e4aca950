/**
 * `callcentre validate` and `callcentre schema`: check a config directory the way the server
 * would load it, and regenerate the JSON Schema files editors use.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { formatError } from './errors.ts';
import { writeJsonSchemas } from './jsonSchema.ts';
import { loadConfig, type CentreConfig } from './load.ts';
import { loadAfterCallConfig } from '../customers/config.ts';
import { loadCards } from '../knowledge/cards.ts';

/**
 * The files the centre reads beside the main config (config/aftercall.yaml, config/knowledge/*.md):
 * the server re-reads them on their own and keeps the previous version when one is bad, so a broken
 * edit would only show in its log — validate checks them too. Each error starts with its file.
 */
export function checkSideFiles(dir: string): string[] {
  const errors: string[] = [];
  const after = loadAfterCallConfig(dir);
  if (!after.ok) errors.push(...after.errors);
  const cards = loadCards(dir);
  if (!cards.ok) errors.push(...cards.errors);
  return errors;
}

export const DEFAULT_CONFIG_DIR = 'config';

/** Adds the `--config DIR` option every command takes. */
export function withConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <dir>', 'config directory', DEFAULT_CONFIG_DIR);
}

/** Loads the config for a command, printing every error and returning undefined when invalid. */
export function loadForCommand(dir: string, io: { err: (s: string) => void } = { err: (s) => console.error(s) }): CentreConfig | undefined {
  const r = loadConfig(dir, process.env);
  if (r.ok) return r.config;
  const label = `${dir.replace(/\/$/, '')}/`;
  for (const e of r.errors) io.err(formatError(e, e.file === 'env' ? '' : label));
  io.err(`${r.errors.length} error${r.errors.length === 1 ? '' : 's'} in ${dir}`);
  return undefined;
}

export function registerConfigCommands(program: Command): void {
  withConfigOption(
    program
      .command('validate')
      .description('check every config file (schemas, references, calendars, prompt files); exit 0 when valid, 1 otherwise')
      .option('--json', 'print {ok, version} or {ok:false, errors:[{file,line,column,path,message}]} as JSON'),
  ).action((o: { config: string; json?: boolean }) => {
    const side = checkSideFiles(o.config);
    if (o.json) {
      const r = loadConfig(o.config, process.env);
      const sideErrors = side.map((e) => ({ file: e.slice(0, e.indexOf(':')), message: e.slice(e.indexOf(':') + 1).trim() }));
      const ok = r.ok && side.length === 0;
      const errors = [...(r.ok ? [] : r.errors), ...sideErrors];
      console.log(JSON.stringify(ok && r.ok ? { ok: true, version: r.config.version } : { ok: false, errors }, null, 2));
      if (!ok) process.exitCode = 1;
      return;
    }
    const c = loadForCommand(o.config);
    const label = `${o.config.replace(/\/$/, '')}/`;
    for (const e of side) console.error(`${label}${e}`);
    if (!c || side.length > 0) {
      if (c) console.error(`${side.length} error${side.length === 1 ? '' : 's'} in ${o.config}`);
      process.exitCode = 1;
      return;
    }
    const flows = Object.keys(c.flows);
    console.log(
      `${o.config}: valid (version ${c.version}) — ${c.agents.length} agents, ${Object.keys(c.queues).length} queues, ` +
        `${Object.keys(c.calendars).length} calendars, ${Object.keys(c.prompts).length} prompts, ${flows.length} IVR flows (${flows.join(', ')})`,
    );
  });

  withConfigOption(
    program.command('schema').description('write the JSON Schema of every config file to CONFIG/schema/ (for editor autocompletion)'),
  ).action((o: { config: string }) => {
    for (const f of writeJsonSchemas(path.join(o.config, 'schema'))) console.log(`wrote ${f}`);
  });
}

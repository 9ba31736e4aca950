/**
 * `callcentre ivr simulate|graph|prompts`: try a flow from the command line with no telephony,
 * draw it, and make draft prompts from their transcripts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadForCommand, withConfigOption } from '../config/commands.ts';
import { parseWhen } from './calendar.ts';
import { compileFlows } from './flow.ts';
import { flowToDot, flowToSvg } from './graph.ts';
import { generatePrompts } from './prompts.ts';
import type { LookupResult } from './actions.ts';
import { formatSimulation, simulateCall, type SimulationOptions } from './simulate.ts';
import { EspeakTts } from './tts.ts';

function fail(msg: string): void {
  console.error(msg);
  process.exitCode = 1;
}

export function registerIvrCommands(program: Command): void {
  const ivr = program.command('ivr').description('IVR flows: dry runs, pictures, draft prompts');

  withConfigOption(
    ivr
      .command('simulate')
      .description('walk a caller through FLOW and print the path, prompts and queue reached')
      .argument('<flow>', 'flow name (config/ivr/FLOW.yaml)')
      .option('-d, --digits <list>', 'keys typed at each input, comma-separated ("1,2", "12345#,"; empty = silence)', '')
      .option('--at <time>', 'time of the call: "2026-12-25T10:00" (centre time zone) or ISO with offset; default now')
      .option('--caller <number>', 'caller id', '+15551234')
      .option('--dialled <number>', 'dialled number', '')
      .option('--queue <what>', 'in a queue: stop | answered | full | timeout | closed', 'stop')
      .option('--lookup <json>', 'reply to HTTP lookups with this JSON (default: lookups fail)')
      .option('--json', 'print the result as JSON'),
  ).action(
    (
      flow: string,
      o: { config: string; digits: string; at?: string; caller: string; dialled: string; queue: string; lookup?: string; json?: boolean },
    ) => {
      const c = loadForCommand(o.config);
      if (!c) return fail('config invalid: fix the errors above (callcentre validate)');
      if (!Object.hasOwn(c.flows, flow)) return fail(`unknown flow "${flow}"; flows are ${Object.keys(c.flows).join(', ')}`);
      const at = o.at === undefined ? Date.now() : parseWhen(o.at, c.server.timezone);
      if (at === undefined) return fail(`--at "${o.at}": expected a time like 2026-12-25T10:00`);
      if (!['stop', 'answered', 'full', 'timeout', 'closed'].includes(o.queue))
        return fail(`--queue "${o.queue}": expected stop, answered, full, timeout or closed`);
      let lookup: LookupResult | undefined;
      if (o.lookup !== undefined) {
        try {
          lookup = { ok: true, data: JSON.parse(o.lookup) as unknown };
        } catch (e) {
          return fail(`--lookup: not JSON: ${(e as Error).message}`);
        }
      }
      const r = simulateCall(compileFlows(c), flow, {
        at,
        callerId: o.caller,
        dialled: o.dialled,
        inputs: o.digits === '' ? [] : o.digits.split(',').map((s) => s.trim()),
        queue: o.queue as SimulationOptions['queue'],
        ...(lookup ? { lookup } : {}),
      });
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(
          `call from ${o.caller} at ${new Date(at).toISOString()} (${new Intl.DateTimeFormat('en-GB', { timeZone: c.server.timezone, dateStyle: 'full', timeStyle: 'short' }).format(at)} ${c.server.timezone})`,
        );
        console.log(formatSimulation(r));
      }
    },
  );

  withConfigOption(
    ivr
      .command('graph')
      .description('draw FLOW (and the flows it jumps into) as an SVG picture')
      .argument('<flow>', 'flow name')
      .option('-o, --out <file>', 'output file (default ivr-FLOW.svg; .dot writes Graphviz source)'),
  ).action(async (flow: string, o: { config: string; out?: string }) => {
    const c = loadForCommand(o.config);
    if (!c) return fail('config invalid: fix the errors above (callcentre validate)');
    if (!Object.hasOwn(c.flows, flow)) return fail(`unknown flow "${flow}"; flows are ${Object.keys(c.flows).join(', ')}`);
    const out = o.out ?? `ivr-${flow}.svg`;
    const flows = compileFlows(c);
    const text = out.endsWith('.dot') ? flowToDot(flows, flow) : await flowToSvg(flows, flow);
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeFileSync(out, text);
    console.log(`wrote ${out}`);
  });

  withConfigOption(
    ivr
      .command('prompts')
      .description('make missing prompt WAVs from their transcripts with espeak-ng (8 kHz mono); music on hold is synthesized')
      .option('--force', 'remake every prompt, not only missing ones')
      .option('--lang <code>', 'language of the main transcripts', 'en'),
  ).action(async (o: { config: string; force?: boolean; lang: string }) => {
    const tts = new EspeakTts({ cacheDir: path.resolve('data', 'tts') });
    try {
      for (const g of await generatePrompts(o.config, tts, { force: o.force ?? false, lang: o.lang }))
        console.log(`${g.how.padEnd(5)} ${g.name} ${g.file}`);
    } catch (e) {
      fail((e as Error).message);
    }
  });
}

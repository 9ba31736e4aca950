/**
 * The `callcentre` command. Each command group lives with its domain and registers itself here:
 * add yours with one import and one register call.
 */
import { Command } from 'commander';
import { configureLog } from '../lib/log.ts';
import { registerConfigCommands } from './config/commands.ts';
import { registerIvrCommands } from './ivr/commands.ts';
import { registerReportCommands } from './kpi/commands.ts';
import { registerRollupCommand } from './kpi/rollupCommand.ts';
import { registerCallCommands } from './call/commands.ts';
import { registerPlanningCommands } from './planning/commands.ts';
import { registerDrillCommand } from './planning/drillCommand.ts';
import { registerPasswdCommand } from './secrets/commands.ts';

export function buildProgram(): Command {
  const program = new Command('callcentre')
    .description('contact-centre server: config checks, IVR dry runs, reports, staffing')
    .showHelpAfterError();
  // A command's stdout is its output (JSON, CSV, a table): `report --format csv > day.csv` and
  // `| jq` must not meet a log line. Logs go to stderr, as soon as a command is about to run.
  program.hook('preAction', () => configureLog({ destination: 2 }));
  registerConfigCommands(program);
  registerIvrCommands(program);
  registerReportCommands(program);
  registerRollupCommand(program);
  registerCallCommands(program);
  registerPlanningCommands(program);
  registerDrillCommand(program);
  registerPasswdCommand(program);
  return program;
}

const isMain = import.meta.url === `file://${process.argv[1]}` || /[/\\]cli\.ts$/.test(process.argv[1] ?? '');
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    });
}

/**
 * `callcentre call` (npm run call): place a demo call into a running centre, as a carrier would,
 * so a newcomer hears the IVR and sees the softphone ring within a minute of cloning.
 */
import type { Command } from 'commander';
import { loadForCommand, withConfigOption } from '../config/commands.ts';
import { TrunkTable } from '../config/trunks.ts';
import { compileFlows } from '../ivr/flow.ts';
import { simulateCall } from '../ivr/simulate.ts';
import { placeDemoCall, sippAvailable } from './demoCaller.ts';

interface CallFlags {
  config: string;
  digits: string;
  to?: string;
  dialled: string;
  caller: string;
  hold: string;
  tone: string;
}

export function registerCallCommands(program: Command): void {
  withConfigOption(
    program
      .command('call')
      .description("place a demo call (sipp) into the running centre: IVR keys, then a tone as the caller's voice")
      .option('--digits <keys>', 'keys to press in the IVR, e.g. 1 (sales) or 2 (support)', '1')
      .option('--to <host:port>', 'SIP address of the centre (default: from the config)')
      .option('--dialled <number>', 'dialled number (the demo: 200 answers at any hour, 100 keeps office hours)', '200')
      .option('--caller <number>', 'caller number shown to the agent', '15551234567')
      .option('--hold <seconds>', 'hang up after this many seconds', '60')
      .option('--tone <hz>', "frequency of the caller's tone", '1000'),
  ).action(async (f: CallFlags) => {
    let target = f.to;
    if (!target) {
      const config = loadForCommand(f.config);
      if (!config) return void (process.exitCode = 1);
      const sip = config.server.sip;
      target = `${sip.host === '0.0.0.0' ? '127.0.0.1' : sip.host}:${sip.udpPort}`;
      // Say up front where the IVR will take this caller now (e.g. closed at night), so a
      // newcomer is not left wondering why no softphone rings.
      const flow = new TrunkTable(config.trunks).route('127.0.0.1', f.dialled)?.flow;
      if (flow) {
        const sim = simulateCall(compileFlows(config), flow, {
          at: Date.now(),
          callerId: f.caller,
          dialled: f.dialled,
          inputs: [...f.digits],
        });
        if (sim.queue)
          console.log(`The IVR "${flow}" will put this caller in queue "${sim.queue.name}": log in as one of its agents and press Ready.`);
        else
          console.log(
            `Note: the IVR "${flow}" will not queue this caller now (it ends: ${sim.reason ?? sim.outcome ?? 'unknown'}); see config/hours.yaml.`,
          );
      }
    }
    if (!sippAvailable()) {
      console.error('The demo caller is sipp: install it with `apt-get install sip-tester` (npm test does this).');
      return void (process.exitCode = 1);
    }
    const hold = Number(f.hold);
    const tone = Number(f.tone);
    if (!Number.isFinite(hold) || hold < 1 || hold > 3600) return void console.error('--hold: 1..3600 seconds');
    if (!Number.isFinite(tone) || tone < 100 || tone > 3800) return void console.error('--tone: 100..3800 Hz');
    console.log(`Calling ${f.dialled} at ${target} from ${f.caller}; pressing "${f.digits}", then a ${tone} Hz tone for up to ${hold} s.`);
    const call = placeDemoCall({ target, dialled: f.dialled, caller: f.caller, digits: f.digits, holdMs: hold * 1000, toneHz: tone });
    const onSig = (): void => call.stop();
    process.once('SIGINT', onSig);
    const r = await call.done;
    process.off('SIGINT', onSig);
    if (r.code === 0) console.log('The call completed.');
    else {
      console.error(`sipp ended with code ${r.code} (the centre or the agent may have hung up first):`);
      console.error(
        r.stderr
          .split('\n')
          .filter((l) => /Aborting|unexpected|error/i.test(l))
          .slice(-5)
          .join('\n'),
      );
      process.exitCode = 1;
    }
  });
}

/**
 * A hand-built hour of contact-centre traffic covering every KPI edge, with the truth computed by
 * hand in the comments (and asserted in report.test.ts). The store integration test writes the same
 * log through the real writer and expects the same figures back from REST, CSV and the CLI.
 *
 * Times are seconds after T0 = 2026-01-05 09:00:00 UTC. Settings: SL thresholds 20 s and 30 s,
 * short abandon < 5 s, FCR window 1 day.
 */
import { agentStreamId, type CcEvent, type CcEventInput, CcEventSchema } from '../../../server/kpi/events.ts';

export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
export const HOUR = 3_600_000;
export const at = (sec: number) => T0 + Math.round(sec * 1000);

type Fields = Record<string, unknown>;

class Stream {
  private seq = 0;
  constructor(
    readonly id: string,
    private readonly out: CcEvent[],
  ) {}
  e(type: CcEvent['type'], sec: number, fields: Fields = {}): this {
    const input = { type, contactId: this.id, seq: ++this.seq, ts: at(sec), ...fields } as CcEventInput;
    this.out.push(CcEventSchema.parse(input));
    return this;
  }
}

export function scriptedDay(): CcEvent[] {
  const ev: CcEvent[] = [];
  const s = (id: string) => new Stream(id, ev);
  const arrive = (id: string, sec: number, caller: string, extra: Fields = {}) =>
    s(id).e('contact.arrived', sec, { caller, dialled: '8000', trunk: 'carrier-a', ...extra });

  // Agents. alice: logged in before the range, lunch 09:20-09:35, logs out 09:55.
  s(agentStreamId('alice', 'boot1'))
    .e('agent.state', -600, { agentId: 'alice', state: 'ready' })
    .e('agent.state', 1200, { agentId: 'alice', state: 'not-ready', reason: 'lunch' })
    .e('agent.state', 2100, { agentId: 'alice', state: 'ready' })
    .e('agent.state', 3300, { agentId: 'alice', state: 'logged-out' });
  // bob: ready from 09:00 to 10:30 (past the range end).
  s(agentStreamId('bob', 'boot1'))
    .e('agent.state', 0, { agentId: 'bob', state: 'ready' })
    .e('agent.state', 5400, { agentId: 'bob', state: 'logged-out' });

  // C1 +100: wait 15, talk 165 - hold 30 = 135, ACW 30. CSAT 5, FCR survey yes. Repeat by C8.
  arrive('C1', 0, '+100')
    .e('ivr.step', 2, { node: 'welcome' })
    .e('ivr.step', 6, { node: 'menu', input: '1' })
    .e('ivr.end', 10, { completedInIvr: false, queue: 'sales' })
    .e('queue.enter', 10, { queue: 'sales', skillGroup: 'sales-en' })
    .e('queue.offer', 12, { queue: 'sales', agentId: 'alice' })
    .e('queue.connect', 25, { queue: 'sales', agentId: 'alice' })
    .e('recording.started', 25, { recordingId: 'R1', path: '/var/rec/C1.wav' })
    .e('hold.start', 60, { agentId: 'alice' })
    .e('hold.end', 90, { agentId: 'alice' })
    .e('call.end', 190, { endedBy: 'caller' })
    .e('recording.stopped', 190, { recordingId: 'R1', bytes: 2_640_000 })
    .e('wrapup.start', 190, { agentId: 'alice', queue: 'sales' })
    .e('survey.answer', 200, { question: 'csat', value: 5 })
    .e('survey.answer', 205, { question: 'fcr', value: 1 })
    .e('wrapup.end', 220, { agentId: 'alice', disposition: 'sale', note: 'upgraded plan' });

  // C2 +200: short abandon after 3 s.
  arrive('C2', 120, '+200')
    .e('queue.enter', 120, { queue: 'sales' })
    .e('queue.abandon', 123, { queue: 'sales' })
    .e('call.end', 123, { endedBy: 'caller' });
  // C3 +300: abandon after 12 s (inside 20 and 30).
  arrive('C3', 300, '+300')
    .e('queue.enter', 300, { queue: 'sales' })
    .e('queue.abandon', 312, { queue: 'sales' })
    .e('call.end', 312, { endedBy: 'caller' });
  // C4 +400: abandon after 25 s (after 20, inside 30). No queue.abandon: call.end by caller implies it.
  arrive('C4', 360, '+400').e('queue.enter', 360, { queue: 'sales' }).e('call.end', 385, { endedBy: 'caller' });

  // C5 +500: RONA on bob, then alice answers at wait 40. Talk 120, ACW 120 extended. CSAT 3.
  arrive('C5', 420, '+500')
    .e('queue.enter', 420, { queue: 'sales' })
    .e('queue.offer', 421, { queue: 'sales', agentId: 'bob' })
    .e('queue.rona', 436, { queue: 'sales', agentId: 'bob' })
    .e('queue.offer', 437, { queue: 'sales', agentId: 'alice' })
    .e('queue.connect', 460, { queue: 'sales', agentId: 'alice' })
    .e('call.end', 580, { endedBy: 'agent' })
    .e('wrapup.start', 580, { agentId: 'alice', queue: 'sales' })
    .e('survey.answer', 590, { question: 'csat', value: 3 })
    .e('wrapup.end', 700, { agentId: 'alice', extended: true, disposition: 'info' });
  // C9 +500 again, a day and a minute later: outside the FCR window, so C5 stays resolved.
  arrive('C9', 86_400 + 420 + 60, '+500').e('call.end', 86_400 + 500, { endedBy: 'caller' });

  // C6 +600: bob rejects, bob answers at exactly 20 s, talks 120, transfers to support (C6b).
  arrive('C6', 600, '+600')
    .e('queue.enter', 600, { queue: 'sales' })
    .e('queue.offer', 601, { queue: 'sales', agentId: 'bob' })
    .e('queue.reject', 602, { queue: 'sales', agentId: 'bob' })
    .e('queue.offer', 610, { queue: 'sales', agentId: 'bob' })
    .e('queue.connect', 620, { queue: 'sales', agentId: 'bob' })
    .e('queue.transfer', 740, { queue: 'sales', agentId: 'bob', targetKind: 'queue', target: 'support', toContactId: 'C6b' })
    .e('wrapup.start', 740, { agentId: 'bob', queue: 'sales' })
    .e('wrapup.end', 770, { agentId: 'bob' });
  // C6b: the transferred leg; support answers after 10 s, talk 120, ACW 10. Final handler of C6.
  arrive('C6b', 740, '+600', { initiation: 'transfer', previousContactId: 'C6' })
    .e('queue.enter', 740, { queue: 'support' })
    .e('queue.connect', 750, { queue: 'support', agentId: 'alice' })
    .e('call.end', 870, { endedBy: 'caller' })
    .e('wrapup.start', 870, { agentId: 'alice', queue: 'support' })
    .e('wrapup.end', 880, { agentId: 'alice' });

  // C7 +700: times out after 60 s, asks for a callback; C7b calls back at 09:40, answered after 5 s.
  arrive('C7', 900, '+700')
    .e('queue.enter', 900, { queue: 'sales' })
    .e('callback.requested', 955, { queue: 'sales', number: '+700' })
    .e('queue.exit', 960, { queue: 'sales', reason: 'callback' })
    .e('call.end', 961, { endedBy: 'system' })
    .e('callback.dialled', 2400, { newContactId: 'C7b' });
  arrive('C7b', 2400, '+700', { initiation: 'callback', previousContactId: 'C7' })
    .e('queue.enter', 2400, { queue: 'sales' })
    .e('queue.connect', 2405, { queue: 'sales', agentId: 'alice' })
    .e('call.end', 2465, { endedBy: 'agent' });

  // C8 +100 at 09:45: repeat of C1 inside the window; completed in the IVR (self-service).
  arrive('C8', 2700, '+100')
    .e('ivr.step', 2702, { node: 'balance' })
    .e('ivr.end', 2730, { completedInIvr: true })
    .e('call.end', 2731, { endedBy: 'caller' });
  // C10: hangs up in the IVR without completing.
  arrive('C10', 1200, '+1000').e('ivr.step', 1201, { node: 'welcome' }).e('call.end', 1210, { endedBy: 'caller' });
  // C11 anonymous: still waiting at 10:00 (entered 09:50).
  arrive('C11', 3000, 'anonymous').e('queue.enter', 3000, { queue: 'sales' });
  return ev;
}

export const SETTINGS = {
  serviceLevelThresholdsSec: [20, 30],
  serviceLevelMode: 'abandons-ignored' as const,
  shortAbandonSec: 5,
  fcrWindowSec: 86_400,
  tzOffsetMinutes: 0,
};

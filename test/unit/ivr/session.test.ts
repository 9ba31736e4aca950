import { describe, expect, it } from 'vitest';
import { flowSet, harness } from './helpers.ts';

const MENU = `
start: welcome
nodes:
  welcome: { type: play, prompt: hello, bargeIn: true, next: menu }
  menu:
    type: menu
    prompt: menu
    choices: { "1": sales, "2": support, "9": bye }
    timeout: 4
    retries: 2
    invalidPrompt: invalid
    timeoutPrompt: noinput
    onFail: support
  sales: { type: queue, queue: sales, priority: 7, full: bye, afterCall: "survey:" }
  support: { type: queue, queue: support, skills: [{ skill: s, minLevel: 5 }] }
  bye: { type: hangup, prompt: bye, reason: done }
`;
const SURVEY = `
start: csat
nodes:
  csat: { type: survey, prompt: rate, scale: 5, retries: 1, invalidPrompt: invalid, thanksPrompt: thanks }
`;

describe('play', () => {
  it('plays prompts in order, then follows next; a play without next ends the call as completed', () => {
    const f = flowSet({
      m: `
start: a
nodes:
  a: { type: play, prompt: [hello, { text: "inline {{callerId}}" }, { file: x.wav }], next: b }
  b: { type: play, prompt: bye }
`,
    });
    const h = harness(f, 'm');
    h.s.start();
    expect(h.log).toEqual(['play:hello']);
    h.s.promptFinished();
    expect(h.actions[1]).toEqual({ type: 'play', prompt: { kind: 'tts', text: 'inline +15551234', lang: 'en' }, bargeIn: false });
    h.s.promptFinished();
    expect(h.actions[2]).toMatchObject({ type: 'play', prompt: { kind: 'file', file: '/cfg/x.wav' } });
    h.s.digit('5'); // not barge-in: ignored
    expect(h.s.state).toBe('playing');
    h.finishPrompts();
    expect(h.log.slice(-2)).toEqual(['play:bye', 'hangup:ivr-completed']);
    expect(h.s.outcome).toBe('completed');
    expect(h.ends).toEqual([{ outcome: 'completed', reason: 'ivr-completed' }]);
    expect(h.s.summary()).toBe('a > b');
  });

  it('a barge-in key stops the announcement and answers the next menu without its prompt', () => {
    const h = harness(flowSet({ main: MENU }), 'main');
    h.s.start();
    h.s.digit('1');
    expect(h.log).toEqual(['play:hello', 'stop', 'queue:sales']);
    expect(h.s.summary()).toBe('welcome > menu[1]=1 > sales');
  });

  it('type-ahead does not survive a queue: a key pressed before it cannot answer a later question', () => {
    const f = flowSet({
      m: `
start: hi
nodes:
  hi: { type: play, prompt: hello, bargeIn: true, next: q }
  q: { type: queue, queue: sales, timeout: cb }
  cb: { type: callback, prompt: cb, queue: sales, declined: bye }
  bye: { type: hangup }
`,
    });
    const h = harness(f, 'm');
    h.s.start();
    h.s.digit('1');
    expect(h.log.at(-1)).toBe('queue:sales');
    h.s.queueExit('timeout');
    expect(h.log.at(-1)).toBe('play:cb');
    expect(h.actions.some((a) => a.type === 'callback')).toBe(false);
  });
});

describe('menu', () => {
  it('routes a valid key, barging in on the menu prompt', () => {
    const h = harness(flowSet({ main: MENU }), 'main');
    h.s.start();
    h.s.promptFinished();
    expect(h.log).toEqual(['play:hello', 'play:menu']);
    h.s.digit('2');
    expect(h.log.slice(2)).toEqual(['stop', 'queue:support']);
    expect(h.actions.at(-1)).toMatchObject({ type: 'queue', queue: 'support', priority: 0, skills: [{ skill: 's', minLevel: 5 }] });
  });

  it('an invalid key plays the invalid prompt and the menu again, then a valid key routes', () => {
    const h = harness(flowSet({ main: MENU }), 'main');
    h.s.start();
    h.finishPrompts();
    h.s.digit('7');
    expect(h.log.slice(2)).toEqual(['play:invalid']);
    h.s.promptFinished();
    expect(h.log.at(-1)).toBe('play:menu');
    h.s.promptFinished();
    h.s.digit('1');
    expect(h.log.at(-1)).toBe('queue:sales');
    expect(h.s.path[1]).toMatchObject({ node: 'menu', input: '7,1', outcome: '1' });
  });

  it('times out on the injected clock, retries, then takes onFail', () => {
    const h = harness(flowSet({ main: MENU }), 'main');
    h.s.start();
    h.finishPrompts();
    h.clock.advance(3999);
    expect(h.log).toEqual(['play:hello', 'play:menu']);
    h.clock.advance(1);
    expect(h.log.slice(2)).toEqual(['play:noinput']);
    h.finishPrompts();
    h.clock.advance(4000); // second timeout (retry 2)
    h.finishPrompts();
    expect(h.log.filter((l) => l === 'play:noinput')).toHaveLength(2);
    h.clock.advance(4000); // attempts used up
    expect(h.log.at(-1)).toBe('queue:support');
    expect(h.s.path[1]).toMatchObject({ input: '-,-,-', outcome: 'failed:timeout' });
  });

  it('without onFail, exhausted retries hang up and the outcome is failed', () => {
    const f = flowSet({
      m: `
start: menu
nodes:
  menu: { type: menu, prompt: menu, choices: { "1": q }, retries: 1, timeout: 2 }
  q: { type: queue, queue: sales }
`,
    });
    const h = harness(f, 'm');
    h.s.start();
    h.finishPrompts();
    h.s.digit('5');
    h.finishPrompts();
    h.s.digit('6');
    expect(h.log.at(-1)).toBe('hangup:menu-invalid');
    expect(h.s.outcome).toBe('failed');
    expect(h.clock.pendingCount).toBe(0);
  });
});

describe('collect', () => {
  const COLLECT = `
start: pin
nodes:
  pin:
    type: collect
    prompt: pin
    into: account
    minDigits: 4
    maxDigits: 6
    pattern: "[0-9]+"
    timeout: 5
    interDigitTimeout: 2
    retries: 1
    invalidPrompt: invalid
    next: done
    onFail: fail
  done: { type: play, prompt: { text: "account {{account}}" } }
  fail: { type: hangup, reason: no-account }
`;
  it('collects until the terminator and stores the variable', () => {
    const h = harness(flowSet({ c: COLLECT }), 'c');
    h.s.start();
    for (const d of '1234#') h.s.digit(d);
    expect(h.s.vars.account).toBe('1234');
    expect(h.actions.at(-1)).toMatchObject({ type: 'play', prompt: { text: 'account 1234' } });
  });

  it('ends at maxDigits, or after the inter-digit timeout', () => {
    const h = harness(flowSet({ c: COLLECT }), 'c');
    h.s.start();
    h.s.promptFinished();
    for (const d of '123456') h.s.digit(d);
    expect(h.s.vars.account).toBe('123456');

    const h2 = harness(flowSet({ c: COLLECT }), 'c');
    h2.s.start();
    h2.s.promptFinished();
    for (const d of '98765') h2.s.digit(d);
    h2.clock.advance(1999);
    expect(h2.s.vars.account).toBeUndefined();
    h2.clock.advance(1);
    expect(h2.s.vars.account).toBe('98765');
  });

  it('rejects too-short or pattern-failing input, retries, then onFail', () => {
    const h = harness(flowSet({ c: COLLECT }), 'c');
    h.s.start();
    for (const d of '12#') h.s.digit(d);
    expect(h.log.slice(-2)).toEqual(['stop', 'play:invalid']);
    h.finishPrompts();
    for (const d of '*123#') h.s.digit(d); // '*' is kept; fails [0-9]+
    expect(h.log.at(-1)).toBe('hangup:no-account');
    expect(h.s.path[0]).toMatchObject({ input: '12,*123', outcome: 'failed:invalid' });
  });

  it('with no key at all, times out and retries', () => {
    const h = harness(flowSet({ c: COLLECT }), 'c');
    h.s.start();
    h.s.promptFinished();
    h.clock.advance(5000);
    expect(h.log.at(-1)).toBe('play:pin'); // no timeoutPrompt: the prompt again
    h.s.promptFinished();
    h.clock.advance(5000);
    expect(h.log.at(-1)).toBe('hangup:no-account');
  });
});

describe('hours', () => {
  const HOURS = `
start: h
nodes:
  h: { type: hours, calendar: biz, open: o, closed: c, holiday: x }
  o: { type: hangup, reason: open }
  c: { type: hangup, reason: closed }
  x: { type: hangup, reason: holiday }
`;
  const at = (iso: string): string => {
    const h = harness(flowSet({ h: HOURS }), 'h', {}, Date.parse(iso));
    h.s.start();
    return h.s.endReason ?? '';
  };
  it('follows the wall clock in the calendar zone across the spring DST change', () => {
    // Friday 27 March 2026: London on GMT, opens 08:00 = 08:00 UTC.
    expect(at('2026-03-27T07:30:00Z')).toBe('closed');
    expect(at('2026-03-27T08:00:00Z')).toBe('open');
    // Monday 30 March 2026: London on BST (UTC+1), opens 08:00 = 07:00 UTC.
    expect(at('2026-03-30T06:59:00Z')).toBe('closed');
    expect(at('2026-03-30T07:30:00Z')).toBe('open');
    expect(at('2026-03-30T16:59:00Z')).toBe('open');
    expect(at('2026-03-30T17:00:00Z')).toBe('closed');
  });
  it('and across the autumn change', () => {
    // Friday 23 Oct 2026 BST: closes 18:00 = 17:00 UTC; Monday 26 Oct GMT: closes 18:00 UTC.
    expect(at('2026-10-23T17:30:00Z')).toBe('closed');
    expect(at('2026-10-26T17:30:00Z')).toBe('open');
  });
  it('takes the holiday branch on a yearly holiday and honours reduced holiday hours', () => {
    expect(at('2026-12-25T10:00:00Z')).toBe('holiday');
    expect(at('2027-12-25T10:00:00Z')).toBe('holiday');
    expect(at('2026-12-24T11:00:00Z')).toBe('open');
    expect(at('2026-12-24T13:00:00Z')).toBe('holiday');
    expect(at('2026-12-26T10:00:00Z')).toBe('open'); // a Saturday, 09:00-13:00
    expect(at('2026-12-27T10:00:00Z')).toBe('closed'); // Sunday
  });
  it('uses the closed branch for holidays when no holiday branch is given', () => {
    const f = flowSet({
      h: `
start: h
nodes:
  h: { type: hours, calendar: biz, open: o, closed: c }
  o: { type: hangup, reason: open }
  c: { type: hangup, reason: closed }
`,
    });
    const h = harness(f, 'h', {}, Date.parse('2026-12-25T10:00:00Z'));
    h.s.start();
    expect(h.s.endReason).toBe('closed');
    expect(h.s.path[0]?.outcome).toBe('holiday');
  });
});

describe('set and lookup', () => {
  const LOOKUP = `
start: s
nodes:
  s: { type: set, vars: { name: "caller {{callerId}}", n: 3 }, next: l }
  l:
    type: lookup
    url: "http://127.0.0.1:1/crm?from={{callerId}}&n={{n}}"
    timeout: 2
    assign: { balance: account.balance, tier: account.tier, missing: nope.x }
    next: say
    onFailure: sorry
  say: { type: play, prompt: balance }
  sorry: { type: hangup, reason: lookup-failed }
`;
  it('sets variables, calls the injected lookup with a URL-encoded URL and assigns the result', async () => {
    const seen: string[] = [];
    const h = harness(flowSet({ l: LOOKUP }), 'l', {
      lookup: async (r) => {
        seen.push(r.url);
        return { account: { balance: 42.5, tier: 'gold' } };
      },
    });
    h.s.start();
    expect(h.s.vars.name).toBe('caller +15551234');
    expect(h.s.state).toBe('lookup');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['http://127.0.0.1:1/crm?from=%2B15551234&n=3']);
    expect(h.s.vars).toMatchObject({ balance: '42.5', tier: 'gold', missing: '' });
    expect(h.actions.at(-1)).toMatchObject({ type: 'play', prompt: { kind: 'tts', text: 'Your balance is 42.5' } });
  });

  it('takes the failure branch when the lookup rejects', async () => {
    const h = harness(flowSet({ l: LOOKUP }), 'l', { lookup: () => Promise.reject(new Error('HTTP 500')) });
    h.s.start();
    await new Promise((r) => setImmediate(r));
    expect(h.s.endReason).toBe('lookup-failed');
    expect(h.s.path[1]?.outcome).toBe('failed:HTTP 500');
  });

  it('times out a lookup that never answers, and ignores its late answer', async () => {
    let answer: (v: unknown) => void = () => {};
    const h = harness(flowSet({ l: LOOKUP }), 'l', { lookup: () => new Promise((r) => (answer = r)) });
    h.s.start();
    h.clock.advance(2000);
    expect(h.s.endReason).toBe('lookup-failed');
    answer({ account: { balance: 1 } });
    await new Promise((r) => setImmediate(r));
    expect(h.s.vars.balance).toBeUndefined();
    expect(h.log.at(-1)).toBe('hangup:lookup-failed');
  });

  it('without an injected function, waits for lookupResult()', () => {
    const h = harness(flowSet({ l: LOOKUP }), 'l');
    h.s.start();
    expect(h.log).toEqual(['lookup:http://127.0.0.1:1/crm?from=%2B15551234&n=3']);
    h.s.lookupResult({ ok: true, data: { account: { balance: 7 } } });
    expect(h.s.vars.balance).toBe('7');
  });
});

describe('queue', () => {
  it('hands the call to the ACD with priority, music on hold and the path for the screen pop', () => {
    const h = harness(flowSet({ main: MENU, survey: SURVEY }), 'main');
    h.s.start();
    h.s.digit('1');
    const q = h.actions.at(-1);
    expect(q).toMatchObject({ type: 'queue', queue: 'sales', priority: 7, musicOnHold: { kind: 'file', file: '/p/moh.wav' } });
    expect(q?.type === 'queue' && q.vars).toMatchObject({ callerId: '+15551234', ivrPath: 'welcome > menu[1]=1 > sales' });
    expect(h.s.state).toBe('queued');
    expect(h.s.outcome).toBe('queued');
  });

  it('continues at the branch named for a queue exit', () => {
    const h = harness(flowSet({ main: MENU, survey: SURVEY }), 'main');
    h.s.start();
    h.s.digit('1');
    h.s.queueExit('full');
    expect(h.log.slice(-1)).toEqual(['play:bye']);
    h.finishPrompts();
    expect(h.log.at(-1)).toBe('hangup:done');
    expect(h.s.path.at(-2)).toMatchObject({ node: 'sales', outcome: 'full' });
    // The ACD owned the call: a goodbye after the queue is not an IVR completion.
    expect(h.s.outcome).toBe('queued');
  });

  it('hangs up on an exit with no branch', () => {
    const h = harness(flowSet({ main: MENU, survey: SURVEY }), 'main');
    h.s.start();
    h.s.digit('1');
    h.s.queueExit('closed');
    expect(h.log.at(-1)).toBe('hangup:queue-closed');
    expect(h.s.outcome).toBe('queued'); // the ACD counts this call, not the IVR
  });

  it('after the agent hangs up, runs the afterCall branch (a survey in another flow)', () => {
    const h = harness(flowSet({ main: MENU, survey: SURVEY }), 'main');
    h.s.start();
    h.s.digit('1');
    h.s.connected('1001');
    expect(h.s.state).toBe('bridged');
    h.s.digit('3'); // keys during the agent call are not the IVR's
    h.s.bridgeEnded();
    expect(h.log.at(-1)).toBe('play:rate');
    h.s.digit('4');
    expect(h.log.slice(-3)).toEqual(['stop', 'survey:4', 'play:thanks']);
    h.finishPrompts();
    expect(h.log.at(-1)).toBe('hangup:survey-completed');
    expect(h.s.vars.csat).toBe('4');
    expect(h.s.outcome).toBe('queued');
    expect(h.s.summary()).toBe('welcome > menu[1]=1 > sales=answered:1001 > survey:csat[4]=score:4');
  });

  it('a caller who hangs up while queued stays a queued call, not an IVR abandon', () => {
    const h = harness(flowSet({ main: MENU, survey: SURVEY }), 'main');
    h.s.start();
    h.s.digit('2');
    h.s.hangup();
    expect(h.ends).toEqual([{ outcome: 'queued', reason: 'caller-hangup' }]);
  });
});

describe('survey', () => {
  it('rejects a key outside the scale, retries, and leaves without a score when silent', () => {
    const h = harness(flowSet({ survey: SURVEY }), 'survey');
    h.s.start();
    h.s.digit('7');
    expect(h.log.slice(-2)).toEqual(['stop', 'play:invalid']);
    h.finishPrompts();
    h.clock.advance(5000);
    expect(h.log.at(-1)).toBe('hangup:survey-completed');
    expect(h.s.vars.csat).toBeUndefined();
    expect(h.s.path[0]?.outcome).toBe('no-score');
    expect(h.s.outcome).toBe('completed');
  });
});

describe('callback, transfer, language, goto', () => {
  const CB = `
start: cb
nodes:
  cb: { type: callback, prompt: cb, queue: sales, confirmPrompt: cbok, declined: tr }
  tr: { type: transfer, number: "+4420{{dialled}}", prompt: bye }
`;
  it('books a callback to the caller when the accept key is pressed', () => {
    const h = harness(flowSet({ cb: CB }), 'cb');
    h.s.start();
    h.s.promptFinished();
    h.s.digit('1');
    expect(h.log.slice(-2)).toEqual(['callback:+15551234', 'play:cbok']);
    expect(h.actions.find((a) => a.type === 'callback')).toEqual({ type: 'callback', queue: 'sales', number: '+15551234' });
    h.finishPrompts();
    expect(h.log.at(-1)).toBe('hangup:callback-accepted');
    expect(h.s.outcome).toBe('callback');
  });

  it('a key typed ahead during the announcement before answers the callback offer at once', () => {
    const f = flowSet({
      cb: `
start: hi
nodes:
  hi: { type: play, prompt: hello, bargeIn: true, next: cb }
  cb: { type: callback, prompt: cb, queue: sales, confirmPrompt: cbok, declined: bye }
  bye: { type: hangup }
`,
    });
    const h = harness(f, 'cb');
    h.s.start();
    h.s.digit('1'); // barges into "hello": the callback node is entered with the key typed ahead
    expect(h.log.slice(-2)).toEqual(['callback:+15551234', 'play:cbok']);
    expect(h.s.summary()).toBe('hi > cb[1]=accepted');
  });

  it('declined (other key or silence) goes on; a transfer plays its prompt then transfers', () => {
    for (const act of ['key', 'timeout'] as const) {
      const h = harness(flowSet({ cb: CB }), 'cb');
      h.s.start();
      h.s.promptFinished();
      if (act === 'key') h.s.digit('2');
      else h.clock.advance(5000);
      expect(h.log.at(-1)).toBe('play:bye');
      h.s.promptFinished();
      expect(h.actions.at(-1)).toEqual({ type: 'transfer', number: '+4420100' });
      expect(h.s.outcome).toBe('transferred');
      expect(h.s.path[0]?.outcome).toBe(act === 'key' ? 'declined' : 'timeout');
    }
  });

  it('a language choice switches the prompts to that language', () => {
    const f = flowSet({
      l: `
start: lang
nodes:
  lang: { type: language, prompt: lang, choices: { "1": en, "2": es }, next: hi }
  hi: { type: play, prompt: hello }
`,
    });
    (f.prompts.hello as { languages?: unknown }).languages = { es: { file: '/p/es/hello.wav' } };
    const h = harness(f, 'l');
    h.s.start();
    h.s.digit('2');
    expect(h.s.language).toBe('es');
    expect(h.actions.at(-1)).toMatchObject({ type: 'play', prompt: { kind: 'file', file: '/p/es/hello.wav' } });

    const h2 = harness(f, 'l');
    h2.s.start();
    h2.s.promptFinished();
    h2.clock.advance(5000);
    expect(h2.s.language).toBe('en');
    expect(h2.actions.at(-1)).toMatchObject({ prompt: { file: '/p/hello.wav' } });
  });

  it('goto jumps within and across flows; an endless goto loop is cut off', () => {
    const f = flowSet({
      a: `
start: g
nodes:
  g: { type: goto, target: "b:x" }
`,
      b: `
start: x
nodes:
  x: { type: goto, target: y }
  y: { type: goto, target: "a:" }
`,
    });
    const h = harness(f, 'a');
    h.s.start();
    expect(h.s.ended).toBe(true);
    expect(h.s.endReason).toBe('ivr-loop');
    expect(h.s.path.slice(0, 3).map((p) => `${p.flow}:${p.node}`)).toEqual(['a:g', 'b:x', 'b:y']);
  });
});

describe('hang-up and robustness', () => {
  it('a caller hang-up mid-menu abandons, clears timers and silences the session', () => {
    const h = harness(flowSet({ main: MENU }), 'main');
    h.s.start();
    h.finishPrompts();
    expect(h.clock.pendingCount).toBe(1);
    h.s.hangup();
    expect(h.clock.pendingCount).toBe(0);
    expect(h.ends).toEqual([{ outcome: 'abandoned', reason: 'caller-hangup' }]);
    const n = h.actions.length;
    h.s.digit('1');
    h.s.promptFinished();
    h.s.queueExit('full');
    h.clock.advance(60_000);
    expect(h.actions.length).toBe(n);
  });

  it('ignores keys that are not DTMF and events that do not apply', () => {
    const h = harness(flowSet({ main: MENU }), 'main');
    h.s.start();
    h.finishPrompts();
    h.s.digit('A');
    h.s.digit('12');
    h.s.bridgeEnded();
    h.s.connected();
    h.s.queueExit('timeout');
    expect(h.s.state).toBe('waiting');
    h.s.digit('9');
    h.finishPrompts();
    expect(h.s.endReason).toBe('done');
  });

  it('handlers may call back into the session synchronously', () => {
    const f = flowSet({ main: MENU });
    const h = harness(f, 'main');
    h.s.on('action', (a) => {
      if (a.type === 'play') h.s.promptFinished();
    });
    h.s.start();
    expect(h.s.state).toBe('waiting');
    expect(h.log).toEqual(['play:hello', 'play:menu']);
  });

  it('refuses an unknown flow', () => {
    expect(() => harness(flowSet({ main: MENU }), 'nope')).toThrow(/unknown IVR flow "nope"/);
  });
});

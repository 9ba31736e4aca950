import { describe, expect, it } from 'vitest';
import { SipRequest, SipResponse } from '../../../server/sip/message.ts';
import { negotiateUas, parseSessionExpires, timerFromAnswer, watchdogMs } from '../../../server/sip/session-timer.ts';

const inv = (h: Record<string, string>): SipRequest => {
  const r = new SipRequest('INVITE', 'sip:a@b');
  for (const [k, v] of Object.entries(h)) r.set(k, v);
  return r;
};

describe('RFC 4028 session timers', () => {
  it('parses Session-Expires with and without refresher; rejects junk', () => {
    expect(parseSessionExpires('1800;refresher=uac')).toEqual({ seconds: 1800, refresher: 'uac' });
    expect(parseSessionExpires(' 90 ; REFRESHER = UAS')).toEqual({ seconds: 90, refresher: 'uas' });
    expect(parseSessionExpires('600')).toEqual({ seconds: 600 });
    expect(parseSessionExpires('soon')).toBeUndefined();
    expect(parseSessionExpires(undefined)).toBeUndefined();
  });

  it('UAS: 422 below Min-SE, none without timer support, caller refreshes otherwise', () => {
    expect(negotiateUas(inv({ 'Session-Expires': '60', Supported: 'timer' }))).toEqual({ kind: 'too-small' });
    expect(negotiateUas(inv({ 'Session-Expires': '1800' }))).toEqual({ kind: 'none' });
    expect(negotiateUas(inv({}))).toEqual({ kind: 'none' });
    const n = negotiateUas(inv({ 'Session-Expires': '1800;refresher=uas', Supported: 'timer' }));
    expect(n).toEqual({ kind: 'timer', seconds: 1800, headers: { 'Session-Expires': '1800;refresher=uac', Require: 'timer' } });
  });

  it('UAC: refresher from the answer; watchdog fires min(32 s, interval/3) early', () => {
    const ok = new SipResponse(200, 'OK');
    ok.set('session-expires', '1800;refresher=uas');
    expect(timerFromAnswer(ok)).toEqual({ seconds: 1800, weRefresh: false });
    ok.set('session-expires', '90;refresher=uac');
    expect(timerFromAnswer(ok)).toEqual({ seconds: 90, weRefresh: true });
    expect(timerFromAnswer(new SipResponse(200, 'OK'))).toBeUndefined();
    expect(watchdogMs(1800)).toBe(1_768_000);
    expect(watchdogMs(90)).toBe(60_000);
  });
});

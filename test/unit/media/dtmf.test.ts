import { describe, expect, it } from 'vitest';
import { DtmfDeduplicator, parseDtmfInfo } from '../../../media/mediasoup/dtmf.ts';

describe('DTMF from several sources', () => {
  it('drops the same key from a second source within the window, keeps real repeats', () => {
    const d = new DtmfDeduplicator(500);
    expect(d.accept({ digit: '5', leg: 't', source: 'rfc4733', at: 1000 })).toBe(true);
    expect(d.accept({ digit: '5', leg: 't', source: 'inband', at: 1030 })).toBe(false);
    expect(d.accept({ digit: '5', leg: 't', source: 'rfc4733', at: 1200 })).toBe(true); // pressed again
    expect(d.accept({ digit: '5', leg: 't', source: 'info', at: 1900 })).toBe(true); // outside window
    expect(d.accept({ digit: '6', leg: 't', source: 'inband', at: 1910 })).toBe(true);
    expect(d.accept({ digit: '6', leg: 'a', source: 'info', at: 1915 })).toBe(true); // other leg
  });

  it('reads SIP INFO bodies', () => {
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n')).toBe('5');
    expect(parseDtmfInfo('Application/DTMF-Relay; charset=x', 'Signal= #\r\n')).toBe('#');
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=11\r\nDuration=100')).toBe('#');
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=10')).toBe('*');
    expect(parseDtmfInfo('application/dtmf', '7')).toBe('7');
    expect(parseDtmfInfo('application/dtmf-relay', 'Duration=100')).toBeUndefined();
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=Z')).toBeUndefined();
    expect(parseDtmfInfo('text/plain', 'Signal=1')).toBeUndefined();
  });
});

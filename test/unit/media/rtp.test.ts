import { describe, expect, it } from 'vitest';
import { buildRtp, parseRtp, sequenceDiff, timestampDiff } from '../../../media/rtp/rtp.ts';
import {
  buildTelephoneEvent,
  digitToEvent,
  eventToDigit,
  parseTelephoneEvent,
  TelephoneEventReceiver,
} from '../../../media/rtp/rfc4733.ts';

describe('RTP', () => {
  it('round-trips the fixed header and payload', () => {
    const payload = Buffer.from([1, 2, 3, 4, 5]);
    const b = buildRtp({ payloadType: 8, marker: true, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload });
    const p = parseRtp(b)!;
    expect(p).toMatchObject({ payloadType: 8, marker: true, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
    expect([...p.payload]).toEqual([1, 2, 3, 4, 5]);
  });

  it('skips CSRCs and a header extension, strips padding', () => {
    const b = Buffer.from([
      0xb1,
      0x00,
      0,
      1,
      0,
      0,
      0,
      160,
      0,
      0,
      0,
      9, // V=2 P=1 X=1 CC=1
      0,
      0,
      0,
      7, // CSRC
      0xbe,
      0xde,
      0,
      1,
      0x10,
      0xaa,
      0,
      0, // one-byte extension, 1 word
      0x11,
      0x22, // payload
      0,
      0,
      3, // padding (3 bytes incl. count)
    ]);
    const p = parseRtp(b)!;
    expect([...p.payload]).toEqual([0x11, 0x22]);
    expect(p.ssrc).toBe(9);
  });

  it('rejects non-RTP: short, wrong version, muxed RTCP, lying lengths', () => {
    expect(parseRtp(Buffer.alloc(11))).toBeUndefined();
    expect(parseRtp(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(parseRtp(Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0]))).toBeUndefined();
    expect(parseRtp(Buffer.from([0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(parseRtp(Buffer.from([0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9]))).toBeUndefined();
  });

  it('does serial-number arithmetic across wrap-around', () => {
    expect(sequenceDiff(65535, 0)).toBe(1);
    expect(sequenceDiff(0, 65535)).toBe(-1);
    expect(timestampDiff(0xffffff60, 0x40)).toBe(224);
    expect(timestampDiff(0x40, 0xffffff60)).toBe(-224);
  });
});

describe('RFC 4733 telephone-event', () => {
  it('parses and builds the event payload', () => {
    const b = buildTelephoneEvent({ event: 11, end: true, volume: 10, duration: 1280 });
    expect([...b]).toEqual([11, 0x8a, 0x05, 0x00]);
    expect(parseTelephoneEvent(b)).toEqual({ event: 11, end: true, volume: 10, duration: 1280 });
    expect(parseTelephoneEvent(Buffer.alloc(3))).toBeUndefined();
    expect(eventToDigit(10)).toBe('*');
    expect(eventToDigit(11)).toBe('#');
    expect(eventToDigit(16)).toBeUndefined();
    expect(digitToEvent('a')).toBe(12);
    expect(digitToEvent('x')).toBeUndefined();
  });

  it('reports each key once despite repeats, triple end packets, loss and reordering', () => {
    const got: string[] = [];
    const rx = new TelephoneEventReceiver((d) => got.push(d));
    const send = (ts: number, event: number, end: boolean, duration: number) =>
      rx.receive(1234, ts, buildTelephoneEvent({ event, end, volume: 10, duration }));
    // '5' at ts 1000: start, continuation, three ends
    for (const [end, dur] of [
      [false, 160],
      [false, 320],
      [true, 480],
      [true, 480],
      [true, 480],
    ] as const)
      send(1000, 5, end, dur);
    // '5' again (new press, new timestamp) whose start packets were lost: only ends arrive
    send(3000, 5, true, 800);
    send(3000, 5, true, 800);
    // '#' then a late duplicate end of the previous '5' (reordered)
    send(5000, 11, false, 160);
    send(3000, 5, true, 800);
    send(5000, 11, true, 400);
    // a non-DTMF event (flash, 16) is not a digit
    send(7000, 16, false, 160);
    expect(got).toEqual(['5', '5', '#']);
  });

  it('a new SSRC starts a new stream (same timestamp is a new key)', () => {
    const got: string[] = [];
    const rx = new TelephoneEventReceiver((d) => got.push(d));
    rx.receive(1, 100, buildTelephoneEvent({ event: 1, end: false, volume: 10, duration: 160 }));
    rx.receive(2, 100, buildTelephoneEvent({ event: 2, end: false, volume: 10, duration: 160 }));
    expect(got).toEqual(['1', '2']);
  });
});

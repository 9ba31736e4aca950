/**
 * RFC 4733 telephone-events (DTMF carried as RTP named events). One key press is a run of packets
 * sharing one RTP timestamp (the event's start), repeated while the key is held and with the E bit
 * sent three times at the end; a key must be reported exactly once however many of those arrive,
 * are lost, or are reordered.
 */

const DTMF_EVENT_DIGITS = '0123456789*#ABCD';

interface TelephoneEvent {
  /** 0-9 digits, 10 '*', 11 '#', 12-15 A-D, others are tones/line events. */
  event: number;
  end: boolean;
  /** Attenuation in dBm0 (0..63), i.e. power −volume. */
  volume: number;
  /** In RTP timestamp units since the event's start. */
  duration: number;
}

export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

export function buildTelephoneEvent(e: TelephoneEvent): Buffer {
  const b = Buffer.alloc(4);
  b[0] = e.event;
  b[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  b.writeUInt16BE(e.duration & 0xffff, 2);
  return b;
}

export function eventToDigit(event: number): string | undefined {
  return DTMF_EVENT_DIGITS[event];
}

export function digitToEvent(digit: string): number | undefined {
  const i = DTMF_EVENT_DIGITS.indexOf(digit.toUpperCase());
  return i >= 0 && digit.length === 1 ? i : undefined;
}

/**
 * Turns a stream of telephone-event packets into key presses, each reported once, on the first
 * packet seen of it (so a lost start or end packet still yields the digit, promptly).
 */
export class TelephoneEventReceiver {
  /** RTP timestamps of recent events; a few are kept because end packets trail the next start. */
  private recent: number[] = [];
  private lastSsrc: number | undefined;

  constructor(private readonly onDigit: (digit: string, e: TelephoneEvent) => void) {}

  /** Feed one telephone-event RTP packet's fields. Returns the digit if this packet reported one. */
  receive(ssrc: number, timestamp: number, payload: Uint8Array): string | undefined {
    const e = parseTelephoneEvent(payload);
    if (!e) return undefined;
    if (ssrc !== this.lastSsrc) {
      this.recent = [];
      this.lastSsrc = ssrc;
    }
    if (this.recent.includes(timestamp)) return undefined;
    this.recent.push(timestamp);
    if (this.recent.length > 8) this.recent.shift();
    const digit = eventToDigit(e.event);
    if (digit === undefined) return undefined;
    this.onDigit(digit, e);
    return digit;
  }
}

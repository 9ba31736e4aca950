/**
 * Position announcements ("You are number 12 in the queue. Your expected wait is about 3
 * minutes…") composed from prompts rendered ahead, never synthesised while callers wait: the
 * words are a small fixed set (numbers as words up to 999,999, a few phrases, the callback keys),
 * spoken once by the TTS provider when the centre starts (cached on disk in dataDir/tts), and an
 * announcement is the list of those files played in a row. Synthesising each sentence on demand
 * pinned both cores with hundreds of espeak-ng processes exactly when a queue was long, and every
 * waiting caller's music broke up.
 *
 * composeAnnouncement and numberWords are pure; PositionAnnouncer renders the parts and maps an
 * announcement to its files.
 */
import type { TtsProvider } from './tts.ts';

const ONES = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** Every part an announcement can use, by id, with the text it is rendered from. */
export const ANNOUNCEMENT_PARTS: Readonly<Record<string, string>> = Object.freeze({
  'you-are-number': 'You are number',
  'in-the-queue': 'in the queue.',
  'expected-wait': 'Your expected wait is about',
  minute: 'minute.',
  minutes: 'minutes.',
  'press-for-callback': 'To be called back without losing your place, press',
  hundred: 'hundred',
  thousand: 'thousand',
  ...Object.fromEntries(ONES.map((w, i) => [`n${i}`, w])),
  ...Object.fromEntries(TENS.flatMap((w, i) => (w ? [[`n${i * 10}`, w]] : []))),
  'key-star': 'star',
  'key-hash': 'hash',
});

/** A number as part ids ("n20", "n1" for 21; "n3", "hundred", "n5" for 305), 0 ≤ n < 1,000,000. */
export function numberWords(n: number): string[] {
  if (!Number.isInteger(n) || n < 0 || n >= 1_000_000) throw new RangeError(`cannot say ${n}`);
  if (n < 20) return [`n${n}`];
  const out: string[] = [];
  const under1000 = (x: number) => {
    if (x >= 100) {
      out.push(`n${Math.floor(x / 100)}`, 'hundred');
      x %= 100;
    }
    if (x >= 20) {
      out.push(`n${Math.floor(x / 10) * 10}`);
      x %= 10;
      if (x > 0) out.push(`n${x}`);
    } else if (x > 0) out.push(`n${x}`);
  };
  if (n >= 1000) {
    under1000(Math.floor(n / 1000));
    out.push('thousand');
    n %= 1000;
  }
  under1000(n);
  return out;
}

/** A key as a part id: digits are numbers, * is "star", # is "hash". */
function keyPart(key: string): string | undefined {
  if (/^[0-9]$/.test(key)) return `n${key}`;
  if (key === '*') return 'key-star';
  if (key === '#') return 'key-hash';
  return undefined;
}

export interface Announcement {
  position: number;
  /** Expected wait in seconds (null/undefined: not said). Said in whole minutes, at least 1. */
  ewtSeconds?: number | null;
  /** The queue's callback key, offered after the position. */
  callbackKey?: string;
}

/** The part ids of a position announcement, in the order they are played. */
export function composeAnnouncement(a: Announcement): string[] {
  const position = Math.min(Math.max(1, Math.round(a.position)), 999_999);
  const parts = ['you-are-number', ...numberWords(position), 'in-the-queue'];
  if (a.ewtSeconds !== undefined && a.ewtSeconds !== null && Number.isFinite(a.ewtSeconds)) {
    const minutes = Math.min(Math.max(1, Math.round(a.ewtSeconds / 60)), 999_999);
    parts.push('expected-wait', ...numberWords(minutes), minutes === 1 ? 'minute' : 'minutes');
  }
  const key = a.callbackKey === undefined ? undefined : keyPart(a.callbackKey);
  if (key) parts.push('press-for-callback', key);
  return parts;
}

/**
 * Renders the parts ahead (prepare) and answers an announcement with its files. Until every part
 * is ready, files() answers undefined: the caller keeps hearing music rather than waiting on a
 * synthesiser.
 */
export class PositionAnnouncer {
  private readonly files_ = new Map<string, string>();
  private preparing: Promise<void> | undefined;
  private failed: string | undefined;

  constructor(
    private readonly tts: TtsProvider,
    private readonly lang = 'en',
  ) {}

  /** Render every part (the provider keeps them on disk, so a restart finds them). Idempotent. */
  prepare(): Promise<void> {
    this.preparing ??= (async () => {
      for (const [id, text] of Object.entries(ANNOUNCEMENT_PARTS)) {
        try {
          this.files_.set(id, await this.tts.render(text, this.lang));
        } catch (e) {
          this.failed = (e as Error).message;
        }
      }
    })();
    return this.preparing;
  }

  get ready(): boolean {
    return this.files_.size === Object.keys(ANNOUNCEMENT_PARTS).length;
  }

  /** Why a part could not be rendered (espeak-ng missing…), if one could not. */
  get error(): string | undefined {
    return this.failed;
  }

  /** The files of an announcement, in order; undefined while a part is not rendered yet. */
  files(a: Announcement): string[] | undefined {
    const out: string[] = [];
    for (const id of composeAnnouncement(a)) {
      const f = this.files_.get(id);
      if (f === undefined) return undefined;
      out.push(f);
    }
    return out;
  }
}

const announcers = new WeakMap<TtsProvider, PositionAnnouncer>();

/** The announcer of a TTS provider (one per provider: the centre prepares it, queues use it). */
export function announcerFor(tts: TtsProvider): PositionAnnouncer {
  let a = announcers.get(tts);
  if (!a) announcers.set(tts, (a = new PositionAnnouncer(tts)));
  return a;
}

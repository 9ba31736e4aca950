import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** A destination pino writes to; flush/flushSync when the stream has them (sonic-boom does). */
type Sink = DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void };

/** File descriptor the log goes to: 1 (stdout) for the server, 2 (stderr) once configureLog says so. */
let fd: 1 | 2 = 1;
let sink: Sink | undefined;
/**
 * On a terminal a person reads the log: one coloured line per record (pino-pretty, in-process and
 * synchronous, so nothing is lost at exit). Anywhere else (a file, a pipe, journald, a log shipper)
 * it stays JSON lines. LOG_FORMAT=json or LOG_FORMAT=pretty overrides the guess.
 */
const prettyOn = (d: 1 | 2): boolean => (process.env.LOG_FORMAT ? process.env.LOG_FORMAT === 'pretty' : isatty(d));
// Otherwise the same stream pino would make by default (sonic-boom on stdout, flushed at exit).
// Stderr is written synchronously: a command's few log lines then interleave with its errors.
const current = (): Sink =>
  (sink ??= prettyOn(fd)
    ? pretty({
        destination: fd,
        sync: true,
        colorize: isatty(fd),
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,mod',
        messageFormat: '{if mod}{mod}: {end}{msg}',
      })
    : pino.destination({ dest: fd, minLength: 0, sync: fd === 2 }));

/**
 * The root logger and every child write through this one forwarding stream, so configureLog can
 * move them all after they were created (modules take their child at import time).
 */
const forward: Sink = {
  write: (line: string) => {
    current().write(line);
  },
  flush: (cb) => {
    const s = current();
    if (s.flush) s.flush(cb);
    else cb?.();
  },
};

/**
 * The one logger. JSON lines on stdout (pino; one readable line each on a terminal), level from LOG_LEVEL. Modules take a child with
 * their name (`log.child({ mod: 'sip' })`) and put the Call-ID on every call-related line.
 */
export const log: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    base: undefined,
  },
  forward,
);

/**
 * Send the log to stderr (2) or back to stdout (1). Command-line programs call this before they
 * start work, so their stdout carries only their output (JSON, CSV) and `| jq` or `> out.csv`
 * works; the server never calls it and logs to stdout as before.
 */
export function configureLog(o: { destination: 1 | 2 }): void {
  if (o.destination === fd) return;
  const old = sink;
  fd = o.destination;
  sink = undefined;
  try {
    // Lines already handed to the old stream leave before any line takes the new one.
    old?.flushSync?.();
  } catch {
    // Nothing buffered, or the descriptor is gone: nothing to keep.
  }
}

export type { Logger };

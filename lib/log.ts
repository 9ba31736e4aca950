import { pino, type Logger } from 'pino';

/**
 * The one logger. JSON lines on stdout (pino), level from LOG_LEVEL. Modules take a child with
 * their name (`log.child({ mod: 'sip' })`) and put the Call-ID on every call-related line.
 */
export const log: Logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: undefined,
});

export type { Logger };

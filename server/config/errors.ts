/**
 * A config problem an admin can act on: which file, where in it, which setting, and what was
 * expected.
 */
export interface ConfigError {
  /** Path relative to the config directory ("ivr/main.yaml"), or "env" for environment variables. */
  file: string;
  /** 1-based; 0 when the problem has no position (a missing file, an environment variable). */
  line: number;
  column: number;
  /** Path inside the document, e.g. ["nodes", "main-menu", "choices", "1"]. */
  path: (string | number)[];
  message: string;
}

export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** `ivr/main.yaml:12:7 nodes.menu.choices.1: unknown node "x"` — the shape editors and grep know. */
export function formatError(e: ConfigError, dirLabel = ''): string {
  const where = e.line > 0 ? `${dirLabel}${e.file}:${e.line}:${e.column}` : `${dirLabel}${e.file}`;
  const p = formatPath(e.path);
  return `${where}${p ? ` ${p}` : ''}: ${e.message}`;
}

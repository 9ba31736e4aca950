/**
 * The agent REST API from the page: the session token in an Authorization header (never in a
 * URL), JSON in and out, a server's {"error"} shown as the error's message. act() wires a button
 * to an operation and shows its failure in the desk's alert line.
 */
import { $, cc } from './store.ts';

let token = '';

/** The session token, for modules that open their own authenticated requests. */
export const getToken = (): string => token;

export function setToken(t: string): void {
  token = t;
}

export async function api<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = {};
  try {
    data = text ? (JSON.parse(text) as unknown) : {};
  } catch {
    data = { error: text };
  }
  if (!res.ok) {
    const msg = (data as { error?: string }).error ?? `${res.status} ${res.statusText}`;
    throw Object.assign(new Error(msg), { status: res.status });
  }
  return data as T;
}

export function showError(where: 'login-error' | 'desk-error', e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  cc.errors.push(msg);
  $(where).textContent = msg;
}

/** Run an operation for the agent; its failure goes to the desk's alert line. */
export function run(fn: () => Promise<unknown>): void {
  $('desk-error').textContent = '';
  fn().catch((e: unknown) => showError('desk-error', e));
}

/** A button (by id) runs `fn` when clicked. */
export function act(id: string, fn: () => Promise<unknown>): void {
  $(id).addEventListener('click', () => run(fn));
}

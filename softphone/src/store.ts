/**
 * What the agent desktop knows, in one object (exposed as window.cc so people and tests can read
 * it), and one way to say it changed: every module registers a render function with onChange, and
 * changed() runs them all. Small and synchronous; no framework.
 */
import type { PhoneStatus } from './phone.ts';

/** What kind of call rings or is up: a queue's caller, a click-to-dial, a callback, a colleague consulting. */
export type CallKind = 'inbound' | 'outbound' | 'callback' | 'consult';

export interface CallInfo {
  kind: CallKind;
  caller: string;
  queue: string;
  waitedSeconds: number;
  ivrPath: string[];
  callId: string;
  /** Callback: the contact that asked for it, and which attempt this is. */
  previousCallId: string;
  attempt: number;
  /** Consult: the agent who is consulting us. */
  consultFrom: string;
  /** When ringing stops unanswered (ring-no-answer), epoch ms; 0 when the server did not say. */
  ringsUntil: number;
  /** When the conversation started, epoch ms (0 while ringing). */
  connectedAt: number;
  held: boolean;
  /** When the current hold started, epoch ms (0: not held). */
  heldSince: number;
  muted: boolean;
  /** A consult this agent started: its phase and whom it is with. */
  consult: '' | 'ringing' | 'consulting' | 'conference' | 'transferred';
  consultWith: string;
}

export interface WrapupInfo {
  contactId: string;
  queue: string;
  endsAt: number;
  extended: boolean;
  extendMax: number;
  dispositions: { code: string; label: string }[];
}

export interface DirectoryData {
  queues: { name: string; open: boolean; waiting: number; available: number; staffed: number }[];
  agents: { id: string; name: string; role: string; state: string }[];
}

export const cc = {
  agentId: '',
  state: 'logged-out' as string,
  reason: '' as string,
  registered: false,
  /** The phone's connection: connecting, online (registered), reconnecting, offline. */
  phone: 'offline' as PhoneStatus,
  /** When the next reconnection try happens (epoch ms) while reconnecting. */
  nextTryAt: 0,
  reconnects: 0,
  call: undefined as CallInfo | undefined,
  callState: 'idle' as 'idle' | 'ringing' | 'connected',
  remoteStream: undefined as MediaStream | undefined,
  wrapup: undefined as WrapupInfo | undefined,
  directory: { queues: [], agents: [] } as DirectoryData,
  /** Keys sent to the caller during this call (as the keypad shows them). */
  digits: '',
  /** Something the page is doing for the agent (consult ringing, dialling). */
  busy: '' as string,
  errors: [] as string[],
};
(window as unknown as { cc: typeof cc }).cc = cc;

const renderers: (() => void)[] = [];

export function onChange(fn: () => void): void {
  renderers.push(fn);
}

export function changed(): void {
  for (const r of renderers) {
    try {
      r();
    } catch (e) {
      console.error(e);
    }
  }
}

/** Polite announcement for screen readers (one live region for the whole desk). */
export function announce(text: string): void {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

/** m:ss, or h:mm:ss past an hour. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
}

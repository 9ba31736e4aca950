/**
 * The SIP stack's public surface for the rest of the server. Everything else in server/sip is
 * internal to the stack.
 */
export { SipStack, SipServerResponse, SipError } from './stack.ts';
export type { SipStackOptions, ListenOptions, UacOptions, RequestOptions, Credentials } from './stack.ts';
export { Dialog } from './dialog.ts';
export type { DialogState } from './dialog.ts';
export { SipRequest, SipResponse, SipMessage } from './message.ts';
export type { Source, Transport } from './message.ts';
export type { Binding, LocationStore } from './location.ts';
export { MemoryLocationStore } from './location.ts';
export type { Destination } from './transport.ts';
export { parseUri, parseNameAddr, formatUri, aorOf } from './uri.ts';
export type { SipUri, NameAddr } from './uri.ts';
export { DEFAULT_TIMERS } from './transaction.ts';
export type { Timers } from './transaction.ts';

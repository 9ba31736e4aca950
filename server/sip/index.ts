/**
 * The only way into server/sip from outside it: the SIP stack's public surface, exactly what the
 * rest of the server, the bench and the integration tests use (plus the types needed to call it).
 * Everything else in server/sip is internal to the stack; the unit tests in test/unit/sip are
 * white-box tests of those internals and import the module they test.
 */
export { SipStack } from './stack.ts';
export type { SipStackEvents, SipStackOptions, ListenOptions } from './stack.ts';
export type { UacOptions, OutOfDialogRequest } from './uac.ts';
export { OutboundRegistration } from './registration.ts';
export type { RegistrationOptions, RegistrationState, RegistrationStatus, RegistrationEvents } from './registration.ts';
export { SipServerResponse } from './server-response.ts';
export type { ServerResponseEvents } from './server-response.ts';
export { Dialog } from './dialog.ts';
export type { DialogEvents, DialogState } from './dialog.ts';
export { SipRequest, SipResponse, SipMessage, SipError, makeResponse } from './message.ts';
export type { RequestOptions, Source, Transport } from './message.ts';
export { parseMessage } from './parser.ts';
export type { Credentials, SipSecret } from './digest.ts';
export { MemoryLocationStore } from './location.ts';
export type { Binding, LocationStore } from './location.ts';
export type { Destination } from './transport.ts';
export type { Timers } from './transaction.ts';
export { SipGuard, DEFAULT_SIP_LIMITS } from './limits.ts';
export type { SipLimitOptions } from './limits.ts';
export { parseUri, parseNameAddr } from './uri.ts';
export { resolveTargets, inviteWithFailover, failsOver, orderSrv, systemResolver } from './locate.ts';
export type { TargetSpec, LocateResolver, SrvRecord, ResolveOptions, FailoverOptions, InviteClient } from './locate.ts';
export type { SipUri, NameAddr } from './uri.ts';

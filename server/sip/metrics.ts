/**
 * The `sip_` counter set served at /metrics. Module-level so several stacks in one process
 * (tests) share one registration.
 */
import { Counter, Gauge } from 'prom-client';
import { metrics } from '../../lib/metrics.ts';

export const sipMetrics = {
  received: new Counter({
    name: 'sip_messages_received_total',
    help: 'SIP messages received, by kind (request method or response class) and transport',
    labelNames: ['kind', 'transport'] as const,
    registers: [metrics],
  }),
  sent: new Counter({
    name: 'sip_messages_sent_total',
    help: 'SIP messages sent (first transmissions), by kind and transport',
    labelNames: ['kind', 'transport'] as const,
    registers: [metrics],
  }),
  retransmissions: new Counter({
    name: 'sip_retransmissions_total',
    help: 'Retransmissions sent by transaction timers (A, E, G) and 2xx retransmission',
    labelNames: ['timer'] as const,
    registers: [metrics],
  }),
  absorbed: new Counter({
    name: 'sip_retransmissions_absorbed_total',
    help: 'Retransmitted requests/responses absorbed by a transaction',
    registers: [metrics],
  }),
  malformed: new Counter({
    name: 'sip_malformed_total',
    help: 'Messages rejected by the parser',
    registers: [metrics],
  }),
  timeouts: new Counter({
    name: 'sip_transaction_timeouts_total',
    help: 'Transactions ended by timer B, F or H, or an unacknowledged 2xx',
    labelNames: ['timer'] as const,
    registers: [metrics],
  }),
  transportErrors: new Counter({
    name: 'sip_transport_errors_total',
    help: 'Sends that failed at the transport layer',
    registers: [metrics],
  }),
  dialogs: new Gauge({
    name: 'sip_dialogs',
    help: 'Dialogs currently established',
    registers: [metrics],
  }),
  transactions: new Gauge({
    name: 'sip_transactions',
    help: 'Transactions currently alive',
    labelNames: ['side'] as const,
    registers: [metrics],
  }),
  registrations: new Gauge({
    name: 'sip_registrations',
    help: 'Contacts currently bound in the location service',
    registers: [metrics],
  }),
  trunkRegistration: new Gauge({
    name: 'sip_trunk_registration_status',
    help: 'Outbound registration of each trunk with its carrier: 1 registered, 0 unregistered (not yet or stopped), -1 failed',
    labelNames: ['trunk'] as const,
    registers: [metrics],
  }),
  rateLimited: new Counter({
    name: 'sip_rate_limited_total',
    help: 'Messages refused because their source exceeded server.sip.limits.rate (dropped on UDP, 503 on reliable transports)',
    labelNames: ['transport'] as const,
    registers: [metrics],
  }),
  authLockouts: new Counter({
    name: 'sip_auth_lockouts_total',
    help: 'Lockouts begun after repeated failed digests, by scope (user = one user from one source, source = any user)',
    labelNames: ['scope'] as const,
    registers: [metrics],
  }),
  authRefused: new Counter({
    name: 'sip_auth_refused_total',
    help: 'Requests refused with 403 because their source or (user, source) was locked out',
    labelNames: ['scope'] as const,
    registers: [metrics],
  }),
  connectionsRefused: new Counter({
    name: 'sip_connections_refused_total',
    help: 'Inbound TCP/TLS/WS connections closed at once: too many from one source, or its rate exceeded',
    labelNames: ['transport', 'why'] as const,
    registers: [metrics],
  }),
};

export function kindOf(isRequest: boolean, methodOrStatus: string | number): string {
  return isRequest ? String(methodOrStatus) : `${String(methodOrStatus).slice(0, 1)}xx`;
}

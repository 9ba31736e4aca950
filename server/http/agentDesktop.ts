/**
 * The agent desktop's server side, wired in one place: the agent API (login, state, the event
 * stream with the directory and the wrap-up countdown pushed on it), call control (hold, mute,
 * DTMF, transfers, wrap-up with a disposition), the directory, "My day" and the live part of the
 * screen pop. centre.ts hands it the centre's objects; it hands back the HTTP handlers in the order
 * they must be mounted and a close() for its feeds.
 */
import type { Clock } from '../../lib/clock.ts';
import type { Acd } from '../acd/acd.ts';
import type { Call } from '../call/call.ts';
import type { CallDetailLog } from '../call/cdr.ts';
import { dispositionsOf } from '../call/wrapup.ts';
import type { CentreConfig } from '../config/load.ts';
import type { AgentSessions } from '../secrets/sessions.ts';
import type { Audit } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import { Emitter } from '../../lib/events.ts';
import { createAgentApi, type AgentDesk } from './agentApi.ts';
import type { LoginGuard } from './limits.ts';
import { createAgentDayApi } from './agentDay.ts';
import { agentCallView, createCallControlApi, WrapupClock } from './callControlApi.ts';
import type { ScreenPopLiveFn } from './customers.ts';
import { createDirectoryApi, DirectoryFeed } from './directory.ts';
import type { Handler } from './server.ts';

export interface AgentDesktopDeps {
  clock: Clock;
  acd: Acd;
  cdr: CallDetailLog;
  store: Store;
  sessions: AgentSessions;
  desk: AgentDesk;
  guard: LoginGuard;
  audit?: Audit;
  /** Calls in progress, by contact id (the centre's map). */
  calls: ReadonlyMap<string, Call>;
  /** The config in force (the watcher's current one). */
  config: () => CentreConfig;
  /** Aux codes including the system ones (disconnected, internal call). */
  auxCodes: () => readonly { code: string; label: string }[];
  /** Click-to-dial (server/call/outboundCall.ts). */
  clickToDial: (agentId: string, to: string) => Promise<object>;
}

export interface AgentDesktop {
  /** callControl and agentDay before agent: they live under the agent API's /api/v1/agent/ prefix. */
  readonly callControlApi: Handler;
  readonly directoryApi: Handler;
  readonly agentDayApi: Handler;
  readonly agentApi: Handler;
  /** The screen pop's wait (queue entry to connect) and IVR path, for a call in progress. */
  readonly screenPopLive: ScreenPopLiveFn;
  /**
   * The call changed without the agent asking (the consulted party answered or hung up): its view,
   * as GET /api/v1/agent/call answers, is pushed to the agent on it as the stream's `call` event.
   * The centre wires it as CallContext.deskChanged.
   */
  callChanged(call: Call): void;
  close(): void;
}

export function createAgentDesktop(d: AgentDesktopDeps): AgentDesktop {
  const { acd, config } = d;
  const directory = new DirectoryFeed({ acd, agents: () => config().agents });
  const wrapups = new WrapupClock(
    (q) => dispositionsOf(config().queues[q]),
    (q) => config().queues[q]?.wrapUpExtendMax ?? 0,
  );
  const onWrapupEvent = (e: Parameters<WrapupClock['onAcdEvent']>[0]): void => wrapups.onAcdEvent(e);
  const callPushes = new Emitter<{ call: [agentId: string, view: Record<string, unknown>] }>();
  acd.on('event', onWrapupEvent);
  const agentApi = createAgentApi(d.desk, {
    wsPath: '/sip',
    sessions: d.sessions,
    guard: d.guard,
    ...(d.audit ? { audit: d.audit } : {}),
    calls: { dial: d.clickToDial },
    echoTest: () => config().server.echoTest,
    reasonLabels: d.auxCodes,
    pushes: [
      { event: 'directory', initial: () => directory.current(), subscribe: (fn) => directory.onChange((x) => fn(undefined, x)) },
      { event: 'wrapup', initial: (id) => wrapups.view(id), subscribe: (fn) => wrapups.onChange(fn) },
      {
        event: 'call',
        initial: () => undefined,
        subscribe: (fn) => {
          callPushes.on('call', fn);
          return () => callPushes.off('call', fn);
        },
      },
    ],
  });
  const callControlApi = createCallControlApi({
    sessions: d.sessions,
    acd,
    cdr: d.cdr,
    calls: () => d.calls.values(),
    queues: () => config().queues,
    agents: () => config().agents,
    dispositions: (q) => dispositionsOf(config().queues[q]),
    wrapups,
    wrapUpExtendMax: (q) => config().queues[q]?.wrapUpExtendMax ?? 0,
  });
  // My day: the reports engine's figures for the agent, pushed after the agent's ACD events.
  const agentDayApi = createAgentDayApi({
    clock: d.clock,
    store: d.store,
    sessions: d.sessions,
    onAgentEvent: (listener) => {
      const on = (e: object): void => {
        if ('agentId' in e && typeof e.agentId === 'string') listener(e.agentId);
      };
      // A CSAT answer (the post-call survey, while the caller is still on the call) goes to the
      // call's agent, whose CSAT it counts in: pushed, not left to the periodic refresh.
      const onContact = (contactId: string, e: { type: string; question?: string }): void => {
        const agentId = e.type === 'survey.answer' && e.question === 'csat' ? d.calls.get(contactId)?.agentId : undefined;
        if (agentId) listener(agentId);
      };
      acd.on('event', on);
      d.cdr.written.on('contact', onContact);
      return () => {
        acd.off('event', on);
        d.cdr.written.off('contact', onContact);
      };
    },
    auxCodes: d.auxCodes,
  });
  const screenPopLive: ScreenPopLiveFn = (contactId) => {
    const c = d.calls.get(contactId);
    if (!c) return undefined;
    const a = c.agentId !== undefined ? acd.agentView(c.agentId) : undefined;
    return {
      queuedAt: c.queuedAt,
      connectedAt: a?.state === 'on-call' && a.callId === contactId ? a.since : undefined,
      ivrPath: [...(c.ivr?.session.path ?? [])],
      ivrSummary: c.ivr?.session.summary() ?? '',
    };
  };
  return {
    callControlApi,
    directoryApi: createDirectoryApi(directory, d.sessions),
    agentDayApi,
    agentApi,
    screenPopLive,
    callChanged(call) {
      const agentId = call.agent?.party;
      if (agentId !== undefined) callPushes.emit('call', agentId, agentCallView(call));
    },
    close() {
      acd.off('event', onWrapupEvent);
      directory.close();
      agentDayApi.close();
    },
  };
}

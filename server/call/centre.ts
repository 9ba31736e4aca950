/**
 * The centre: the one place where the engines and the edges are put together. It loads and
 * watches the config, opens the store (embedded or external Postgres), starts the media plane,
 * the ACD, the HTTP edge (agent desktop, REST, /metrics) and the SIP stack (UDP/TCP, and WebSocket
 * on the HTTP port), then turns each admitted trunk INVITE into a Call
 * (admission.ts, answer.ts) and hands ACD events to calls (acdDispatch.ts).
 *
 * `npm start` (server/main.ts) and the end-to-end tests both start the centre through startCentre.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { join } from 'node:path';
import { Acd } from '../acd/acd.ts';
import { instrumentAcd } from '../acd/metrics.ts';
import { SystemClock, type Clock } from '../../lib/clock.ts';
import type { CentreConfig } from '../config/load.ts';
import { kpiSettingsOf } from '../config/kpi.ts';
import { OutboundTrunks, TrunkTable } from '../config/trunks.ts';
import { ConfigWatcher } from '../config/watcher.ts';
import { createAgentDesktop } from '../http/agentDesktop.ts';
import { createSupervisorFloor } from '../http/supervisorFloor.ts';
import { createAuditApi } from '../http/audit.ts';
import { createOpenApiHandler } from '../http/openapi.ts';
import { HttpAuthGuard } from '../http/limits.ts';
import { AddressList } from '../../lib/ratelimit.ts';
import { createPlanningApi } from '../http/planning.ts';
import { createQaApi } from '../http/qa.ts';
import { QaWorker } from '../qa/worker.ts';
import { QaStore } from '../store/qa.ts';
import { createReportsApi, REPORT_ROLES } from '../http/reports.ts';
import { HttpError, sendJson, startHttp, type Handler } from '../http/server.ts';
import { httpLookup } from '../ivr/httpLookup.ts';
import { EspeakTts } from '../ivr/tts.ts';
import { announcerFor } from '../ivr/announcement.ts';
import { log as rootLog } from '../../lib/log.ts';
import { checkAgentPasswordSync } from '../secrets/passwords.ts';
import { AgentSessions } from '../secrets/sessions.ts';
import { centreCertificate, type CentreCertificate } from '../secrets/certificate.ts';
import { SipStack, type SipLimitOptions, type SipRequest, type SipSecret, type SipServerResponse } from '../sip/index.ts';
import { openStore, type Store } from '../store/store.ts';
import { PgLocationStore } from '../store/locations.ts';
import { PgCallbackStore, restoreCallbacks } from '../store/callbacks.ts';
import { MediaPlane } from '../../media/index.ts';
import { buildSoftphone } from '../../softphone/build.ts';
import { AfterCall } from '../customers/afterCall.ts';
import { afterCallHandlers } from '../http/customers.ts';
import { CentreAgentDesk, SYSTEM_AUX_DISCONNECTED } from './agentDesk.ts';
import { CallDetailLog } from './cdr.ts';
import { dispatchAcdEvents } from './acdDispatch.ts';
import { dialCallback } from './callback.ts';
import { dial } from './dial.ts';
import { InternalCalls, SYSTEM_AUX_INTERNAL } from './internalCall.ts';
import { TrunkRegistrations } from './trunkRegistrations.ts';
import { admit, type AdmissionContext } from './admission.ts';
import { answerEchoTest, isEchoTest, type EchoTestContext } from './echoTest.ts';
import { answer } from './answer.ts';
import { Call, type CallContext } from './call.ts';
import { withAgentSkills } from './transfer.ts';
import { placeOutboundCall, type OutboundCall, type OutboundCallContext } from './outboundCall.ts';

const log = rootLog.child({ mod: 'centre' });

export interface CentreOptions {
  configDir: string;
  /** Environment overrides (CC_SIP_PORT, DATABASE_URL, …); default process.env. */
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** mediasoup workers; default one per core. */
  mediaWorkers?: number;
  /** How long a browser agent whose desktop lost its connection stays logged in; default 30 s. */
  reconnectGraceMs?: number;
  /** Lifetime of an agent desktop login (token and browser SIP password); default 12 h. */
  sessionTtlMs?: number;
}

export interface Centre {
  readonly config: CentreConfig;
  readonly sip: SipStack;
  readonly media: MediaPlane;
  readonly acd: Acd;
  readonly store: Store;
  readonly http: Server;
  readonly desk: CentreAgentDesk;
  /** Calls in progress, by contact id. */
  readonly calls: ReadonlyMap<string, Call>;
  /** Calls the centre placed (click-to-dial, callbacks) in progress, by contact id. */
  readonly outboundCalls: ReadonlyMap<string, OutboundCall>;
  /** Context for placing calls through the outbound trunks (outboundCall.ts, callback.ts). */
  readonly outbound: OutboundCallContext;
  readonly urls: { http: string; sip: string; https?: string; sips?: string };
  /** The HTTPS/WSS server when server.http.tls is set. */
  readonly https?: Server;
  /** The TLS certificate in use (HTTPS, SIP TLS), with its fingerprint. */
  readonly certificate?: CentreCertificate;
  stop(): Promise<void>;
}

export async function startCentre(opts: CentreOptions): Promise<Centre> {
  const clock = opts.clock ?? new SystemClock();
  const env = opts.env ?? process.env;
  const watcher = await ConfigWatcher.start(opts.configDir, { env, clock });
  const config = watcher.current;
  const srv = config.server;
  const stoppers: (() => Promise<void>)[] = [async () => watcher.close()];
  // Idempotent: a second stop() (a test's afterAll after the test stopped it) waits for the first.
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const s of [...stoppers].reverse()) {
        try {
          await s();
        } catch (e) {
          log.warn({ err: String(e) }, 'stopping');
        }
      }
    })());

  try {
    mkdirSync(srv.recordings.dir, { recursive: true });
    const store = await openStore({
      ...(srv.database.url
        ? { url: srv.database.url }
        : { embedded: { dataDir: srv.database.dataDir, ...(srv.database.port ? { port: srv.database.port } : {}) } }),
      spoolDir: join(srv.dataDir, 'spool'),
      recordingsDir: srv.recordings.dir,
      retentionDays: srv.recordings.retentionDays,
      clock,
      kpi: kpiSettingsOf(config),
    });
    stoppers.push(() => store.close());

    const media = await MediaPlane.start({
      ...(opts.mediaWorkers ? { workers: opts.mediaWorkers } : {}),
      listenIp: srv.media.listenIp,
      ...(srv.media.announcedAddress ? { announcedAddress: srv.media.announcedAddress } : {}),
      rtcMinPort: srv.media.rtcMinPort,
      rtcMaxPort: srv.media.rtcMaxPort,
      rtpMinPort: srv.media.rtpMinPort,
      rtpMaxPort: srv.media.rtpMaxPort,
      inbandDtmf: srv.media.inbandDtmf,
      rtpTimeoutMs: srv.media.rtpTimeoutSec * 1000,
      iceConsentTimeoutSec: srv.media.iceConsentTimeoutSec,
      webrtcTcp: srv.media.webrtc.tcp,
      ...(srv.media.rtpThreads ? { rtpThreads: srv.media.rtpThreads } : {}),
      recordingsDir: srv.recordings.dir,
      clock,
    });
    stoppers.push(() => media.stop());
    // What a crash left open is closed now, the recordings repaired above (server/store/recovery.ts).
    const recovered = await store.recover().catch((e: unknown) => {
      log.error({ err: String(e) }, 'crash recovery failed; open calls stay open');
      return [];
    });

    // Each agent has a skill of its own, so a call can be transferred to one agent (transfer.ts).
    const acd = new Acd({
      clock,
      queues: { ...config.queues },
      agents: withAgentSkills(config.agents),
      auxCodes: withSystemAux(config.auxCodes),
    });
    stoppers.push(async () => acd.dispose());
    // The acd_* gauges on /metrics (queue lengths, longest wait, agents by state, service level).
    instrumentAcd(acd);
    const cdr = new CallDetailLog(store, clock, (q) => watcher.current.queues[q]?.skills[0]?.skill, store.node?.id);
    const calls = new Map<string, Call>();
    // Desktop logins: tokens and the short-lived SIP passwords browsers register with.
    const sessions = new AgentSessions(clock, opts.sessionTtlMs !== undefined ? { ttlMs: opts.sessionTtlMs } : {});
    // The stack asks the desk for passwords (only once listening); the desk asks the stack
    // whether an agent still has a registration.
    const location = store.node ? new PgLocationStore(store.pool, clock, store.node.name) : undefined;
    const sip: SipStack = new SipStack({
      clock,
      ...(location ? { location } : {}),
      log: rootLog.child({ mod: 'sip' }),
      realm: srv.sipRealm,
      guard: sipLimitsOf(config),
      // Agents register with their id (desk phones: agents.yaml's password or HA1; browsers: their
      // login session's SIP password); carriers authenticate with their trunk's username.
      credentials: (user): SipSecret | SipSecret[] | undefined => {
        const own = [desk.sipSecret(user), ...sessions.sipPasswords(user)].filter((s) => s !== undefined);
        return own.length > 0 ? own : Object.values(watcher.current.trunks).find((t) => t.username === user)?.password;
      },
    });
    const desk: CentreAgentDesk = new CentreAgentDesk(
      acd,
      config.agents,
      config.auxCodes,
      srv.sipRealm,
      async (user) => (await sip.lookup(user)).length,
      { clock, graceMs: opts.reconnectGraceMs ?? 30_000 },
    );
    stoppers.push(() => sip.close());
    sip.on('registered', (b, refresh) => desk.registered(b, refresh));
    sip.on('unregistered', (b) => void desk.unregistered(b));

    // --- Outbound calls: trunks from centre.yaml `outbound:` (call counts survive a reload). ---
    const outboundTrunks = new OutboundTrunks(config.outbound);
    const outboundCalls = new Map<string, OutboundCall>();
    const outbound: OutboundCallContext = {
      clock,
      sip,
      media,
      cdr,
      acd,
      trunks: outboundTrunks,
      recordingsDir: srv.recordings.dir,
      sipDomain: srv.sipRealm,
      // An agent on a click-to-dial call is busy to the ACD (not-ready internal-call, as on a desk
      // phone's own call) so no queue call is offered meanwhile; a callback's agent the ACD reserved.
      onStart: (c) => {
        outboundCalls.set(c.contactId, c);
        if (c.req.initiation !== 'callback') internalCalls.busy(c.req.agentId);
      },
      onEnd: (c) => {
        outboundCalls.delete(c.contactId);
        if (c.req.initiation !== 'callback') internalCalls.free(c.req.agentId);
      },
    };
    // Calls placed from agents' desk phones (another agent, an external number): the consult
    // half of a desk phone's attended transfer (internalCall.ts; REFER with Replaces in transfer.ts).
    const internalCalls = new InternalCalls({
      sip,
      media,
      acd,
      sipDomain: srv.sipRealm,
      agents: () => watcher.current.agents,
      dialCheck: (number) => void outboundTrunks.target(number),
      // The centre's own numbers (IVR) from a desk phone go to the IVR, not out through a trunk.
      inbound: (source, dialled) => trunks.trunkFor(source) !== undefined && trunks.route(source, dialled) !== undefined,
      dial: (m, number, o) => dial({ sip, trunks: outboundTrunks, log }, m, { number, agentId: o.agentId, signal: o.signal }),
    });
    stoppers.push(async () => internalCalls.close());
    // Outbound trunks that ask for it register with their carrier once SIP listens (below).
    const trunkRegistrations = new TrunkRegistrations(sip);
    // Callbacks at the head of their queue: agent first, then the customer (callback.ts), with
    // the outcome back to the ACD for its retries.
    dispatchAcdEvents(acd, calls, cdr, desk, async (e) => {
      let newContactId: string | undefined;
      const outcome = await dialCallback(outbound, {
        agentId: e.agentId,
        number: e.number,
        queue: e.queue,
        contactId: e.contactId,
        callbackId: e.callbackId,
        attempt: e.attempt,
        waitedMs: e.waitedMs,
        onPlaced: (id) => (newContactId = id),
        onEnded: () => void acd.callEnded(e.callbackId),
      });
      return { outcome, ...(newContactId ? { newContactId } : {}) };
    });

    // Callbacks and abandon-resume places are durable (issue #12, store/callbacks.ts): written as
    // the ACD moves them; the pending ones are re-queued now with their original entry time.
    const callbackStore = new PgCallbackStore(store.pool);
    acd.on('event', (e) => callbackStore.onAcdEvent(e));
    stoppers.push(() => callbackStore.flush());
    await callbackStore.adopt(recovered).catch((e: unknown) => log.error({ err: String(e) }, 'adopting logged callbacks failed'));
    await restoreCallbacks(acd, callbackStore, clock.now(), cdr).catch((e: unknown) =>
      log.error({ err: String(e) }, 'restoring callbacks failed; they stay pending in cc_callbacks'),
    );
    // Desk phones registered before a restart are logged in again (browsers re-register).
    for (const b of (await location?.restore()) ?? []) desk.registered(b);

    const clickToDial = async (agentId: string, to: string): Promise<object> => {
      const c = await placeOutboundCall(outbound, { agentId, number: to });
      return c.view();
    };
    stoppers.push(async () => {
      for (const c of [...outboundCalls.values()]) c.finish('system', 'shutdown', 'failed');
    });

    // The agent desktop is bundled at start when missing or stale, so a fresh clone just runs.
    const staticDir = await buildSoftphone();
    // Guessing limits on agent login and Basic (http/limits.ts): failures counted, 429 when locked.
    const httpGuard = new HttpAuthGuard(srv.http.limits, clock);
    const basic = httpGuard.basic((req: IncomingMessage) => authorize(req, watcher.current));
    // The agent desktop's APIs: agent, call control, directory, My day, the screen pop's live part.
    const agentDesktop = createAgentDesktop({
      clock,
      acd,
      cdr,
      store,
      sessions,
      desk,
      guard: httpGuard,
      audit: store.audit,
      calls,
      config: () => watcher.current,
      auxCodes: () => withSystemAux(watcher.current.auxCodes),
      clickToDial,
    });
    stoppers.push(async () => agentDesktop.close());
    const { agentApi, callControlApi, directoryApi, agentDayApi, screenPopLive } = agentDesktop;
    const reportsApi = createReportsApi({ store, authorize: basic, audit: store.audit });
    const auditApi = createAuditApi({ store, audit: store.audit, authorize: basic });
    const planningApi = createPlanningApi({
      store,
      authorize: basic,
      targets: () => watcher.current.targets,
      agents: () => watcher.current.agents,
    });
    // After the call (issue 19): customer file and screen pop, wrap-up records, work orders with
    // their SLA timer, knowledge cards, survey/work-order reports, webhooks (server/customers/afterCall.ts).
    // One contact's events: the QA timeline, and the screen pop of a contact whose call is gone.
    const qaStore = new QaStore(store.pool);
    const afterCall = new AfterCall({
      configDir: config.dir,
      pool: store.pool,
      clock,
      surveyEvents: (from, to) => store.surveyedEvents(from, to),
      contactEvents: (id) => qaStore.contactEvents(id),
      call: (id) => {
        const c = calls.get(id);
        return c && { ...c.view(), vars: { ...(c.ivr?.session.vars ?? {}) } };
      },
      agentCall: (agentId) => acd.agentView(agentId)?.callId,
      bearer: (req) => {
        const h = req.headers.authorization;
        const s = h?.startsWith('Bearer ') ? sessions.get(h.slice(7)) : undefined;
        return s && { id: s.agentId, role: watcher.current.agents.find((a) => a.id === s.agentId)?.role ?? 'agent', agent: true };
      },
      basic,
      endWrapUp: (agentId) => desk.endWrapUp(agentId),
      audit: store.audit,
    }).start();
    stoppers.push(() => afterCall.stop());
    watcher.on('reload', () => afterCall.reload());
    // Quality assurance (issue 18): reviewers' API and the agents' own view (GET/POST
    // /api/v1/agent/qa…, mounted before the agent API), and the analytics worker that analyses
    // each finished recording after the call, off the call path, flagging calls for review.
    const qaApi = createQaApi({
      qa: qaStore,
      store,
      config: () => watcher.current.qa,
      authorize: basic,
      sessions,
      clock,
      audit: store.audit,
    });
    const qaWorker = new QaWorker({
      qa: qaStore,
      recordingsDir: srv.recordings.dir,
      config: () => watcher.current.qa,
      clock,
      audit: store.audit,
    });
    qaWorker.start();
    stoppers.push(() => qaWorker.stop());
    // Live view of queues, agents and calls: callers' numbers, so report roles only.
    const liveApi: Handler = async (req, res) => {
      if (req.url !== '/api/v1/live') return false;
      const who = basic(req);
      if (!who) throw new HttpError(401, 'authentication required');
      if (!REPORT_ROLES.has(who.role)) throw new HttpError(403, `role ${who.role} may not read the live view`);
      sendJson(res, 200, { acd: acd.snapshot(), calls: [...calls.values()].map((c) => c.view()), trunks: trunkRegistrations.states() });
      return true;
    };
    // The supervisor floor: alerts, surge plans, wallboard, supervisor controls (issue 16).
    const bearer = (req: IncomingMessage) => {
      const h = req.headers.authorization;
      return h?.startsWith('Bearer ') ? sessions.get(h.slice(7))?.agentId : undefined;
    };
    const { floor, wallboardApi, supervisorApi } = createSupervisorFloor({
      clock,
      acd,
      store,
      config: () => watcher.current,
      calls,
      authorize: basic,
      agentOf: bearer,
      notify: (type, body) => afterCall.notify(type, body),
      onStop: (stop) => stoppers.push(stop),
    });
    watcher.on('reload', () => floor.configure());
    // The same handlers, in this order, on HTTP and HTTPS. supervisorApi first: it owns POST
    // /api/v1/agent/help, under the agent API's prefix; qaApi and callControlApi before agentApi too.
    const handlers = [
      httpGuard.gate,
      supervisorApi,
      createOpenApiHandler(),
      qaApi,
      callControlApi,
      directoryApi,
      agentDayApi,
      agentApi,
      ...afterCallHandlers(afterCall, { live: screenPopLive }),
      reportsApi,
      planningApi,
      liveApi,
      auditApi,
      wallboardApi,
    ];
    // Reverse proxies whose X-Forwarded-For names the client; rebuilt when a reload changes the list.
    let proxies = { rules: watcher.current.server.http.trustedProxies, list: new AddressList(watcher.current.server.http.trustedProxies) };
    const trustedProxies = (): AddressList => {
      const rules = watcher.current.server.http.trustedProxies;
      if (rules !== proxies.rules) proxies = { rules, list: new AddressList(rules) };
      return proxies.list;
    };
    const http = await startHttp({
      host: srv.http.host,
      port: srv.http.port,
      staticDir,
      handlers,
      trustedProxies,
    });
    stoppers.push(
      () =>
        new Promise<void>((resolve) => {
          http.closeAllConnections();
          http.close(() => resolve());
        }),
    );

    // HTTPS/WSS for agents on other machines (the microphone needs a secure context) and SIP over
    // TLS: one certificate, the admin's or a self-signed one the centre keeps in dataDir/tls.
    let https: Server | undefined;
    let certificate: CentreCertificate | undefined;
    if (srv.http.tls || srv.sip.tls) {
      const files = srv.http.tls?.certFile ? srv.http.tls : srv.sip.tls?.certFile ? srv.sip.tls : {};
      certificate = await centreCertificate({
        ...files,
        dir: join(srv.dataDir, 'tls'),
        names: [srv.http.host, srv.sip.host, srv.media.announcedAddress ?? ''],
      });
      log.info({ fingerprint: certificate.fingerprint, source: certificate.source, file: certificate.certFile }, 'TLS certificate');
    }
    if (srv.http.tls && certificate) {
      https = await startHttp({
        host: srv.http.host,
        port: srv.http.tls.port,
        staticDir,
        handlers,
        trustedProxies,
        tls: { cert: certificate.cert, key: certificate.key },
      });
      const secure = https;
      stoppers.push(
        () =>
          new Promise<void>((resolve) => {
            secure.closeAllConnections();
            secure.close(() => resolve());
          }),
      );
    }
    const sipTlsCert = srv.sip.tls?.certFile ? await centreCertificate({ ...srv.sip.tls, dir: '', names: [] }) : certificate;
    await sip.listen({
      udp: { host: srv.sip.host, port: srv.sip.udpPort },
      tcp: { host: srv.sip.host, port: srv.sip.tcpPort },
      ws: { server: http, path: '/sip' },
      ...(https ? { wss: { server: https, path: '/sip' } } : {}),
      ...(srv.sip.tls && sipTlsCert
        ? { tls: { host: srv.sip.host, port: srv.sip.tls.port, cert: sipTlsCert.cert, key: sipTlsCert.key } }
        : {}),
    });

    // Trunk registrations (centre.yaml outbound.trunks.<name>.register): refreshed, retried, reloaded.
    trunkRegistrations.configure(config.outbound);
    stoppers.push(() => trunkRegistrations.stop());
    watcher.on('reload', (next) => trunkRegistrations.configure(next.outbound));

    let trunks = new TrunkTable(config.trunks);
    const tts = new EspeakTts({ cacheDir: srv.ttsCacheDir });
    // Position announcements are composed from parts rendered now, in the background at low priority (issue #17).
    void announcerFor(tts).prepare();
    const lookup = httpLookup({ userAgent: 'callcentre' });

    watcher.on('reload', (next) => {
      trunks = new TrunkTable(next.trunks);
      outboundTrunks.configure(next.outbound);
      sip.guard?.configure(sipLimitsOf(next));
      httpGuard.configure(next.server.http.limits);
      desk.reconfigure(next.agents, next.auxCodes);
      store.configure(kpiSettingsOf(next));
      // Queues and agents change in place: waiting callers keep their places; a removed queue's
      // callers leave by its "closed" branch.
      // Skills an active surge plan lent stay lent until the plan stands down.
      const agents = floor.withSurgeSkills(withAgentSkills(next.agents));
      const r = acd.configure({ queues: { ...next.queues }, agents, auxCodes: withSystemAux(next.auxCodes) });
      if (!r.ok) log.error({ error: r.error }, 'the ACD refused the reloaded queues/agents; it keeps the previous ones');
      log.info({ version: next.version }, 'config reloaded; new calls use it');
      store.audit({ actor: 'system', action: 'config.reload', target: next.version });
    });
    watcher.on('invalid', (errors) => {
      log.error({ errors: errors.map((e) => e.message) }, 'config edit rejected; the previous version stays in force');
      store.audit({ actor: 'system', action: 'config.rejected', detail: { errors: errors.slice(0, 5).map((e) => e.message) } });
    });

    const admission: AdmissionContext = {
      get trunks() {
        return trunks;
      },
      get config() {
        return watcher.current;
      },
      sip,
      activeCalls: (trunk) => [...calls.values()].filter((c) => c.trunk === trunk).length,
    };
    const callContext: CallContext = {
      clock,
      sip,
      media,
      acd,
      cdr,
      tts,
      flows: () => watcher.flows,
      lookup,
      recordingsDir: srv.recordings.dir,
      sipDomain: srv.sipRealm,
      onEnd: (c) => calls.delete(c.contactId),
      // A browser agent's lost connection is waited for this long mid-call (legRecovery.ts).
      agentLegGraceMs: srv.media.webrtc.callGraceSec * 1000,
      transfers: { queues: () => watcher.current.queues, agents: () => watcher.current.agents },
      dialCheck: (number) => void outboundTrunks.target(number),
      // External numbers (blind transfer, consult) through the outbound trunks (dial.ts).
      dialOut: (call, number, o) =>
        dial({ sip, trunks: outboundTrunks, log }, call.media!, {
          number,
          queue: call.queue,
          agentId: call.agentId,
          contactId: call.contactId,
          ...(o.signal ? { signal: o.signal } : {}),
        }),
      // A transferred call goes on as a new contact: ACD events now name it by its new id.
      deskChanged: (c) => agentDesktop.callChanged(c),
      renumbered: (c, previous) => {
        calls.delete(previous);
        calls.set(c.contactId, c);
      },
    };
    // The agents' echo test (server.echoTest) is answered here, before trunk admission.
    const echo: EchoTestContext = {
      clock,
      sip,
      media,
      acd,
      settings: () => watcher.current.server.echoTest,
      // Busy to the ACD while the echo test runs, as on a click-to-dial call.
      busy: (a) => internalCalls.busy(a),
      free: (a) => internalCalls.free(a),
      loopAddress: srv.media.listenIp === '0.0.0.0' || srv.media.listenIp === '::' ? '127.0.0.1' : srv.media.listenIp,
    };
    /** A new INVITE: admitted (trunk, route, digest, limit), it becomes a call and is answered. */
    sip.on('invite', (req: SipRequest, res: SipServerResponse) => {
      void (async () => {
        if (isEchoTest(echo.settings(), req)) return answerEchoTest(echo, req, res);
        if (await internalCalls.invite(req, res)) return;
        const admitted = await admit(admission, req, res, log);
        if (!admitted) return;
        // The flows in force at arrival: a reload mid-call does not change this caller's IVR.
        const flows = watcher.flows;
        const call = new Call({ ...callContext, flows: () => flows }, { contactId: randomUUID(), res, ...admitted });
        calls.set(call.contactId, call);
        await answer(call, req, res);
      })().catch((e: unknown) => {
        log.error({ err: String(e), callId: req.callId }, 'INVITE handling failed');
        if (!res.finalSent) res.send(500, { reason: 'Server Internal Error' });
      });
    });

    // The media call keeps the id the call arrived with; a transferred call has a new contact id.
    media.on('callLost', (callId, reason) =>
      (calls.get(callId) ?? [...calls.values()].find((c) => c.media?.callId === callId))?.finish('system', reason),
    );
    // Stopping runs the stoppers last-first: calls in progress end first (BYE sent, call.end
    // written), while SIP, media and the store are still up.
    stoppers.push(async () => {
      const live = [...calls.values()];
      for (const c of live) c.finish('system', 'shutdown');
      // Let the BYEs leave before the transports close.
      if (live.length > 0) await new Promise((r) => setTimeout(r, 200));
    });

    const host = srv.http.host === '0.0.0.0' ? '127.0.0.1' : srv.http.host;
    const urls = {
      http: `http://${host}:${srv.http.port}/`,
      sip: `sip:${srv.sip.host}:${srv.sip.udpPort}`,
      ...(srv.http.tls ? { https: `https://${host}:${srv.http.tls.port}/` } : {}),
      ...(srv.sip.tls ? { sips: `sips:${srv.sip.host}:${srv.sip.tls.port}` } : {}),
    };
    log.info({ ...urls, config: config.dir, version: config.version }, 'centre started');
    return {
      config,
      sip,
      media,
      acd,
      store,
      http,
      desk,
      calls,
      outboundCalls,
      outbound,
      urls,
      stop,
      ...(https ? { https } : {}),
      ...(certificate ? { certificate } : {}),
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * The config's not-ready reasons plus the ones the centre sets itself: 'disconnected' while a
 * browser agent's desktop reconnects (agentDesk.ts). Agents cannot pick these from the desktop.
 */
function withSystemAux(codes: CentreConfig['auxCodes']): CentreConfig['auxCodes'][number][] {
  const system = [
    { code: SYSTEM_AUX_DISCONNECTED, label: 'Disconnected (reconnecting)' },
    { code: SYSTEM_AUX_INTERNAL, label: 'Internal or outbound call' },
  ];
  return [...codes, ...system.filter((x) => !codes.some((c) => c.code === x.code))];
}

/** server.sip.limits with every trunk's `from` added to the allow-list: carriers are never limited. */
function sipLimitsOf(config: CentreConfig): SipLimitOptions {
  const l = config.server.sip.limits;
  return { ...l, allow: [...l.allow, ...Object.values(config.trunks).flatMap((t) => t.from)] };
}

/**
 * Reports and recordings: HTTP Basic with an agent id and password; the agent's role in
 * agents.yaml decides what they may read (supervisor, qa, admin).
 */
function authorize(req: IncomingMessage, config: CentreConfig): { id: string; role: string } | undefined {
  const h = req.headers.authorization;
  if (!h?.startsWith('Basic ')) return undefined;
  const [id, ...rest] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
  const agent = config.agents.find((a) => a.id === id);
  // Unknown ids are checked against a decoy hash too: the reply time does not tell which ids exist.
  if (!checkAgentPasswordSync(agent, rest.join(':')) || !agent) return undefined;
  return { id: agent.id, role: agent.role };
}

/**
 * sip.js (the softphone's SIP library) running in Node against the stack over WebSocket, on an
 * http.Server shared with other routes: digest REGISTER, an INVITE from the agent answered by the
 * stack, and an INVITE from the stack delivered down the agent's registered WS flow (its Contact
 * host is `*.invalid`), each ended with BYE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { WebSocket } from 'ws';
import {
  Inviter,
  Registerer,
  RegistererState,
  SessionState,
  UserAgent,
  type Info,
  type Invitation,
  type Session,
  type SessionDescriptionHandler,
} from 'sip.js';
import { SipStack, type Dialog, type Binding } from '../../../server/sip/index.ts';

// sip.js expects the browser's WebSocket global; `ws` provides the same interface in Node.
(globalThis as unknown as { WebSocket: unknown }).WebSocket = WebSocket;

const PORT = 25080;
const SDP_AGENT = 'v=0\r\no=agent 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n';
const SDP_SERVER = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

/** A session description handler with canned SDP: sip.js's SIP layer without WebRTC. */
class CannedSdh implements SessionDescriptionHandler {
  remote?: string;
  close(): void {}
  getDescription(): Promise<{ body: string; contentType: string }> {
    return Promise.resolve({ body: SDP_AGENT, contentType: 'application/sdp' });
  }
  hasDescription(contentType: string): boolean {
    return contentType === 'application/sdp';
  }
  setDescription(sdp: string): Promise<void> {
    this.remote = sdp;
    return Promise.resolve();
  }
  sendDtmf(): boolean {
    return true;
  }
}

let server: http.Server;
let sip: SipStack;
let ua: UserAgent;
const serverDialogs: Dialog[] = [];

function waitFor<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      const v = fn();
      if (v !== undefined && v !== false) resolve(v);
      else if (Date.now() - t0 > ms) reject(new Error('timed out waiting'));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('page'));
  await new Promise<void>((r) => server.listen(PORT, '127.0.0.1', r));
  sip = new SipStack({ realm: 'cc.test', credentials: (u) => (u === 'agent1' ? 'secret1' : undefined) });
  await sip.listen({ ws: { server, path: '/sip' } });
  sip.on('invite', async (req, res) => {
    res.send(180);
    const d = await sip.createUAS(req, res, { localSdp: SDP_SERVER });
    serverDialogs.push(d);
  });
});

afterAll(async () => {
  await ua?.stop().catch(() => undefined);
  await sip.close();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('sip.js over WebSocket', () => {
  it('the shared http server still serves plain HTTP', async () => {
    const body = await new Promise<string>((resolve) => {
      http.get(`http://127.0.0.1:${PORT}/`, (res) => {
        let s = '';
        res.on('data', (d: Buffer) => (s += d.toString()));
        res.on('end', () => resolve(s));
      });
    });
    expect(body).toBe('page');
  });

  it('registers with digest (MD5 challenge) and is found in the location service with its WS flow', async () => {
    let wrongPasswordFailed = false;
    const bad = new UserAgent({
      uri: UserAgent.makeURI('sip:agent1@127.0.0.1'),
      transportOptions: { server: `ws://127.0.0.1:${PORT}/sip` },
      authorizationUsername: 'agent1',
      authorizationPassword: 'wrong',
      logLevel: 'error',
    });
    await bad.start();
    const badReg = new Registerer(bad);
    await badReg.register({ requestDelegate: { onReject: () => (wrongPasswordFailed = true) } });
    await waitFor(() => wrongPasswordFailed);
    await bad.stop();
    expect(await sip.lookup('agent1')).toHaveLength(0);

    ua = new UserAgent({
      uri: UserAgent.makeURI('sip:agent1@127.0.0.1'),
      transportOptions: { server: `ws://127.0.0.1:${PORT}/sip` },
      authorizationUsername: 'agent1',
      authorizationPassword: 'secret1',
      logLevel: 'error',
      sessionDescriptionHandlerFactory: () => new CannedSdh(),
    });
    await ua.start();
    const reg = new Registerer(ua, { expires: 300 });
    await reg.register();
    await waitFor(() => reg.state === RegistererState.Registered);
    const bindings = await sip.lookup('agent1');
    expect(bindings).toHaveLength(1);
    expect(bindings[0]!.source.transport).toBe('ws');
    expect(bindings[0]!.contact).toMatch(/\.invalid/);
    expect(await sip.lookup('sip:agent1@127.0.0.1')).toHaveLength(1);
  });

  it('agent calls in: INVITE over WS answered by createUAS, BYE from the agent ends the dialog', async () => {
    const inviter = new Inviter(ua, UserAgent.makeURI('sip:queue@127.0.0.1')!);
    await inviter.invite();
    await waitFor(() => inviter.state === SessionState.Established);
    const d = await waitFor(() => serverDialogs.find((x) => x.state === 'confirmed'));
    expect(d.remoteSdp).toBe(SDP_AGENT);
    const destroyed = new Promise<string>((r) => d.once('destroy', (_bye: unknown, reason: string) => r(reason)));
    await inviter.bye();
    expect(await destroyed).toBe('remote-bye');
  });

  it('the stack calls the agent down its registered WS flow; BYE from the stack ends it', async () => {
    let invitation: Invitation | undefined;
    ua.delegate = {
      onInvite: (inv: Invitation) => {
        invitation = inv;
        void inv.accept();
      },
    };
    const [b] = await sip.lookup('agent1');
    const provisional: number[] = [];
    const d = await sip.createUAC(b!.contact, {
      destination: sip.bindingDestination(b!),
      localSdp: SDP_SERVER,
      onProvisional: (r) => provisional.push(r.status),
    });
    expect(d.state).toBe('confirmed');
    expect(d.remoteSdp).toBe(SDP_AGENT);
    const inv = await waitFor(() => invitation);
    await waitFor(() => inv.state === SessionState.Established);
    // In-dialog INFO (DTMF relay) reaches the agent: sip.js hands it to the session's delegate
    // with its body and content type, and the agent's 200 comes back as the request's result.
    const received: { body: string; contentType: string | undefined }[] = [];
    inv.delegate = {
      onInfo: (info: Info) => {
        received.push({ body: info.request.body, contentType: info.request.getHeader('content-type') });
        void info.accept();
      },
    };
    const infoRes = await d.request('INFO', { body: 'Signal=5\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' });
    expect(infoRes.status).toBe(200);
    expect(received).toEqual([{ body: 'Signal=5\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' }]);
    await d.destroy();
    await waitFor(() => (inv as Session).state === SessionState.Terminated);
  });

  it('drops the binding and ends the agent calls when the WebSocket closes (no un-REGISTER)', async () => {
    expect(await sip.lookup('agent1')).toHaveLength(1);
    const inviter = new Inviter(ua, UserAgent.makeURI('sip:queue@127.0.0.1')!);
    await inviter.invite();
    await waitFor(() => inviter.state === SessionState.Established);
    const d = await waitFor(() => serverDialogs.find((x) => x.state === 'confirmed'));
    const ended = new Promise<string>((r) => d.once('destroy', (_bye: unknown, reason: string) => r(reason)));
    const unregistered = new Promise<Binding>((r) => sip.once('unregistered', r));
    await ua.transport.disconnect();
    expect(await ended).toBe('flow-closed');
    expect((await unregistered).aor).toBe('sip:agent1@127.0.0.1');
    for (let i = 0; i < 100 && (await sip.lookup('agent1')).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await sip.lookup('agent1')).toHaveLength(0);
  });
});

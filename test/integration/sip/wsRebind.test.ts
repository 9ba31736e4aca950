/**
 * A dialog whose WebSocket closed follows its browser to a new WebSocket when the browser
 * registers the same Contact again (stack.ts rebindDialogs) — but only the dialog's own party may
 * take it: another user, digest-authenticated as themselves, registering the same Contact (they
 * learned it) must not move the call onto their WebSocket. sip.js in Node is each browser, with a
 * fixed Contact (contactName + viaHost) so the two can name the same one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { WebSocket } from 'ws';
import { Registerer, RegistererState, UserAgent, type Invitation, type SessionDescriptionHandler } from 'sip.js';
import { SipStack, type Dialog } from '../../../server/sip/index.ts';
import { waitFor } from '../../support/waitFor.ts';

(globalThis as unknown as { WebSocket: unknown }).WebSocket = WebSocket;

const PORT = 13410;
const SDP_AGENT = 'v=0\r\no=agent 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n';
const SDP_SERVER = 'v=0\r\no=cc 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const SECRETS: Record<string, string> = { agent1: 'secret1', agent2: 'secret2' };

class CannedSdh implements SessionDescriptionHandler {
  close(): void {}
  getDescription(): Promise<{ body: string; contentType: string }> {
    return Promise.resolve({ body: SDP_AGENT, contentType: 'application/sdp' });
  }
  hasDescription(contentType: string): boolean {
    return contentType === 'application/sdp';
  }
  setDescription(): Promise<void> {
    return Promise.resolve();
  }
  sendDtmf(): boolean {
    return true;
  }
}

let server: http.Server;
let sip: SipStack;
const uas: UserAgent[] = [];

/** A browser of `user` whose Contact is always sip:shared@same.invalid;transport=ws. */
function browser(user: string): UserAgent {
  const ua = new UserAgent({
    uri: UserAgent.makeURI(`sip:${user}@127.0.0.1`),
    transportOptions: { server: `ws://127.0.0.1:${PORT}/sip` },
    authorizationUsername: user,
    authorizationPassword: SECRETS[user]!,
    contactName: 'shared',
    viaHost: 'same.invalid',
    logLevel: 'error',
    sessionDescriptionHandlerFactory: () => new CannedSdh(),
    delegate: { onInvite: (inv: Invitation) => void inv.accept() },
  });
  uas.push(ua);
  return ua;
}

async function registered(ua: UserAgent): Promise<void> {
  const reg = new Registerer(ua, { expires: 300 });
  await reg.register();
  await waitFor(() => reg.state === RegistererState.Registered, { timeoutMs: 5000, what: 'registered' });
}

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('page'));
  await new Promise<void>((r) => server.listen(PORT, '127.0.0.1', r));
  sip = new SipStack({ realm: 'cc.test', credentials: (u) => SECRETS[u] });
  await sip.listen({ ws: { server, path: '/sip' } });
});

afterAll(async () => {
  for (const ua of uas) await ua.stop().catch(() => undefined);
  await sip.close();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('re-binding a dialog to a new WebSocket', () => {
  it("another user's REGISTER with the same Contact does not take the call; its own user's does", async () => {
    const one = browser('agent1');
    await one.start();
    await registered(one);
    const [b] = await sip.lookup('agent1');
    expect(b!.contact).toMatch(/^<?sip:shared@same\.invalid/);
    const d: Dialog = await sip.createUAC(b!.contact, {
      destination: sip.bindingDestination(b!),
      localSdp: SDP_SERVER,
      to: '<sip:agent1@127.0.0.1>',
    });
    expect(d.state).toBe('confirmed');
    const firstFlow = d.flowId;
    expect(firstFlow).toMatch(/^ws#/);
    // The call's owner keeps the dialog through a lost WebSocket (as legRecovery.ts does).
    let lost = 0;
    const restored: string[] = [];
    d.on('flowLost', () => lost++);
    d.on('flowRestored', (flowId: string) => restored.push(flowId));

    await one.transport.disconnect();
    await waitFor(() => lost === 1, { timeoutMs: 5000, what: 'the flow lost' });
    expect(d.state).toBe('confirmed');

    // agent2, with their own valid password, registers the very same Contact: the dialog stays put.
    const two = browser('agent2');
    await two.start();
    await registered(two);
    const [b2] = await sip.lookup('agent2');
    expect(b2!.contact).toBe(b!.contact);
    await new Promise((r) => setTimeout(r, 300));
    expect(restored).toEqual([]);
    expect(d.flowId).toBe(firstFlow);
    await two.stop();
    uas.splice(uas.indexOf(two), 1);

    // agent1 comes back on a new WebSocket and registers again: now the dialog follows.
    await one.transport.connect();
    await registered(one);
    await waitFor(() => restored.length === 1, { timeoutMs: 5000, what: 'the dialog re-bound' });
    expect(d.flowId).toBe(restored[0]);
    expect(d.flowId).not.toBe(firstFlow);
    expect(d.state).toBe('confirmed');
    await d.destroy();
  });
});

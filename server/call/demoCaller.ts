/**
 * A caller for demos and tests: sipp (Debian `sip-tester`, a third-party SIP implementation)
 * dials the centre like a carrier would, presses DTMF keys as RFC 4733 events (the capture files
 * sipp ships), then speaks a tone (a generated G.711 capture) until it hangs up.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { g711Pcap } from '../../media/index.ts';

export const SIPP_PCAP_DIR = '/usr/share/sip-tester';

export interface DemoCallOptions {
  /** host:port of the centre's SIP UDP listener. */
  target: string;
  /** Dialled number (Request-URI user). */
  dialled?: string;
  caller?: string;
  /** Keys pressed after the call is answered, one per second. */
  digits?: string;
  /** Wait this long after the answer before the first key (the welcome prompt starts). */
  digitsAfterMs?: number;
  /**
   * One key pressed as soon as the 200 arrives, before the ACK (sent 300 ms later, inside T1, so
   * the 200 is not retransmitted): a caller typing ahead while the ACK is slow on its way.
   */
  keyBeforeAck?: string;
  /** The caller's voice: a tone of this frequency. */
  toneHz?: number;
  /** Hang up this long after the answer. */
  holdMs?: number;
  /** sipp's SIP and RTP ports. */
  sipPort?: number;
  mediaPort?: number;
  law?: 'PCMU' | 'PCMA';
  /** Digest credentials for a trunk that challenges (407). */
  auth?: { username: string; password: string };
  /**
   * Put the call on hold (re-INVITE a=sendonly) this long after the answer, and resume it
   * (re-INVITE a=sendrecv) `forMs` later: a carrier or customer holding, as phones do.
   */
  hold?: { afterMs: number; forMs: number };
}

export interface DemoCall {
  readonly process: ChildProcess;
  readonly mediaPort: number;
  /** Resolves with sipp's exit code (0: the call completed as scripted). */
  readonly done: Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): void;
}

const KEY_FILE: Record<string, string> = { '*': 'star', '#': 'pound' };

export function sippAvailable(): boolean {
  return spawnSync('sipp', ['-v'], { stdio: 'ignore' }).error === undefined;
}

function scenario(
  o: Required<Pick<DemoCallOptions, 'digits' | 'digitsAfterMs' | 'holdMs' | 'law' | 'caller'>> &
    Pick<DemoCallOptions, 'auth' | 'hold' | 'keyBeforeAck'>,
): string {
  const pt = o.law === 'PCMU' ? 0 : 8;
  const sdp = (direction: string): string => `      v=0
      o=caller 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP ${pt} 101
      a=rtpmap:${pt} ${o.law}/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=${direction}
`;
  const inDialog = (method: string, cseq: number, body?: string): string => `  <send retrans="500">
    <![CDATA[
      ${method} [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Demo caller" <sip:${o.caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: ${cseq} ${method === 'ACK' ? 'ACK' : method}
      Contact: <sip:${o.caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
${body ? `      Content-Type: application/sdp\n      Content-Length: [len]\n\n${body}` : '      Content-Length: 0\n'}
    ]]>
  </send>`;
  const invite = (cseq: number, extra: string): string => `  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Demo caller" <sip:${o.caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      Contact: <sip:${o.caller}@[local_ip]:[local_port]>
      Max-Forwards: 70
${extra}      Content-Type: application/sdp
      Content-Length: [len]

${sdp('sendrecv')}
    ]]>
  </send>`;
  // With a challenging trunk: INVITE, 407, ACK (inside the INVITE transaction: the 407's Via),
  // then the INVITE again with credentials and the next CSeq.
  const first = o.auth
    ? `${invite(1, '')}
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
${invite(
  2,
  `      [authentication username=${o.auth.username} password=${o.auth.password}]
`,
)}`
    : invite(1, '');
  const cseq = o.auth ? 2 : 1;
  const press = (d: string, pauseMs: number): string =>
    `  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_${KEY_FILE[d] ?? d}.pcap"/></action></nop>\n  <pause milliseconds="${pauseMs}"/>`;
  const keys = [...o.digits].map((d) => press(d, 1000));
  let talked = o.digitsAfterMs + o.digits.length * 1000;
  let next = cseq + 1;
  const hold: string[] = [];
  if (o.hold) {
    // Each re-INVITE is its own transaction: 200, then our ACK with the re-INVITE's CSeq.
    const reinvite = (direction: string): string => {
      const n = next++;
      return `${inDialog('INVITE', n, sdp(direction))}
  <recv response="100" optional="true"/>
  <recv response="200"/>
${inDialog('ACK', n).replace('retrans="500"', '')}`;
    };
    hold.push(
      `  <pause milliseconds="${Math.max(0, o.hold.afterMs - talked)}"/>`,
      reinvite('sendonly'),
      `  <pause milliseconds="${o.hold.forMs}"/>`,
      reinvite('sendrecv'),
    );
    talked = Math.max(talked, o.hold.afterMs) + o.hold.forMs;
  }
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="callcentre demo caller">
${first}
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
${o.keyBeforeAck ? press(o.keyBeforeAck, 300) : ''}
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Demo caller" <sip:${o.caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: ${cseq} ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="${o.digitsAfterMs}"/>
${keys.join('\n')}
  <nop><action><exec play_pcap_audio="pcap/voice.pcap"/></action></nop>
${hold.join('\n')}
  <pause milliseconds="${Math.max(1000, o.holdMs - talked)}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Demo caller" <sip:${o.caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: ${next} BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}

/** Start a demo call. Bounded: sipp places exactly one call and gives up after holdMs + 60 s. */
export function placeDemoCall(opts: DemoCallOptions): DemoCall {
  const o = {
    dialled: opts.dialled ?? '100',
    caller: (opts.caller ?? '15551234567').replace(/[^0-9A-Za-z+]/g, ''),
    digits: (opts.digits ?? '').replace(/[^0-9*#]/g, ''),
    ...(opts.keyBeforeAck && /^[0-9*#]$/.test(opts.keyBeforeAck) ? { keyBeforeAck: opts.keyBeforeAck } : {}),
    digitsAfterMs: opts.digitsAfterMs ?? 1500,
    toneHz: opts.toneHz ?? 1000,
    holdMs: opts.holdMs ?? 30_000,
    sipPort: opts.sipPort ?? 5070,
    mediaPort: opts.mediaPort ?? 6000,
    law: opts.law ?? 'PCMU',
    ...(opts.auth ? { auth: opts.auth } : {}),
    ...(opts.hold ? { hold: opts.hold } : {}),
  };
  const dir = mkdtempSync(join(tmpdir(), 'cc-caller-'));
  const pcapDir = join(dir, 'pcap');
  // sipp resolves play_pcap_audio paths relative to its working directory.
  spawnSync('mkdir', ['-p', pcapDir]);
  for (const d of new Set(o.digits + (o.keyBeforeAck ?? ''))) {
    const f = `dtmf_2833_${KEY_FILE[d] ?? d}.pcap`;
    if (!existsSync(join(SIPP_PCAP_DIR, f))) throw new Error(`sipp's ${f} is missing (install sip-tester)`);
    symlinkSync(join(SIPP_PCAP_DIR, f), join(pcapDir, f));
  }
  const seconds = Math.ceil(o.holdMs / 1000) + 2;
  const rate = 8000;
  const pcm = new Int16Array(rate * seconds);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * o.toneHz * i) / rate));
  writeFileSync(join(pcapDir, 'voice.pcap'), g711Pcap(pcm, o.law));
  const xml = join(dir, 'caller.xml');
  writeFileSync(xml, scenario(o));
  const args = [
    opts.target,
    '-sf',
    xml,
    '-s',
    o.dialled,
    '-i',
    '127.0.0.1',
    '-p',
    String(o.sipPort),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(o.mediaPort),
    '-m',
    '1',
    '-nostdin',
    '-timeout',
    `${Math.ceil(o.holdMs / 1000) + 60}s`,
    '-timeout_error',
    '-trace_err',
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b: Buffer) => (stdout = (stdout + b.toString()).slice(-20_000)));
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-20_000)));
  const done = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: `${stderr}\n${e.message}` }));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  return { process: child, mediaPort: o.mediaPort, done, stop: () => child.kill('SIGTERM') };
}

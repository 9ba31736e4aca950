/**
 * Just enough of a SIP UAS over UDP to let sipp place one call into a trunk leg: answers INVITE
 * with the SDP the media plane returns, acknowledges BYE. (The real SIP stack is server/sip; this
 * keeps the media test independent of it.)
 */
import dgram from 'node:dgram';

export interface UasHandlers {
  invite(sdp: string, callId: string): Promise<string>;
  bye(callId: string): void;
}

export class MiniUas {
  private readonly answers = new Map<string, string>();
  readonly errors: string[] = [];

  private constructor(
    readonly socket: dgram.Socket,
    private readonly h: UasHandlers,
  ) {
    socket.on('message', (m, from) => void this.onMessage(m.toString('utf8'), from));
  }

  static async open(port: number, h: UasHandlers): Promise<MiniUas> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(port, '127.0.0.1', r));
    return new MiniUas(s, h);
  }

  private async onMessage(msg: string, from: dgram.RemoteInfo): Promise<void> {
    const [head = '', body = ''] = msg.split(/\r\n\r\n/, 2);
    const lines = head.split('\r\n');
    const method = /^([A-Z]+) /.exec(lines[0] ?? '')?.[1];
    if (!method || lines[0]!.startsWith('SIP/')) return;
    const hdr = (name: string) => lines.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    const callId = hdr('Call-ID')[0]?.slice(8).trim() ?? '';
    const reply = (status: string, extra: string[] = [], sdp = '') => {
      const to = hdr('To')[0] ?? 'To: <sip:x@127.0.0.1>';
      const res = [
        `SIP/2.0 ${status}`,
        ...hdr('Via'),
        hdr('From')[0] ?? '',
        /;tag=/.test(to) ? to : `${to};tag=uas1`,
        hdr('Call-ID')[0] ?? '',
        hdr('CSeq')[0] ?? '',
        ...extra,
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        '',
        sdp,
      ].join('\r\n');
      this.socket.send(res, from.port, from.address);
    };
    try {
      if (method === 'INVITE') {
        let answer = this.answers.get(callId);
        if (!answer) {
          answer = await this.h.invite(body, callId);
          this.answers.set(callId, answer);
        }
        reply('200 OK', [`Contact: <sip:media@127.0.0.1:${this.socket.address().port}>`, 'Content-Type: application/sdp'], answer);
      } else if (method === 'BYE') {
        this.h.bye(callId);
        reply('200 OK');
      }
    } catch (e) {
      this.errors.push(String(e));
      reply('488 Not Acceptable Here');
    }
  }

  close(): void {
    this.socket.close();
  }
}

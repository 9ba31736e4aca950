/**
 * Behind NAT: SDP and ICE candidates carry the announced address, not the bind address; a wildcard
 * bind without one is refused at start with a clear error.
 */
import { describe, expect, it } from 'vitest';
import { MediaPlane } from '../../../media/index.ts';

describe('announced address', () => {
  it('is what the trunk answer, the desk-phone offer and the browser offer carry', async () => {
    const plane = await MediaPlane.start({
      workers: 1,
      listenIp: '127.0.0.1',
      announcedAddress: '198.51.100.10',
      rtpMinPort: 39800,
      rtpMaxPort: 39899,
      rtcMinPort: 39900,
      rtcMaxPort: 39999,
    });
    try {
      const call = await plane.createCall('nat-1');
      const trunk = await call.createTrunkLeg();
      const ans = await trunk.answer('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n');
      expect(ans).toContain('c=IN IP4 198.51.100.10');
      expect(ans).not.toContain('127.0.0.1');
      const phone = await call.createRtpLeg();
      expect(phone.offer()).toContain('c=IN IP4 198.51.100.10');
      const agent = await call.createWebRtcLeg();
      const offer = agent.offer();
      expect(offer).toMatch(/a=candidate:\S+ 1 udp \d+ 198\.51\.100\.10 \d+ typ host/);
      expect(offer).not.toContain('127.0.0.1');
      call.close();
    } finally {
      await plane.stop();
    }
  });

  it('refuses a wildcard bind without an announced address', async () => {
    await expect(MediaPlane.start({ workers: 1, listenIp: '0.0.0.0' })).rejects.toThrow(/announcedAddress/);
    await expect(MediaPlane.start({ workers: 1, rtpMinPort: 5000, rtpMaxPort: 4000 })).rejects.toThrow(/bad rtp port range/);
  });
});

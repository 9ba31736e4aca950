import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repairRecordings } from '../../../media/mediasoup/mediaPlane.ts';
import { encodeWav, wavHeader } from '../../../media/audio/wav.ts';

describe('repairRecordings (run by MediaPlane.start)', () => {
  it('fixes the headers of WAVs left open by a dead process, in subfolders too, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recdir-'));
    mkdirSync(join(dir, '2026', '01'), { recursive: true });
    const broken = join(dir, '2026', '01', 'call-1.wav');
    writeFileSync(broken, wavHeader(8000, 2, 0));
    appendFileSync(broken, Buffer.alloc(32000));
    const good = join(dir, 'call-2.wav');
    writeFileSync(good, encodeWav(8000, 2, new Int16Array(800)));
    writeFileSync(join(dir, 'notes.txt'), 'not a wav');
    writeFileSync(join(dir, 'junk.wav'), 'not a wav either, but named like one');
    expect(await repairRecordings(dir)).toEqual([broken]);
    expect(readFileSync(broken).readUInt32LE(40)).toBe(32000);
    expect(await repairRecordings(dir)).toEqual([]);
    expect(await repairRecordings(join(dir, 'missing'))).toEqual([]);
  });
});

// The recorded table checksum (stream-checksum.ts): BLAKE3 and SHA-256 give
// the published digests whatever the pieces, and the choice of algorithm for
// a restore follows what the backup recorded.

import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHECKSUM_ALGORITHM, assertMatchesRecorded, matchesRecorded, recordedAlgorithm, streamChecksum } from '../../../src/content/stream-checksum.js';

describe('streamChecksum', () => {
  it('gives the published BLAKE3 and SHA-256 digests', () => {
    const vectors: Array<[string, string, string]> = [
      ['', 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ];
    for (const [text, blake3, sha256] of vectors) {
      const b = streamChecksum('blake3');
      b.update(Buffer.from(text));
      expect(b.digest()).toBe(blake3);
      expect(b.record()).toEqual({ blake3 });
      const s = streamChecksum('sha256');
      s.update(Buffer.from(text));
      expect(s.record()).toEqual({ sha256 });
      expect(s.digest()).toBe(sha256); // digest after record: the same value, not an error
    }
    expect(CHECKSUM_ALGORITHM).toBe('blake3');
    expect(streamChecksum().algorithm).toBe('blake3');
  });

  it('does not depend on how the stream is cut into pieces', () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const whole = streamChecksum();
    whole.update(data);
    const pieces = streamChecksum();
    for (let at = 0; at < data.length; ) {
      const n = 1 + ((at * 7919) % 300_000);
      pieces.update(data.subarray(at, at + n));
      at += n;
    }
    expect(pieces.digest()).toBe(whole.digest());
    const sha = streamChecksum('sha256');
    sha.update(data.subarray(0, 5));
    sha.update(data.subarray(5));
    expect(sha.digest()).toBe(createHash('sha256').update(data).digest('hex'));
  });
});

describe('recorded checksums', () => {
  it('a restore hashes as the backup recorded: SHA-256 only for old stats that have nothing else', () => {
    expect(recordedAlgorithm({ sha256: 'a' })).toBe('sha256');
    expect(recordedAlgorithm({ blake3: 'b' })).toBe('blake3');
    expect(recordedAlgorithm({ blake3: 'b', sha256: 'a' })).toBe('blake3');
    expect(recordedAlgorithm({})).toBe('blake3');
    expect(recordedAlgorithm(undefined)).toBe('blake3');
  });

  it('matches only the recorded value; stats without a checksum do not match, no stats at all have nothing to check', () => {
    expect(matchesRecorded({ blake3: 'b' }, 'b')).toBe(true);
    expect(matchesRecorded({ blake3: 'b' }, 'c')).toBe(false);
    expect(matchesRecorded({ sha256: 'a' }, 'a')).toBe(true);
    expect(matchesRecorded({ sha256: 'a' }, 'b')).toBe(false);
    expect(matchesRecorded({ blake3: 'b', sha256: 'a' }, 'a')).toBe(false);
    expect(matchesRecorded({}, 'b')).toBe(false);
    expect(matchesRecorded(undefined, 'b')).toBe(true);
  });

  it('assertMatchesRecorded throws CORRUPT naming what did not match, and nothing on a match', () => {
    expect(() => assertMatchesRecorded({ blake3: 'b' }, 'b', 'table t')).not.toThrow();
    expect(() => assertMatchesRecorded(undefined, 'b', 'table t')).not.toThrow();
    expect(() => assertMatchesRecorded({ sha256: 'a' }, 'b', 'table t')).toThrow(
      expect.objectContaining({ code: 'CORRUPT', message: 'table t: the data does not match the checksum recorded at backup time' }),
    );
  });
});

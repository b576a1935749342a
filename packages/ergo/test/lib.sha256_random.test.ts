// The handshake's SHA-256 and random bytes without `node:crypto` (issue 64): the digest equals
// node:crypto's for every length around the block and padding boundaries, several blocks and
// non-ASCII text; the random bytes come in the length asked, are not handed out twice across pool
// refills, and the digests compare in constant time with the old results.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { secureRandomBytes } from '../src/lib/random.js';
import { sha256, toHex } from '../src/lib/sha256.js';
import { digestOf, sameDigest } from '../src/net/handshake/digest.js';

const nodeSha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('sha256 equals node:crypto for lengths 0–300, several blocks and 1 MB', () => {
  const data = new Uint8Array(1 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >>> 8)) & 0xff;
  for (let n = 0; n <= 300; n++)
    assert.equal(toHex(sha256(data.subarray(0, n))), nodeSha256(data.subarray(0, n)), `${n}`);
  for (const n of [511, 512, 513, 4095, 4096, 65_537, data.length])
    assert.equal(toHex(sha256(data.subarray(0, n))), nodeSha256(data.subarray(0, n)), `${n}`);
  assert.equal(toHex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('digestOf hashes the colon-joined UTF-8 text as node:crypto did', () => {
  const parts = ['a'.repeat(64), 'ñødé@hø', 'cookie with spaces', ''];
  assert.equal(digestOf(...parts), createHash('sha256').update(parts.join(':'), 'utf8').digest('hex'));
});

test('random bytes: the length asked, lowercase hex, none handed out twice across refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const b = secureRandomBytes(32);
    assert.equal(b.length, 32);
    const h = toHex(b);
    assert.match(h, /^[0-9a-f]{64}$/);
    assert.ok(!seen.has(h));
    seen.add(h);
  }
  assert.equal(secureRandomBytes(5000).length, 5000); // larger than a pool
  assert.equal(secureRandomBytes(0).length, 0);
});

test('sameDigest is equality, length first', () => {
  const d = digestOf('x', 'c');
  assert.ok(sameDigest(d, d.slice()));
  assert.ok(!sameDigest(d, `${d.slice(0, -1)}0` === d ? `${d.slice(0, -1)}1` : `${d.slice(0, -1)}0`));
  assert.ok(!sameDigest(d, d.slice(0, -1)));
  assert.ok(sameDigest('', ''));
});

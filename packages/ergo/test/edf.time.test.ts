// time.Time: Go's MarshalBinary layout, Date and GoTime on the way out, Date (plain) or GoTime
// (exact) on the way in, zone offsets including Go's own quirks.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EdfDecoder, EdfEncoder, GoTime } from '../src/net/index.js';
import { hex, unhex } from './edf.fixtures.js';

const enc = new EdfEncoder();
const plain = new EdfDecoder();
const exact = new EdfDecoder({ exact: true });

test('GoTime conversions', () => {
  const t = GoTime.fromDate(new Date('2024-01-02T03:04:05.678Z'));
  assert.equal(t.unixSeconds, 1704164645n);
  assert.equal(t.nanoseconds, 678_000_000);
  assert.equal(t.offsetSeconds, null);
  assert.equal(t.toDate().toISOString(), '2024-01-02T03:04:05.678Z');
  assert.equal(t.unixNano(), 1704164645678000000n);
  assert.ok(GoTime.fromUnixNano(-1n).equals(new GoTime(-1n, 999_999_999)));
  assert.ok(GoTime.zero.isZero());
  assert.equal(GoTime.zero.toString(), '0001-01-01T00:00:00Z');
  assert.equal(new GoTime(0n, 5000, 3 * 3600 + 30).toString(), '1970-01-01T03:00:30.000005+03:00:30');
  assert.equal(new GoTime(0n, 0, -5400).toString(), '1969-12-31T22:30:00-01:30');
  assert.throws(() => new GoTime(0n, 1e9), { code: 'ERR_EDF_RANGE' });
  assert.throws(() => new GoTime(0 as never), { code: 'ERR_EDF_ENCODE' });
});

test('Dates encode in UTC with millisecond precision; exact decoding keeps nanoseconds and zone', () => {
  const b = enc.encode(new Date(Date.UTC(2020, 1, 29, 23, 59, 59, 999)));
  assert.equal(b[1], 15);
  assert.deepStrictEqual(plain.decode(b), new Date(Date.UTC(2020, 1, 29, 23, 59, 59, 999)));
  const g = new GoTime(1582999999n, 123456789, -7 * 3600);
  const gb = enc.encode(g);
  assert.equal(hex(gb).slice(-4), 'fe5c', 'offset -420 minutes');
  assert.ok((exact.decode(gb) as GoTime).equals(g));
  assert.equal((plain.decode(gb) as Date).getTime(), 1582999999123);
  // A fixed zone with offset 0 is not UTC (Go tells them apart).
  assert.equal(hex(enc.encode(new GoTime(0n, 0, 0))).slice(-4), '0000');
  assert.equal((exact.decode(enc.encode(new GoTime(0n, 0, 0))) as GoTime).offsetSeconds, 0);
});

test('offsets with seconds use version 2, with Go’s arithmetic', () => {
  const b = enc.encode(new GoTime(0n, 0, 2 * 3600 + 30));
  assert.equal(b[1], 16);
  assert.equal(b[2], 2);
  assert.equal(hex(b).slice(-6), '00781e');
  // Go writes the truncated remainder as a signed byte and adds it back unsigned.
  const neg = enc.encode(new GoTime(0n, 0, -(2 * 3600 + 30)));
  assert.equal(hex(neg).slice(-6), 'ff88e2');
  assert.equal((exact.decode(neg) as GoTime).offsetSeconds, -120 * 60 + 0xe2);
  // Offsets that land on -1 minute cannot be marshaled by Go.
  assert.throws(() => enc.encode(new GoTime(0n, 0, -60)), { code: 'ERR_EDF_RANGE' });
});

test('times outside Date’s range decode as GoTime; int64 seconds round-trip exactly', () => {
  const far = new GoTime(2n ** 62n, 1, null);
  const b = enc.encode(far);
  const p = plain.decode(b);
  assert.ok(p instanceof GoTime && p.equals(far));
  assert.throws(() => enc.encode(new GoTime(2n ** 63n, 0)), { code: 'ERR_EDF_RANGE' });
  assert.throws(() => enc.encode(new Date(NaN)), { code: 'ERR_EDF_ENCODE' });
});

test('malformed time bodies', () => {
  const bad = (h: string) => assert.throws(() => plain.decode(unhex(h)), { code: 'ERR_EDF_DECODE' });
  bad('af00');
  bad('af0f030000000e7791f70000000000ffff'); // version 3
  bad('af10010000000e7791f70000000000ffff00'); // v1 with 16 bytes
  bad('af0f010000000e7791f7ffffffffffff'); // negative nanoseconds
  bad('af0f010000000e7791f73b9aca00ffff'); // 1e9 nanoseconds
  bad('af0f01000000'); // truncated
});

// Go's time.Time on the wire: a length byte then Time.MarshalBinary — version, seconds since
// 0001-01-01 UTC, nanoseconds, zone offset in minutes (-1 = UTC) and, in version 2, the
// seconds part of the offset. A JS Date holds milliseconds and no zone, so GoTime keeps the
// full value for exact round trips; plain decoding gives a Date.

import { EdfError, describe } from './errors.js';
import { GO_UNIX_EPOCH_OFFSET } from './tags.js';
import type { EdfDecoder } from './decoder.js';
import type { EdfEncoder } from './encoder.js';

const EPOCH_OFFSET_N = BigInt(GO_UNIX_EPOCH_OFFSET);
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const DATE_MAX_MS = 8.64e15;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * A Go `time.Time` with nothing lost: Unix seconds (bigint, any int64 range), nanoseconds
 * (0..999 999 999) and the zone offset in seconds east of UTC (`null` = UTC, Go's `time.UTC`;
 * `0` is a fixed zero-offset zone, which Go tells apart). The zone name never travels.
 * Immutable. Encodes as `time.Time`; exact decoding returns it.
 */
export class GoTime {
  constructor(
    readonly unixSeconds: bigint,
    readonly nanoseconds: number = 0,
    readonly offsetSeconds: number | null = null,
  ) {
    if (typeof unixSeconds !== 'bigint')
      throw new EdfError('ERR_EDF_ENCODE', `GoTime seconds must be a bigint, got ${describe(unixSeconds)}`);
    if (!Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds > 999_999_999) {
      throw new EdfError(
        'ERR_EDF_RANGE',
        `GoTime nanoseconds must be an integer in 0..999999999, got ${String(nanoseconds)}`,
      );
    }
    if (offsetSeconds !== null && (!Number.isInteger(offsetSeconds) || Math.abs(offsetSeconds) > 32768 * 60 + 255)) {
      throw new EdfError(
        'ERR_EDF_RANGE',
        `GoTime offset must be an integer number of seconds, got ${String(offsetSeconds)}`,
      );
    }
  }

  /** Go's zero time (`time.Time{}`): 0001-01-01T00:00:00Z. */
  static readonly zero = new GoTime(-EPOCH_OFFSET_N, 0, null);

  /** The instant of `date`, in UTC (or at `offsetSeconds` east of UTC). */
  static fromDate(date: Date, offsetSeconds: number | null = null): GoTime {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new EdfError('ERR_EDF_ENCODE', 'invalid Date');
    const sec = Math.floor(ms / 1000);
    return new GoTime(BigInt(sec), (ms - sec * 1000) * 1_000_000, offsetSeconds);
  }

  /** Nanoseconds since the Unix epoch. */
  static fromUnixNano(ns: bigint): GoTime {
    const s = ns / 1_000_000_000n;
    let rem = ns % 1_000_000_000n;
    let sec = s;
    if (rem < 0n) {
      rem += 1_000_000_000n;
      sec -= 1n;
    }
    return new GoTime(sec, Number(rem), null);
  }

  /** Nanoseconds since the Unix epoch. */
  unixNano(): bigint {
    return this.unixSeconds * 1_000_000_000n + BigInt(this.nanoseconds);
  }

  /** The instant as a Date (milliseconds; Invalid Date outside Date's range). */
  toDate(): Date {
    const s = Number(this.unixSeconds);
    return new Date(s * 1000 + Math.floor(this.nanoseconds / 1_000_000));
  }

  /** True for Go's zero time. */
  isZero(): boolean {
    return this.unixSeconds === -EPOCH_OFFSET_N && this.nanoseconds === 0;
  }

  /** Same instant, nanoseconds and zone offset. */
  equals(other: unknown): boolean {
    return (
      other instanceof GoTime &&
      other.unixSeconds === this.unixSeconds &&
      other.nanoseconds === this.nanoseconds &&
      other.offsetSeconds === this.offsetSeconds
    );
  }

  /** RFC 3339 with nanoseconds, in UTC (`Z`) or with the offset. */
  toString(): string {
    const off = this.offsetSeconds ?? 0;
    const local = Number(this.unixSeconds) + off;
    const d = new Date(local * 1000);
    if (Number.isNaN(d.getTime())) return `GoTime(${this.unixSeconds}s ${this.nanoseconds}ns)`;
    const iso = d.toISOString().slice(0, 19);
    const frac = this.nanoseconds === 0 ? '' : '.' + String(this.nanoseconds).padStart(9, '0').replace(/0+$/, '');
    if (this.offsetSeconds === null) return `${iso}${frac}Z`;
    const sign = off < 0 ? '-' : '+';
    const a = Math.abs(off);
    const hh = String(Math.floor(a / 3600)).padStart(2, '0');
    const mm = String(Math.floor((a % 3600) / 60)).padStart(2, '0');
    const ss = a % 60 === 0 ? '' : ':' + String(a % 60).padStart(2, '0');
    return `${iso}${frac}${sign}${hh}:${mm}${ss}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** @internal Writes the body of a time.Time from a Date, GoTime or nil (zero time). */
export function encodeTime(e: EdfEncoder, v: unknown): void {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw new EdfError('ERR_EDF_ENCODE', 'invalid Date');
    const sec = Math.floor(ms / 1000);
    e.ensure(16);
    e.u8(15);
    e.u8(1);
    e.i64n(sec + GO_UNIX_EPOCH_OFFSET);
    e.i32((ms - sec * 1000) * 1_000_000);
    e.u16(0xffff);
    return;
  }
  if (v === null || v === undefined) v = GoTime.zero;
  if (!(v instanceof GoTime))
    throw new EdfError('ERR_EDF_ENCODE', `expected time.Time (Date or GoTime), got ${describe(v)}`);
  const wire = v.unixSeconds + EPOCH_OFFSET_N;
  if (wire < I64_MIN || wire > I64_MAX)
    throw new EdfError('ERR_EDF_RANGE', 'time is outside the int64 seconds range of Go');
  let version = 1;
  let minutes = -1;
  let secPart = 0;
  const off = v.offsetSeconds;
  if (off !== null) {
    // Go truncates toward zero for both parts; offsets that land on -1 minute are refused.
    minutes = Math.trunc(off / 60);
    secPart = off % 60;
    if (minutes === -1 || minutes < -32768 || minutes > 32767) {
      throw new EdfError('ERR_EDF_RANGE', `zone offset ${off}s cannot be marshaled by Go`);
    }
    if (secPart !== 0) version = 2;
  }
  e.ensure(17);
  e.u8(version === 1 ? 15 : 16);
  e.u8(version);
  if (wire >= -BigInt(MAX_SAFE) && wire <= BigInt(MAX_SAFE)) e.i64n(Number(wire));
  else e.b64(wire, true);
  e.i32(v.nanoseconds);
  e.u16(minutes & 0xffff);
  if (version === 2) e.u8(secPart & 0xff);
}

/**
 * @internal Reads a time.Time body. Exact mode (or a value outside Date's range) gives a
 * GoTime; otherwise a Date.
 */
export function decodeTime(d: EdfDecoder): Date | GoTime {
  const n = d.u8();
  d.need(n);
  const start = d.pos;
  if (n === 0) throw d.fail('ERR_EDF_DECODE', 'time: no data');
  const version = d.u8();
  if (version !== 1 && version !== 2) {
    d.pos = start;
    throw d.fail('ERR_EDF_DECODE', `time: unsupported version ${version}`);
  }
  if (n !== (version === 1 ? 15 : 16)) {
    d.pos = start;
    throw d.fail('ERR_EDF_DECODE', `time: invalid length ${n} for version ${version}`);
  }
  const wire = d.i64();
  const nsec = d.i32();
  if (nsec < 0 || nsec > 999_999_999) {
    d.pos -= 4;
    throw d.fail('ERR_EDF_DECODE', `time: nanoseconds ${nsec} out of range`);
  }
  let offset = d.i16() * 60;
  if (version === 2) offset += d.u8(); // Go adds the byte unsigned
  const utc = offset === -60;
  if (!d.exact && utc && typeof wire === 'number') {
    const ms = (wire - GO_UNIX_EPOCH_OFFSET) * 1000 + Math.floor(nsec / 1_000_000);
    if (ms >= -DATE_MAX_MS && ms <= DATE_MAX_MS) return new Date(ms);
  }
  const unix = typeof wire === 'number' ? BigInt(wire) - EPOCH_OFFSET_N : wire - EPOCH_OFFSET_N;
  const t = new GoTime(unix, nsec, utc ? null : offset);
  if (d.exact) return t;
  const date = t.toDate();
  return Number.isNaN(date.getTime()) ? t : date;
}

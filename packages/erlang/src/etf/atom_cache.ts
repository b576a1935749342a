// The distribution header ('D', ERLANG.md §3.4) and its atom cache. Each connection direction
// has a 2048-slot table; a message's header lists the atoms it uses (new entries with their
// text, old ones by slot) and the terms refer to them by position with ATOM_CACHE_REF. The
// receiving table is updated while the header is read, before the terms are decoded, so it
// stays in step with the sender even when the message itself is later dropped.

import { EtfError } from './errors.js';
import { TermReader } from './decoder.js';
import { TermWriter, type AtomRefSink } from './encoder.js';
import { resolveEtfLimits, type EtfLimits } from './limits.js';
import { DIST_HEADER, PASS_THROUGH, VERSION } from './tags.js';
import type { ErlPid, Term } from './terms.js';

/** Number of slots of a connection's atom cache. */
export const ATOM_CACHE_SIZE = 2048;
/** Most atom cache refs one message header can carry. */
export const MAX_ATOM_CACHE_REFS = 255;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The receiving side's atom cache of one connection. */
export class AtomCacheIn {
  readonly slots: (string | undefined)[] = new Array<string | undefined>(ATOM_CACHE_SIZE).fill(undefined);
}

/**
 * The sending side's atom cache of one connection. Atoms get a slot by hash; a message marks an
 * atom new when its slot holds something else. The table changes only when a message encoded
 * with it is complete (a failed encode leaves it untouched).
 */
export class AtomCacheOut {
  readonly slots: (string | undefined)[] = new Array<string | undefined>(ATOM_CACHE_SIZE).fill(undefined);
  /** @internal The refs of the message being encoded, reused (null while one is being encoded). */
  scratch: MessageRefs | null = null;
}

/**
 * Reads a distribution header's atom cache section (from NumberOfAtomCacheRefs, just after
 * `131 68`), updating `cache`.
 * @returns the message's atom refs (index → atom text) and the offset after the header.
 * @throws EtfError `ERR_ETF_ATOM_CACHE` (unknown slot, truncated header), `ERR_ETF_ATOM_TOO_LONG`.
 */
export function decodeAtomCacheRefs(
  input: Uint8Array,
  offset: number,
  cache: AtomCacheIn,
  limits: Readonly<EtfLimits>,
): { atomRefs: string[]; end: number } {
  const r = new TermReader(input, offset, input.length, limits);
  const fail = (reason: string, at: number): EtfError => new EtfError('ERR_ETF_ATOM_CACHE', reason, at);
  try {
    const n = r.u8();
    if (n === 0) return { atomRefs: [], end: r.pos };
    const flags = r.bytes((n >> 1) + 1);
    const long = ((flags[n >> 1]! >> ((n & 1) * 4)) & 1) === 1;
    const refs = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const nib = (flags[i >> 1]! >> ((i & 1) * 4)) & 0xf;
      const at = r.pos;
      const slot = (nib & 7) * 256 + r.u8();
      if ((nib & 8) !== 0) {
        const len = long ? r.u16() : r.u8();
        let name: string;
        try {
          name = utf8.decode(r.bytes(len));
        } catch (err) {
          if (err instanceof EtfError) throw err;
          throw fail('atom cache entry is not valid UTF-8', at);
        }
        if (name.length > limits.maxAtomChars && [...name].length > limits.maxAtomChars) {
          throw new EtfError(
            'ERR_ETF_ATOM_TOO_LONG',
            `atom cache entry of ${[...name].length} characters (maxAtomChars ${limits.maxAtomChars})`,
            at,
          );
        }
        cache.slots[slot] = name;
        refs[i] = name;
      } else {
        const name = cache.slots[slot];
        if (name === undefined) throw fail(`atom cache slot ${slot} is empty`, at);
        refs[i] = name;
      }
    }
    return { atomRefs: refs, end: r.pos };
  } catch (err) {
    if (err instanceof EtfError && err.code === 'ERR_ETF_DECODE') throw fail(`header: ${err.reason}`, err.offset);
    throw err;
  }
}

/**
 * One message's use of an {@link AtomCacheOut}: collects refs while its terms are encoded. Reused
 * message after message (see {@link AtomCacheOut}): plain arrays searched linearly, since a
 * message holds few distinct atoms (at most {@link MAX_ATOM_CACHE_REFS}) — no Map per message.
 */
class MessageRefs implements AtomRefSink {
  /** Refs of the current message: `[0, count)` of the arrays (never shrunk: setting `length` is a runtime call). */
  count = 0;
  readonly names: string[] = [];
  readonly slotOf: number[] = [];
  readonly fresh: boolean[] = [];

  constructor(readonly cache: AtomCacheOut) {}

  reset(): void {
    this.count = 0;
  }

  ref(name: string): number {
    const names = this.names;
    const n = this.count;
    for (let i = 0; i < n; i++) if (names[i] === name) return i;
    // A UTF-16 unit is at most 3 bytes of UTF-8: only long names need counting.
    if (n >= MAX_ATOM_CACHE_REFS || (name.length > 0x5555 && Buffer.byteLength(name, 'utf8') > 0xffff)) return -1;
    const slot = atomSlot(name);
    // The slot as this message leaves it so far: its last ref to that slot, else the table.
    let current = this.cache.slots[slot];
    for (let i = n - 1; i >= 0; i--) {
      if (this.slotOf[i] === slot) {
        current = names[i];
        break;
      }
    }
    names[n] = name;
    this.slotOf[n] = slot;
    this.fresh[n] = current !== name;
    this.count = n + 1;
    return n;
  }

  /** Updates the table (refs in order: the last one to a slot wins). */
  commit(): void {
    const slots = this.cache.slots;
    for (let i = 0; i < this.count; i++) slots[this.slotOf[i]!] = this.names[i];
  }
}

/** The cache slot of an atom: FNV-1a of its UTF-16 units, folded to 0..2047. */
function atomSlot(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % ATOM_CACHE_SIZE;
}

/** Options of {@link encodeDistMessage}. */
export interface EncodeDistOptions {
  limits?: Partial<EtfLimits>;
  /** The connection's outgoing atom cache; without it the header carries no refs (N = 0). */
  cache?: AtomCacheOut;
}

/**
 * Encodes a normal distribution message: `131 68 header Control [Payload]` (the 4-byte packet
 * length is the connection's business).
 * @throws EtfError `ERR_ETF_ENCODE` or a limit code; the cache is then left unchanged.
 */
export function encodeDistMessage(control: Term, payload: Term | undefined, options?: EncodeDistOptions): Buffer {
  const limits = resolveEtfLimits(options?.limits);
  const cache = options?.cache;
  let refs: MessageRefs | undefined;
  if (cache !== undefined) {
    // Taken while in use, so a nested encode (none today) would get its own.
    refs = cache.scratch ?? new MessageRefs(cache);
    cache.scratch = null;
    refs.reset();
  }
  try {
    return encodeWith(control, payload, limits, refs);
  } finally {
    if (cache !== undefined) cache.scratch = refs!;
  }
}

function encodeWith(
  control: Term,
  payload: Term | undefined,
  limits: Readonly<EtfLimits>,
  refs: MessageRefs | undefined,
): Buffer {
  const body = new TermWriter(limits, refs);
  body.term(control, 0);
  if (payload !== undefined) body.term(payload, 0);
  const terms = body.result();
  const n = refs === undefined ? 0 : refs.count;
  if (n === 0) {
    const out = Buffer.allocUnsafe(3 + terms.length);
    out[0] = VERSION;
    out[1] = DIST_HEADER;
    out[2] = 0;
    terms.copy(out, 3);
    return checked(out, limits, refs);
  }
  const r = refs!;
  // Only the atoms the peer does not have yet travel as text (the others are slot numbers).
  const texts: (Buffer | undefined)[] = new Array<Buffer | undefined>(n);
  let long = false;
  let textBytes = 0;
  for (let i = 0; i < n; i++) {
    if (!r.fresh[i]) continue;
    const t = Buffer.from(r.names[i]!, 'utf8');
    texts[i] = t;
    textBytes += t.length;
    if (t.length > 255) long = true;
  }
  // 131 68 N, the flags (a nibble per ref, one more for the long-atoms flag), a byte per ref,
  // then each fresh atom's length (1 or 2 bytes) and text.
  const flagBytes = (n >> 1) + 1;
  let size = 3 + flagBytes + n + textBytes;
  for (let i = 0; i < n; i++) if (texts[i] !== undefined) size += long ? 2 : 1;
  const out = Buffer.allocUnsafe(size + terms.length);
  out[0] = VERSION;
  out[1] = DIST_HEADER;
  out[2] = n;
  for (let i = 3; i < 3 + flagBytes; i++) out[i] = 0;
  for (let i = 0; i < n; i++) {
    const nib = (r.fresh[i] ? 8 : 0) | (r.slotOf[i]! >> 8);
    out[3 + (i >> 1)]! |= nib << ((i & 1) * 4);
  }
  if (long) out[3 + (n >> 1)]! |= 1 << ((n & 1) * 4);
  let o = 3 + flagBytes;
  for (let i = 0; i < n; i++) {
    out[o++] = r.slotOf[i]! & 0xff;
    const t = texts[i];
    if (t === undefined) continue;
    if (long) {
      out.writeUInt16BE(t.length, o);
      o += 2;
    } else out[o++] = t.length;
    t.copy(out, o);
    o += t.length;
  }
  terms.copy(out, o);
  return checked(out, limits, refs);
}

/** The size check, then the cache update (a message that fails leaves the cache unchanged). */
function checked(out: Buffer, limits: Readonly<EtfLimits>, refs: MessageRefs | undefined): Buffer {
  if (out.length > limits.maxMessageSize) {
    throw new EtfError(
      'ERR_ETF_MESSAGE_TOO_LARGE',
      `distribution message of ${out.length} bytes (maxMessageSize ${limits.maxMessageSize})`,
    );
  }
  refs?.commit();
  return out;
}

/** A decoded distribution message. */
export interface DistMessage {
  control: Term;
  /** The payload term (message, reason…) when the control op has one. */
  payload: Term | undefined;
}

/** Options of {@link decodeDistMessage}. */
export interface DecodeDistOptions {
  limits?: Partial<EtfLimits>;
  /** What pids in the control message and payload become (default: ErlPid). */
  mapPid?: (p: ErlPid) => Term;
}

/**
 * Decodes one distribution packet (4-byte length already stripped): a normal message
 * `131 68 header Control [Payload]`, or a pass-through one `112 131 Control [131 Payload]`.
 * Fragments (`131 69/70`) are reassembled by the connection first, then passed here as `'D'`.
 * @throws EtfError `ERR_ETF_DECODE`, `ERR_ETF_ATOM_CACHE` or a limit code.
 */
export function decodeDistMessage(input: Uint8Array, cache: AtomCacheIn, options?: DecodeDistOptions): DistMessage {
  const limits = resolveEtfLimits(options?.limits);
  if (input.length > limits.maxMessageSize) {
    throw new EtfError(
      'ERR_ETF_MESSAGE_TOO_LARGE',
      `packet of ${input.length} bytes (maxMessageSize ${limits.maxMessageSize})`,
    );
  }
  if (input.length >= 2 && input[0] === PASS_THROUGH && input[1] === VERSION) {
    const r = new TermReader(input, 2, input.length, limits);
    r.mapPid = options?.mapPid;
    const control = r.term(0);
    if (r.pos === input.length) return { control, payload: undefined };
    if (input[r.pos] !== VERSION)
      throw new EtfError('ERR_ETF_DECODE', 'pass-through payload without its version byte', r.pos);
    r.pos++;
    const payload = r.term(0);
    if (r.pos !== input.length)
      throw new EtfError('ERR_ETF_DECODE', `${input.length - r.pos} bytes after the payload`, r.pos);
    return { control, payload };
  }
  if (input.length < 3 || input[0] !== VERSION || input[1] !== DIST_HEADER) {
    throw new EtfError('ERR_ETF_DECODE', 'not a distribution message (expected 131 68 or 112 131)', 0);
  }
  const { atomRefs, end } = decodeAtomCacheRefs(input, 2, cache, limits);
  const r = new TermReader(input, end, input.length, limits, atomRefs);
  r.mapPid = options?.mapPid;
  const control = r.term(0);
  if (r.pos === input.length) return { control, payload: undefined };
  const payload = r.term(0);
  if (r.pos !== input.length)
    throw new EtfError('ERR_ETF_DECODE', `${input.length - r.pos} bytes after the payload`, r.pos);
  return { control, payload };
}

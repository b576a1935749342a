// One-call encode/decode and the "simulate remote" round trip. They reuse one encoder and one
// decoder per registry (falling back to fresh ones if re-entered from a callback), so a local
// message can be pushed through EDF on every send without allocating codec state.

import { defaultRegistry } from './default.js';
import { EdfDecoder, type EdfDecodeOptions } from './decoder.js';
import { EdfEncoder, type EdfEncodeOptions } from './encoder.js';
import type { EdfRegistry } from './registry.js';

interface Pair {
  enc: EdfEncoder;
  dec: EdfDecoder;
  encBusy: boolean;
  decBusy: boolean;
}

const shared = new WeakMap<EdfRegistry, Pair>();

function pair(registry: EdfRegistry): Pair {
  let p = shared.get(registry);
  if (p === undefined) {
    p = { enc: new EdfEncoder({ registry }), dec: new EdfDecoder({ registry }), encBusy: false, decBusy: false };
    shared.set(registry, p);
  }
  return p;
}

function plainOptions(o: object | undefined): boolean {
  if (o === undefined) return true;
  for (const k of Object.keys(o)) if (k !== 'registry' && (o as Record<string, unknown>)[k] !== undefined) return false;
  return true;
}

/**
 * Encodes `value` as one EDF message (a fresh Uint8Array). With caches, mapping or limits in
 * `options` a new encoder is built per call; hold an {@link EdfEncoder} per connection instead.
 * @throws EdfError (see {@link EdfEncoder.encode}).
 */
export function encode(value: unknown, options?: EdfEncodeOptions): Uint8Array {
  if (!plainOptions(options)) return new EdfEncoder(options).encode(value);
  const p = pair(options?.registry ?? defaultRegistry);
  if (p.encBusy) return new EdfEncoder(options).encode(value);
  p.encBusy = true;
  try {
    return p.enc.encode(value);
  } finally {
    p.encBusy = false;
  }
}

/**
 * Decodes one EDF message (trailing bytes are ignored, as Ergo does).
 * @throws EdfError (see {@link EdfDecoder.decode}).
 */
export function decode(bytes: Uint8Array, options?: EdfDecodeOptions): unknown {
  if (!plainOptions(options)) return new EdfDecoder(options).decode(bytes);
  const p = pair(options?.registry ?? defaultRegistry);
  if (p.decBusy) return new EdfDecoder(options).decode(bytes);
  p.decBusy = true;
  try {
    return p.dec.decode(bytes);
  } finally {
    p.decBusy = false;
  }
}

/**
 * "Simulate remote": encodes `value` and decodes it again with the default registry (or
 * `registry`), no caches, plain mode — what a process on another node would receive. Plain
 * objects come back as Maps, atoms as strings, int64 beyond 2^53 as bigint, named registered
 * types without a class as Typed, and so on (see docs/edf.md).
 * @throws EdfError if `value` cannot be encoded (the message names the offending field).
 */
export function roundTrip(value: unknown, registry: EdfRegistry = defaultRegistry): unknown {
  const p = pair(registry);
  if (p.encBusy || p.decBusy)
    return new EdfDecoder({ registry }).decode(new EdfEncoder({ registry }).encodeView(value));
  p.encBusy = p.decBusy = true;
  try {
    return p.dec.decode(p.enc.encodeView(value));
  } finally {
    p.encBusy = p.decBusy = false;
  }
}

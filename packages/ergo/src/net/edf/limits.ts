// Limits of the codec. The protocol fixes some maxima (atom 255 bytes, string 65535, error text
// 32767, binary 2^32-1); a node may lower them, and adds its own bounds on message size, nesting
// depth and zero-size elements so that hostile input cannot exhaust memory or the stack.

import { EdfError } from './errors.js';
import type { EdfLimits } from './limit_options.js';

export type { EdfLimits } from './limit_options.js';

/** The defaults of {@link EdfLimits}. Frozen. */
export const DEFAULT_LIMITS: Readonly<EdfLimits> = Object.freeze({
  maxMessageSize: 64 * 1024 * 1024,
  maxDepth: 100,
  maxAtomBytes: 255,
  maxStringBytes: 65535,
  maxErrorBytes: 32767,
  maxBinaryBytes: 0xffffffff,
  maxZeroSizeElements: 65536,
});

const PROTOCOL_MAX: Readonly<EdfLimits> = Object.freeze({
  maxMessageSize: 0xffffffff,
  maxDepth: 10000,
  maxAtomBytes: 255,
  maxStringBytes: 65535,
  maxErrorBytes: 32767,
  maxBinaryBytes: 0xffffffff,
  maxZeroSizeElements: 0xffffffff,
});

/**
 * Merges `partial` over the defaults and validates it.
 * @throws EdfError `ERR_EDF_ENCODE` if a value is not a non-negative integer or exceeds what the
 *   protocol can carry (e.g. `maxAtomBytes` above 255).
 */
export function resolveLimits(partial?: Partial<EdfLimits>): Readonly<EdfLimits> {
  if (partial === undefined) return DEFAULT_LIMITS;
  const out = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(partial) as (keyof EdfLimits)[]) {
    const v = partial[k];
    if (v === undefined) continue;
    if (!(k in DEFAULT_LIMITS)) throw new EdfError('ERR_EDF_ENCODE', `unknown limit option ${String(k)}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > PROTOCOL_MAX[k]) {
      throw new EdfError('ERR_EDF_ENCODE', `limit ${k} must be an integer in 0..${PROTOCOL_MAX[k]}, got ${String(v)}`);
    }
    out[k] = v;
  }
  return Object.freeze(out);
}

// Limits of the ETF codec. Decoding never trusts a length: every count is checked against the
// bytes left (each element costs at least one byte) and against these options, so hostile input
// cannot claim memory out of proportion to its size. The defaults accept what OTP itself sends
// (issue 18: deep iolists, big bignums, messages over 128 MiB) while keeping memory bounded.

import { EtfError, type EtfLimitName } from './errors.js';

/** Limits applied by the encoder and decoder; each has a default and its own error code. */
export interface EtfLimits {
  /** Largest input a decoder accepts and largest output an encoder produces, in bytes. Default 1 GiB. Code `ERR_ETF_MESSAGE_TOO_LARGE`. */
  maxMessageSize: number;
  /**
   * Deepest nesting of tuples, lists, maps and funs. Default 100000 (OTP has no limit): in
   * practice the JavaScript stack ends nesting first (about 1800 levels with node's default
   * stack), which fails with the same code, never a RangeError. Code `ERR_ETF_TOO_DEEP`.
   */
  maxDepth: number;
  /** Longest atom in characters (code points). Default and protocol maximum 255. Code `ERR_ETF_ATOM_TOO_LONG`. */
  maxAtomChars: number;
  /** Longest binary or bit string in bytes. Default 1 GiB. Code `ERR_ETF_BINARY_TOO_LONG`. */
  maxBinaryBytes: number;
  /** Largest big integer magnitude in bytes. Default 4 MiB: OTP 25's own limit (2^25 bits). Code `ERR_ETF_BIG_TOO_LARGE`. */
  maxBigBytes: number;
  /** Largest inflated size of a compressed term (tag 80). Default 1 GiB. Code `ERR_ETF_DECOMPRESSED_TOO_LARGE`. */
  maxDecompressedBytes: number;
}

// The error's limit names are exactly these options (a compile error here when they drift apart).
const SAME_NAMES: [EtfLimitName] extends [keyof EtfLimits]
  ? [keyof EtfLimits] extends [EtfLimitName]
    ? true
    : never
  : never = true;
void SAME_NAMES;

/** The defaults of {@link EtfLimits}. Frozen. */
export const DEFAULT_ETF_LIMITS: Readonly<EtfLimits> = Object.freeze({
  maxMessageSize: 1024 * 1024 * 1024,
  maxDepth: 100000,
  maxAtomChars: 255,
  maxBinaryBytes: 1024 * 1024 * 1024,
  maxBigBytes: 4 * 1024 * 1024,
  maxDecompressedBytes: 1024 * 1024 * 1024,
});

const MAXIMA: Readonly<EtfLimits> = Object.freeze({
  maxMessageSize: 0xffffffff,
  maxDepth: 100000,
  maxAtomChars: 255,
  maxBinaryBytes: 0xffffffff,
  maxBigBytes: 0xffffffff,
  maxDecompressedBytes: 0xffffffff,
});

/**
 * Merges `partial` over the defaults.
 * @throws EtfError `ERR_ETF_ENCODE` for an unknown option or a value that is not an integer in range.
 */
export function resolveEtfLimits(partial?: Partial<EtfLimits>): Readonly<EtfLimits> {
  if (partial === undefined) return DEFAULT_ETF_LIMITS;
  // already resolved (a connection passes its own on every message): no copy, no checks
  if (RESOLVED.has(partial)) return partial as Readonly<EtfLimits>;
  const out = { ...DEFAULT_ETF_LIMITS };
  for (const k of Object.keys(partial) as (keyof EtfLimits)[]) {
    const v = partial[k];
    if (v === undefined) continue;
    if (!(k in MAXIMA)) throw new EtfError('ERR_ETF_ENCODE', `unknown limit option ${String(k)}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAXIMA[k]) {
      throw new EtfError('ERR_ETF_ENCODE', `limit ${k} must be an integer in 0..${MAXIMA[k]}, got ${String(v)}`);
    }
    out[k] = v;
  }
  const done = Object.freeze(out);
  RESOLVED.add(done);
  return done;
}

/** Results of {@link resolveEtfLimits} (frozen, so they stay valid). */
const RESOLVED = new WeakSet<object>([DEFAULT_ETF_LIMITS]);

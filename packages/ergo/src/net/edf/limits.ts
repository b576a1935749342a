// Limits of the codec. The protocol fixes some maxima (atom 255 bytes, string 65535, error text
// 32767, binary 2^32-1); a node may lower them, and adds its own bounds on message size, nesting
// depth and zero-size elements so that hostile input cannot exhaust memory or the stack.

import { EdfError } from './errors.js';

/**
 * Limits applied by encoders and decoders. Every field has a documented default
 * ({@link DEFAULT_LIMITS}) and its own error code when exceeded.
 */
export interface EdfLimits {
  /**
   * Largest encoded message, and largest input a decoder accepts, in bytes.
   * Default 64 MiB; at most 2^32-1. Code `ERR_EDF_MESSAGE_TOO_LARGE`.
   */
  maxMessageSize: number;
  /**
   * Deepest nesting of containers, structs, `any` values and type descriptors. Bounds recursion
   * so that a cyclic value or a hostile input cannot overflow the stack. Default 100.
   * Code `ERR_EDF_TOO_DEEP`.
   */
  maxDepth: number;
  /** Longest atom in UTF-8 bytes. Default and protocol maximum 255. Code `ERR_EDF_ATOM_TOO_LONG`. */
  maxAtomBytes: number;
  /** Longest string in UTF-8 bytes. Default and protocol maximum 65535. Code `ERR_EDF_STRING_TOO_LONG`. */
  maxStringBytes: number;
  /** Longest error text in UTF-8 bytes. Default and protocol maximum 32767. Code `ERR_EDF_ERROR_TOO_LONG`. */
  maxErrorBytes: number;
  /** Longest binary in bytes. Default and protocol maximum 2^32-1. Code `ERR_EDF_BINARY_TOO_LONG`. */
  maxBinaryBytes: number;
  /**
   * Decode only: how many elements whose wire size is zero (empty structs, zero-length arrays)
   * one message may produce. Every other element costs at least one input byte, so this bounds
   * the memory a message can claim relative to its size. Default 65536.
   * Code `ERR_EDF_ZERO_SIZE_ELEMENTS`.
   */
  maxZeroSizeElements: number;
}

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

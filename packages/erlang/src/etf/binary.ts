// The term_to_binary / binary_to_term envelope: the 131 version byte, optionally followed by a
// zlib-compressed term (tag 80, `UncompressedSize(4)` + zlib stream). Inflation is bounded by the
// announced size and by maxDecompressedBytes, so a small input cannot expand without limit.

import { deflateSync, inflateSync } from 'node:zlib';
import { EtfError } from './errors.js';
import { TermReader } from './decoder.js';
import { TermWriter } from './encoder.js';
import { resolveEtfLimits, type EtfLimits } from './limits.js';
import { COMPRESSED, VERSION } from './tags.js';
import type { Term } from './terms.js';

/** Options of {@link termToBinary}. */
export interface TermToBinaryOptions {
  /**
   * Compress like `term_to_binary(T, [compressed])`: `true` = zlib level 6, or a level 0..9.
   * As in OTP, the compressed form is kept only when it is smaller. Default: not compressed.
   */
  compressed?: boolean | number;
  limits?: Partial<EtfLimits>;
}

/** Options of {@link binaryToTerm}. */
export interface BinaryToTermOptions {
  limits?: Partial<EtfLimits>;
  /** Accept bytes after the term (they are ignored). Default false: trailing bytes are an error. */
  allowTrailing?: boolean;
}

/**
 * Erlang's `term_to_binary/1,2`: 131 + the encoded term, compressed if asked.
 * @throws EtfError `ERR_ETF_ENCODE` for a value with no Erlang term, or a limit code.
 */
export function termToBinary(t: Term, options?: TermToBinaryOptions): Buffer {
  const limits = resolveEtfLimits(options?.limits);
  const w = new TermWriter(limits);
  w.u8(VERSION);
  w.term(t, 0);
  const plain = w.result();
  const c = options?.compressed;
  if (c === undefined || c === false) return Buffer.from(plain);
  const level = c === true ? 6 : c;
  if (!Number.isInteger(level) || level < 0 || level > 9)
    throw new EtfError('ERR_ETF_ENCODE', `compression level ${String(level)} is not 0..9`);
  const body = plain.subarray(1);
  const z = deflateSync(body, { level });
  if (z.length + 5 >= body.length) return Buffer.from(plain);
  const out = Buffer.allocUnsafe(6 + z.length);
  out[0] = VERSION;
  out[1] = COMPRESSED;
  out.writeUInt32BE(body.length, 2);
  z.copy(out, 6);
  return out;
}

/**
 * Erlang's `binary_to_term/1`: decodes 131 + term, inflating a compressed term.
 * @throws EtfError `ERR_ETF_DECODE` (bad version, malformed, trailing bytes), `ERR_ETF_COMPRESSED`
 *   (broken zlib stream or size mismatch), `ERR_ETF_DECOMPRESSED_TOO_LARGE`, or another limit code.
 */
export function binaryToTerm(input: Uint8Array, options?: BinaryToTermOptions): Term {
  const limits = resolveEtfLimits(options?.limits);
  if (input.length > limits.maxMessageSize) {
    throw new EtfError(
      'ERR_ETF_MESSAGE_TOO_LARGE',
      `input of ${input.length} bytes (maxMessageSize ${limits.maxMessageSize})`,
    );
  }
  if (input.length < 2) throw new EtfError('ERR_ETF_DECODE', 'input shorter than a version byte and a tag', 0);
  if (input[0] !== VERSION) throw new EtfError('ERR_ETF_DECODE', `version byte ${input[0]} (expected 131)`, 0);
  let body: Uint8Array = input;
  let start = 1;
  if (input[1] === COMPRESSED) {
    body = inflateTerm(input, limits);
    start = 0;
  }
  const r = new TermReader(body, start, body.length, limits);
  const term = r.term(0);
  if (r.pos !== body.length && options?.allowTrailing !== true) {
    throw new EtfError('ERR_ETF_DECODE', `${body.length - r.pos} bytes after the term`, r.pos);
  }
  return term;
}

function inflateTerm(input: Uint8Array, limits: Readonly<EtfLimits>): Buffer {
  if (input.length < 6) throw new EtfError('ERR_ETF_DECODE', 'truncated compressed term header', 1);
  const size = Buffer.from(input.buffer, input.byteOffset, input.byteLength).readUInt32BE(2);
  if (size > limits.maxDecompressedBytes) {
    throw new EtfError(
      'ERR_ETF_DECOMPRESSED_TOO_LARGE',
      `compressed term announces ${size} bytes (maxDecompressedBytes ${limits.maxDecompressedBytes})`,
      2,
    );
  }
  if (size === 0) throw new EtfError('ERR_ETF_COMPRESSED', 'compressed term announces 0 bytes', 2);
  let out: Buffer;
  try {
    // one byte of headroom tells "exactly size" from "more than size"
    out = inflateSync(input.subarray(6), { maxOutputLength: size + 1 });
  } catch (err) {
    throw new EtfError('ERR_ETF_COMPRESSED', `zlib: ${(err as Error).message}`, 6, { cause: err });
  }
  if (out.length !== size)
    throw new EtfError('ERR_ETF_COMPRESSED', `inflated to ${out.length} bytes, announced ${size}`, 2);
  return out;
}

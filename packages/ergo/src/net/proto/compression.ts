// Packet compression (WIRE.md §3.6): the whole packet, header included, compressed with gzip
// (Go's header: mtime 0, no name, OS byte 0xff), zlib or Go's LZW (LSB, 8-bit literals) and
// wrapped as `4e 01 u32 L order c8 algo u32 innerLength stream`. Levels as Ergo: 0 default
// (deflate 6), 1 best speed (1), 2 best size (9). Decompression is bounded: the announced inner
// length and the bytes actually inflated may not exceed `maxDecompressedSize` (zip-bomb
// protection, Ergo 3.2.0), and must equal each other. A packet that inflates to more than
// SYNC_INFLATE_LIMIT bytes is inflated off the event loop's critical path (inflatePacket): gzip
// and zlib on Node's thread pool, LZW in slices that yield, so one peer's packets cannot stall
// every other peer and process of the node.

import { nodeZlib } from '../../lib/builtin.js';
import { LzwCompressor, LzwError, LzwOrder, lzwDecompress, lzwDecompressSliced } from '../../lib/lzw.js';
import { WireError } from '../error.js';
import { CompressionAlgorithm } from './packet.js';

/**
 * Announced sizes up to this many bytes inflate synchronously in the socket's data handler
 * (bounded work: well under a millisecond); larger ones go through {@link inflatePacket}.
 */
export const SYNC_INFLATE_LIMIT = 64 * 1024;
/** Output bytes an LZW slice produces before yielding to the event loop. */
export const LZW_SLICE_BYTES = 256 * 1024;

/** Default `maxDecompressedSize`: 64 MiB (a packet may not inflate beyond it). */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024;
/** Ergo's default compression threshold in bytes (packets must be longer to be compressed). */
export const DEFAULT_COMPRESSION_THRESHOLD = 1024;

/** `gen.CompressionType` names → wire algorithm ids; unknown names fall back to gzip (as Go). */
export function algorithmOf(type: string | undefined): number {
  if (type === 'lzw') return CompressionAlgorithm.LZW;
  if (type === 'zlib') return CompressionAlgorithm.ZLIB;
  return CompressionAlgorithm.GZIP;
}

/** Deflate level of an Ergo `CompressionLevel` (0 default, 1 best speed, 2 best size). */
export function deflateLevelOf(level: number | undefined): number {
  if (level === 1) return nodeZlib().constants.Z_BEST_SPEED;
  if (level === 2) return nodeZlib().constants.Z_BEST_COMPRESSION;
  return nodeZlib().constants.Z_DEFAULT_COMPRESSION;
}

/**
 * Compresses with one algorithm. Holds the LZW dictionary for reuse; one per link (not shared
 * between concurrent users).
 */
export class PacketCompressor {
  #lzw: LzwCompressor | undefined;

  /**
   * The compressed stream of `data`.
   * @throws WireError `ERR_ENP_COMPRESSION` for an unknown algorithm.
   */
  compress(algorithm: number, level: number | undefined, data: Uint8Array): Uint8Array {
    switch (algorithm) {
      case CompressionAlgorithm.GZIP: {
        const out = nodeZlib().gzipSync(data, { level: deflateLevelOf(level) });
        out[9] = 0xff; // OS "unknown", as Go's gzip writer
        return out;
      }
      case CompressionAlgorithm.ZLIB:
        // Ergo's zlib writer always uses the default level.
        return nodeZlib().deflateSync(data);
      case CompressionAlgorithm.LZW:
        return (this.#lzw ??= new LzwCompressor(LzwOrder.LSB, 8)).compress(data);
      default:
        throw new WireError('ERR_ENP_COMPRESSION', `unknown compression algorithm ${algorithm}`);
    }
  }
}

/**
 * Inflates a compressed packet's stream and checks it yields exactly `expected` bytes.
 * @throws WireError `ERR_ENP_DECOMPRESSED_TOO_LARGE` (expected length or output over `max`),
 *   `ERR_ENP_COMPRESSION` (unknown algorithm, corrupt stream, length mismatch).
 */
export function decompressPacket(algorithm: number, stream: Uint8Array, expected: number, max: number): Uint8Array {
  checkAnnounced(expected, max);
  let out: Uint8Array;
  try {
    switch (algorithm) {
      case CompressionAlgorithm.GZIP:
        out = nodeZlib().gunzipSync(stream, { maxOutputLength: expected + 1 });
        break;
      case CompressionAlgorithm.ZLIB:
        out = nodeZlib().inflateSync(stream, { maxOutputLength: expected + 1 });
        break;
      case CompressionAlgorithm.LZW:
        out = lzwDecompress(stream, expected + 1, LzwOrder.LSB, 8);
        break;
      default:
        throw unknownAlgorithm(algorithm);
    }
  } catch (err) {
    throw inflateError(err, expected);
  }
  return checkInflated(out, expected);
}

/**
 * {@link decompressPacket} without blocking the event loop: gzip and zlib inflate on Node's
 * thread pool, LZW in slices of {@link LZW_SLICE_BYTES} that yield between them. `done` is
 * called once, never synchronously, with the output or the WireError decompressPacket would
 * throw. Keep `stream` unchanged until then.
 */
export function inflatePacket(
  algorithm: number,
  stream: Uint8Array,
  expected: number,
  max: number,
  done: (err: WireError | null, out?: Uint8Array) => void,
): void {
  const finish = (err: Error | null, out?: Uint8Array): void => {
    if (err !== null) {
      done(inflateError(err, expected));
      return;
    }
    let checked: Uint8Array;
    try {
      checked = checkInflated(out!, expected);
    } catch (e) {
      done(e as WireError);
      return;
    }
    done(null, checked);
  };
  try {
    checkAnnounced(expected, max);
  } catch (e) {
    setImmediate(finish, e as Error);
    return;
  }
  switch (algorithm) {
    case CompressionAlgorithm.GZIP:
      nodeZlib().gunzip(stream, { maxOutputLength: expected + 1 }, (e, out) => finish(e, out));
      return;
    case CompressionAlgorithm.ZLIB:
      nodeZlib().inflate(stream, { maxOutputLength: expected + 1 }, (e, out) => finish(e, out));
      return;
    case CompressionAlgorithm.LZW:
      lzwDecompressSliced(stream, expected + 1, LZW_SLICE_BYTES, finish, LzwOrder.LSB, 8);
      return;
    default:
      setImmediate(finish, unknownAlgorithm(algorithm));
  }
}

function checkAnnounced(expected: number, max: number): void {
  if (expected > max) {
    throw new WireError(
      'ERR_ENP_DECOMPRESSED_TOO_LARGE',
      `compressed packet announces ${expected} bytes, more than maxDecompressedSize (${max})`,
    );
  }
}

function unknownAlgorithm(algorithm: number): WireError {
  return new WireError('ERR_ENP_COMPRESSION', `unknown compression algorithm ${algorithm}`);
}

/** The WireError for a failed inflation (a WireError passes through). */
function inflateError(err: unknown, expected: number): WireError {
  if (err instanceof WireError) return err;
  const e = err as { code?: string; message?: string };
  if (
    e.code === 'ERR_BUFFER_TOO_LARGE' ||
    (err instanceof LzwError && err.code === 'ERR_LZW_TOO_LARGE') ||
    e.code === 'ERR_OUT_OF_RANGE'
  ) {
    return new WireError('ERR_ENP_COMPRESSION', `compressed packet inflates beyond its announced ${expected} bytes`, {
      cause: err,
    });
  }
  return new WireError('ERR_ENP_COMPRESSION', `corrupt compressed packet: ${String(e.message ?? err)}`, {
    cause: err,
  });
}

function checkInflated(out: Uint8Array, expected: number): Uint8Array {
  if (out.length !== expected) {
    throw new WireError(
      'ERR_ENP_COMPRESSION',
      `compressed packet inflates to ${out.length} bytes, announced ${expected}`,
    );
  }
  return out;
}

// EPMD wire format (ERLANG.md §1): requests are `Length(2) Tag Body`; responses carry no length
// and PORT_PLEASE2 / NAMES answers end when EPMD closes the connection. Shared by the client and
// the built-in server.

import { EpmdError } from '../errors.js';

export const ALIVE2_REQ = 120; // 'x'
export const ALIVE2_X_RESP = 118; // 'v' (4-byte creation)
export const ALIVE2_RESP = 121; // 'y' (2-byte creation)
export const PORT_PLEASE2_REQ = 122; // 'z'
export const PORT2_RESP = 119; // 'w'
export const NAMES_REQ = 110; // 'n'
export const DUMP_REQ = 100; // 'd'
export const KILL_REQ = 107; // 'k'
export const STOP_REQ = 115; // 's'

/** The default EPMD port: `ERL_EPMD_PORT` from the environment, else 4369. */
export function defaultEpmdPort(): number {
  const env = process.env['ERL_EPMD_PORT'];
  const n = env === undefined ? NaN : Number(env);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : 4369;
}

/** A node as EPMD knows it (the body of ALIVE2_REQ and of a successful PORT2_RESP). */
export interface EpmdNodeInfo {
  /** The alive name (the part of `name@host` before `@`). */
  name: string;
  /** The node's distribution listener port. */
  port: number;
  /** 77 (`M`) normal, 72 (`H`) hidden. Informational: OTP always sends 77. */
  nodeType: number;
  /** 0 = TCP/IPv4. */
  protocol: number;
  /** Highest distribution handshake version the node speaks (OTP 23+: 6). */
  highestVersion: number;
  /** Lowest version (OTP 25 announces 5 although it only speaks 6). */
  lowestVersion: number;
  /** Extra bytes, normally empty. */
  extra: Uint8Array;
}

/** Most bytes an alive name may take (EPMD's own limit). */
export const MAX_NAME_BYTES = 255;

/** @throws EpmdError `ERR_EPMD_INCORRECT` for an empty, over-long or `@`-containing alive name. */
export function checkAliveName(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length === 0 || b.length > MAX_NAME_BYTES || name.includes('@')) {
    throw new EpmdError(
      'ERR_EPMD_INCORRECT',
      `alive name ${JSON.stringify(name)} must be 1..${MAX_NAME_BYTES} bytes without '@'`,
    );
  }
  return b;
}

/** The node description as written in ALIVE2_REQ and PORT2_RESP (after the tag/result bytes). */
export function encodeNodeInfo(info: EpmdNodeInfo): Buffer {
  const name = checkAliveName(info.name);
  const out = Buffer.alloc(10 + name.length + 2 + info.extra.length);
  let o = out.writeUInt16BE(info.port, 0);
  o = out.writeUInt8(info.nodeType, o);
  o = out.writeUInt8(info.protocol, o);
  o = out.writeUInt16BE(info.highestVersion, o);
  o = out.writeUInt16BE(info.lowestVersion, o);
  o = out.writeUInt16BE(name.length, o);
  o += name.copy(out, o);
  o = out.writeUInt16BE(info.extra.length, o);
  out.set(info.extra, o);
  return out;
}

/**
 * Parses a node description (the inverse of {@link encodeNodeInfo}).
 * @returns undefined if `b` is truncated or has bytes left over.
 */
export function decodeNodeInfo(b: Buffer, offset: number): EpmdNodeInfo | undefined {
  if (b.length - offset < 12) return undefined;
  const port = b.readUInt16BE(offset);
  const nodeType = b[offset + 2]!;
  const protocol = b[offset + 3]!;
  const highestVersion = b.readUInt16BE(offset + 4);
  const lowestVersion = b.readUInt16BE(offset + 6);
  const nlen = b.readUInt16BE(offset + 8);
  let o = offset + 10;
  if (b.length - o < nlen + 2) return undefined;
  const name = b.toString('utf8', o, o + nlen);
  o += nlen;
  const elen = b.readUInt16BE(o);
  o += 2;
  if (b.length - o !== elen) return undefined;
  return { name, port, nodeType, protocol, highestVersion, lowestVersion, extra: new Uint8Array(b.subarray(o)) };
}

/** Frames a request: `Length(2) Tag Body`. */
export function request(tag: number, body?: Uint8Array): Buffer {
  const n = 1 + (body?.length ?? 0);
  const out = Buffer.alloc(2 + n);
  out.writeUInt16BE(n, 0);
  out[2] = tag;
  if (body !== undefined) out.set(body, 3);
  return out;
}

// ESRD:R1 packets (WIRE.md §4.2): `01 type u16 L` then L bytes of one EDF value, encoded without
// caches. Each packet travels in one TCP read or one UDP datagram, so the codec works on whole
// buffers: the type byte must match the message class, the length field the bytes present.

import { defaultRegistry } from '../edf/default.js';
import { EdfDecoder } from '../edf/decoder.js';
import { EdfEncoder } from '../edf/encoder.js';
import type { EdfRegistry } from '../edf/registry.js';
import { WireError } from '../error.js';
import {
  MessageRegisterReply,
  MessageRegisterRoutes,
  MessageResolveReply,
  MessageResolveRoutes,
  registerRegistrarTypes,
} from './messages.js';

/** First byte of every registrar packet. */
export const REGISTRAR_VERSION = 1;
/** Bytes before the EDF payload. */
export const REGISTRAR_HEADER = 4;
/** Ergo's default registrar port (TCP on localhost for registration, UDP on all interfaces for resolving). */
export const DEFAULT_REGISTRAR_PORT = 4499;

/** Registrar packet types. */
export const RegistrarPacketType = Object.freeze({
  /** client → server, TCP: MessageRegisterRoutes. */
  Register: 44,
  /** server → client, TCP: MessageRegisterReply. */
  RegisterReply: 45,
  /** resolver → host:4499, UDP: MessageResolveRoutes. */
  Resolve: 46,
  /** reply, UDP: MessageResolveReply. */
  ResolveReply: 47,
});

/** Any of the four registrar messages. */
export type RegistrarMessage =
  MessageRegisterRoutes | MessageRegisterReply | MessageResolveRoutes | MessageResolveReply;

function typeOf(m: RegistrarMessage): number {
  if (m instanceof MessageRegisterRoutes) return RegistrarPacketType.Register;
  if (m instanceof MessageRegisterReply) return RegistrarPacketType.RegisterReply;
  if (m instanceof MessageResolveRoutes) return RegistrarPacketType.Resolve;
  if (m instanceof MessageResolveReply) return RegistrarPacketType.ResolveReply;
  throw new WireError('ERR_REGISTRAR_PACKET', 'not a registrar message');
}

const CLASS_OF: Record<number, new () => RegistrarMessage> = {
  [RegistrarPacketType.Register]: MessageRegisterRoutes,
  [RegistrarPacketType.RegisterReply]: MessageRegisterReply,
  [RegistrarPacketType.Resolve]: MessageResolveRoutes,
  [RegistrarPacketType.ResolveReply]: MessageResolveReply,
};

/**
 * Encodes and decodes registrar packets. Stateless apart from reused buffers: one per registrar
 * client or server. Every failure is a WireError `ERR_REGISTRAR_PACKET`.
 */
export class RegistrarCodec {
  readonly #enc: EdfEncoder;
  readonly #dec: EdfDecoder;

  constructor(registry: EdfRegistry = defaultRegistry) {
    // The default registry has them queued (./messages.js), registered on its first use: a node
    // whose registrar never sends a packet never builds them.
    if (registry !== defaultRegistry) registerRegistrarTypes(registry);
    this.#enc = new EdfEncoder({ registry });
    this.#dec = new EdfDecoder({ registry });
  }

  /**
   * One packet for `message` (a fresh buffer the caller owns).
   * @throws WireError `ERR_REGISTRAR_PACKET` if the message cannot be encoded or exceeds 65535 bytes.
   */
  encode(message: RegistrarMessage): Uint8Array {
    const type = typeOf(message);
    const e = this.#enc;
    e.reset();
    e.ensure(REGISTRAR_HEADER);
    e.u8(REGISTRAR_VERSION);
    e.u8(type);
    e.u16(0);
    try {
      e.encodeTo(message);
    } catch (err) {
      throw new WireError('ERR_REGISTRAR_PACKET', `registrar message cannot be encoded: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const n = e.pos - REGISTRAR_HEADER;
    if (n > 0xffff) throw new WireError('ERR_REGISTRAR_PACKET', `registrar packet of ${n} bytes exceeds 65535`);
    e.dv.setUint16(2, n);
    return e.copy();
  }

  /**
   * The message in `bytes` (exactly one packet, as one read or datagram delivers it).
   * @param expected if given, the packet type the caller waits for.
   * @throws WireError `ERR_REGISTRAR_PACKET`: bad version, unknown or unexpected type, length
   *   field not matching, payload not the message of that type.
   */
  decode(bytes: Uint8Array, expected?: number): RegistrarMessage {
    if (bytes.length < REGISTRAR_HEADER)
      throw new WireError(
        'ERR_REGISTRAR_PACKET',
        `registrar packet of ${bytes.length} bytes is shorter than its header`,
      );
    if (bytes[0] !== REGISTRAR_VERSION)
      throw new WireError('ERR_REGISTRAR_PACKET', `unsupported registrar packet version ${bytes[0]!}`);
    const type = bytes[1]!;
    const cls = CLASS_OF[type];
    if (cls === undefined) throw new WireError('ERR_REGISTRAR_PACKET', `unknown registrar packet type ${type}`);
    if (expected !== undefined && type !== expected)
      throw new WireError('ERR_REGISTRAR_PACKET', `registrar packet type ${type}, expected ${expected}`);
    const n = (bytes[2]! << 8) | bytes[3]!;
    if (REGISTRAR_HEADER + n > bytes.length)
      throw new WireError(
        'ERR_REGISTRAR_PACKET',
        `registrar packet announces ${n} bytes, ${bytes.length - REGISTRAR_HEADER} present`,
      );
    let v: unknown;
    try {
      v = this.#dec.decode(bytes, REGISTRAR_HEADER, REGISTRAR_HEADER + n);
    } catch (err) {
      throw new WireError('ERR_REGISTRAR_PACKET', `registrar payload does not decode: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!(v instanceof cls))
      throw new WireError('ERR_REGISTRAR_PACKET', `registrar packet type ${type} does not hold a ${cls.name}`);
    return v;
  }
}

// Fixtures shared by the wire-codec tests (handshake, ENP, registrar): the vector files captured
// from Go Ergo, a registry with the Go test types those captures carry, the caches the vector
// generator used, and a helper that re-encodes a decoded ENP packet with the encoder method of
// its type (so a decode → encode round trip can be compared with Go's bytes).

import { ErrProcessMailboxFull, ErrProcessTerminated, ErrProcessUnknown } from '../src/gen/errors.js';
import { Go, type EdfRegistry } from '../src/net/index.js';
import { HandshakeCodec } from '../src/net/handshake/frame.js';
import type { MessageIntroduce } from '../src/net/handshake/messages.js';
import { type EnpEncoder, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { type EnpPacket, PacketType } from '../src/net/proto/packet.js';
import { loadVectors, unhex, wiregen } from './edf.fixtures.js';

/** One entry of handshake.json / enp.json / registrar.json. */
export interface WireVector {
  name: string;
  go_value: string;
  hex: string;
  notes: string;
  direction?: string;
  connection?: string;
  fields?: Record<string, unknown>;
  verified?: string[];
}

export const handshakeVectors = loadVectors<WireVector>('handshake.json');
export const enpVectors = loadVectors<WireVector>('enp.json');
export const registrarVectors = loadVectors<WireVector>('registrar.json');

/** The vector called `name` (the first one if several share it). */
export function vector(list: WireVector[], name: string): WireVector {
  const v = list.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no vector ${name}`);
  return v;
}

/** A registry with the framework types, the wiregen test types and `msgs.Ping`/`msgs.Pong`. */
export function wireRegistry(): EdfRegistry {
  const { registry } = wiregen();
  registry.register({ name: '#wiregen/msgs/Ping', fields: { seq: Go.int64, text: Go.string } });
  registry.register({ name: '#wiregen/msgs/Pong', fields: { seq: Go.int64, echo: Go.string } });
  return registry;
}

/**
 * The caches of the `cached_*` ENP vectors (ids the generator's node announced): atoms 300–303,
 * msgs.Ping 0x1082, proto.MessageLinkPID 0x1063, errors "normal" 0x800b.
 */
export const enpCaches = {
  atoms: new Map<number, string>([
    [300, 'a@localhost'],
    [301, 'worker'],
    [302, 'prices'],
    [303, 'b@localhost'],
  ]),
  types: new Map<number, string>([
    [0x1082, '#wiregen/msgs/Ping'],
    [0x1063, '#ergo.services/ergo/net/proto/MessageLinkPID'],
  ]),
  errors: new Map<number, string>([[0x800b, 'normal']]),
};

/** Inverts an id → value map (what the announcing side encodes with). */
export function invert<V>(m: ReadonlyMap<number, V>): Map<V, number> {
  const out = new Map<V, number>();
  for (const [k, v] of m) out.set(v, k);
  return out;
}

/** The Introduce carried by a handshake vector. */
export function introduceOf(name: string, registry: EdfRegistry): MessageIntroduce {
  const c = new HandshakeCodec({ registry });
  c.push(unhex(vector(handshakeVectors, name).hex));
  return c.next() as MessageIntroduce;
}

/** Message options reproducing a decoded packet's header (order byte derived as the encoder does). */
export function optionsOf(p: EnpPacket, compression: EnpMessageOptions['compression'] = null): EnpMessageOptions {
  return {
    priority: p.priority,
    important: p.important,
    messageID: p.messageID,
    keepNetworkOrder: p.order !== 0,
    compression,
  };
}

/** Re-encodes `p` with the encoder method of its type. */
export function reencode(enc: EnpEncoder, p: EnpPacket, compression: EnpMessageOptions['compression'] = null): void {
  const o = optionsOf(p, compression);
  switch (p.type) {
    case PacketType.SendPID:
      return enc.sendPID(p.fromID, p.toID, o, p.payload);
    case PacketType.SendName:
    case PacketType.SendNameCached:
      return enc.sendProcessID(p.fromID, p.name, o, p.payload);
    case PacketType.SendAlias:
      return enc.sendAlias(p.fromID, p.alias, o, p.payload);
    case PacketType.Event:
    case PacketType.EventCached:
      return enc.sendEvent(p.fromID, p.name, p.timestamp, o, p.payload);
    case PacketType.Exit:
      return enc.sendExit(p.fromID, p.toID, p.reason!);
    case PacketType.CallPID:
      return enc.callPID(p.fromID, p.toID, p.id, o, p.payload);
    case PacketType.CallName:
    case PacketType.CallNameCached:
      return enc.callProcessID(p.fromID, p.name, p.id, o, p.payload);
    case PacketType.CallAlias:
      return enc.callAlias(p.fromID, p.alias, p.id, o, p.payload);
    case PacketType.Response:
      return enc.sendResponse(p.fromID, p.toID, p.id, o, p.payload);
    case PacketType.ResponseError:
      return enc.sendResponseError(p.fromID, p.toID, p.id, o, p.code === 0 ? null : (p.reason ?? codeError(p.code)));
    case PacketType.TerminatePID:
      return enc.sendTerminatePID(p.toID, p.reason!);
    case PacketType.TerminateName:
    case PacketType.TerminateNameCached:
      return enc.sendTerminateProcessID(p.name, p.reason!);
    case PacketType.TerminateAlias:
      return enc.sendTerminateAlias(p.alias, p.reason!);
    case PacketType.TerminateEvent:
    case PacketType.TerminateEventCached:
      return enc.sendTerminateEvent(p.name, p.reason!);
    case PacketType.Control:
      return enc.sendControl(p.order, p.payload as object);
    default:
      throw new Error(`cannot re-encode packet type ${p.type}`);
  }
}

function codeError(code: number): Error {
  if (code === 1) return ErrProcessUnknown;
  if (code === 2) return ErrProcessMailboxFull;
  return ErrProcessTerminated;
}

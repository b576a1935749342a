// Test fixtures shared by the EDF tests: the golden vectors produced by Go Ergo (copied into
// test/vectors/) and TS registrations of the Go test types (`wiregen/msgs`) those vectors use.
// The Go schemas are derived from the vector bytes: e.g. Order's Attrs values are 8 bytes
// (Go int), Triple's elements 2 bytes, Counters' values 4 bytes.

import { readFileSync } from 'node:fs';
import { ErrProcessUnknown, TerminateReasonNormal } from '../src/gen/errors.js';
import { Go, createRegistry, type EdfRegistry, type RegisteredType } from '../src/net/index.js';

export interface Vector {
  name: string;
  go_value: string;
  hex: string;
  notes: string;
  decoded_as?: string;
  caches?: string;
}

/** Loads one of the vector files copied from Go Ergo's generator. */
export function loadVectors<T = Vector>(file: string): T[] {
  return JSON.parse(readFileSync(new URL(`../../test/vectors/${file}`, import.meta.url), 'utf8')) as T[];
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** `msgs.Custom{A uint16, B string}` with MarshalEDF: A as 2 bytes then B's bytes. */
export class Custom {
  constructor(
    public a = 0,
    public b = '',
  ) {}
}

/** `msgs.BinM{V uint32}` with MarshalBinary: V as 4 bytes. */
export class BinM {
  constructor(public v = 0) {}
}

/** `msgs.Order` (field order and types verified against reg_struct_order). */
export class Order {
  id: number | bigint = 0;
  name = '';
  tags: string[] | null = null;
  attrs: Map<string, number> | null = null;
  payload: unknown = null;
  where: unknown = null;
  flag = false;
  ratio = 0;
  owner = '';
  from: unknown = null;
  blob: Uint8Array | null = null;
  pair: number[] = [0, 0];
  err: Error | null = null;
  when: unknown = null;
}

export interface WireGen {
  registry: EdfRegistry;
  Point: RegisteredType;
  Order: RegisteredType<Order>;
  MyString: RegisteredType;
  MyInt16: RegisteredType;
  MyBool: RegisteredType;
  MyFloat: RegisteredType;
  PointList: RegisteredType;
  Counters: RegisteredType;
  Triple: RegisteredType;
  Custom: RegisteredType<Custom>;
  BinM: RegisteredType<BinM>;
}

/** A fresh registry (framework types + the wiregen test types). */
export function wiregen(): WireGen {
  const registry = createRegistry();
  const Point = registry.register({ name: '#wiregen/msgs/Point', fields: { x: Go.int32, y: Go.int32 } });
  const OrderT = registry.register({
    name: '#wiregen/msgs/Order',
    class: Order,
    fields: {
      id: Go.int64,
      name: Go.string,
      tags: Go.slice(Go.string),
      attrs: Go.map(Go.string, Go.int),
      payload: Go.any,
      where: Point,
      flag: Go.bool,
      ratio: Go.float64,
      owner: Go.atom,
      from: Go.pid,
      blob: Go.binary,
      pair: Go.array(2, Go.uint8),
      err: Go.error,
      when: Go.time,
    },
  });
  const CustomT = registry.register<Custom>({
    name: '#wiregen/msgs/Custom',
    class: Custom,
    marshal: (v) => {
      const b = Buffer.from(v.b, 'utf8');
      const out = new Uint8Array(2 + b.length);
      out[0] = v.a >>> 8;
      out[1] = v.a & 0xff;
      out.set(b, 2);
      return out;
    },
    unmarshal: (b) => {
      if (b.length < 2) throw new Error('short Custom');
      return new Custom((b[0]! << 8) | b[1]!, Buffer.from(b.subarray(2)).toString('utf8'));
    },
  });
  const BinMT = registry.register<BinM>({
    name: '#wiregen/msgs/BinM',
    class: BinM,
    marshal: (v) => {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, v.v);
      return out;
    },
    unmarshal: (b) => {
      if (b.length !== 4) throw new Error('BinM needs 4 bytes');
      return new BinM(new DataView(b.buffer, b.byteOffset, 4).getUint32(0));
    },
  });
  return {
    registry,
    Point,
    Order: OrderT,
    MyString: registry.register({ name: '#wiregen/msgs/MyString', type: Go.string }),
    MyInt16: registry.register({ name: '#wiregen/msgs/MyInt16', type: Go.int16 }),
    MyBool: registry.register({ name: '#wiregen/msgs/MyBool', type: Go.bool }),
    MyFloat: registry.register({ name: '#wiregen/msgs/MyFloat', type: Go.float64 }),
    PointList: registry.register({ name: '#wiregen/msgs/PointList', type: Go.slice(Point) }),
    Counters: registry.register({ name: '#wiregen/msgs/Counters', type: Go.map(Go.string, Go.int32) }),
    Triple: registry.register({ name: '#wiregen/msgs/Triple', type: Go.array(3, Go.int16) }),
    Custom: CustomT,
    BinM: BinMT,
  };
}

/**
 * The caches the vector generator used (its `caches` field): encode side maps value → id, decode
 * side id → value, as a connection would hold them after the handshake.
 */
export const vectorCaches = {
  encode: {
    atomCache: new Map([
      ['node@localhost', 300],
      ['worker', 301],
    ]),
    typeCache: new Map([
      ['#ergo.services/ergo/gen/MessageEvent', 4138],
      ['#wiregen/msgs/Order', 4216],
      ['#wiregen/msgs/Point', 4215],
      ['#wiregen/msgs/PointList', 4221],
    ]),
    errorCache: new Map([
      ['unknown process', 32774],
      ['normal', 32779],
    ]),
  },
  decode: {
    atomCache: new Map([
      [300, 'node@localhost'],
      [301, 'worker'],
    ]),
    typeCache: new Map([
      [4138, '#ergo.services/ergo/gen/MessageEvent'],
      [4216, '#wiregen/msgs/Order'],
      [4215, '#wiregen/msgs/Point'],
      [4221, '#wiregen/msgs/PointList'],
    ]),
    errorCache: new Map<number, Error>([
      [32774, ErrProcessUnknown],
      [32779, TerminateReasonNormal],
    ]),
  },
};

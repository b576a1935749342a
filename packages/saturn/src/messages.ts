// Saturn's wire messages (Saturn protocol R1, EXTRAS.md §4), written from the protocol facts:
// EDF structs registered under `#ergo.services/registrar/saturn/<Type>`, field order as Saturn
// declares them, in a private EDF registry that also holds the three `gen` structs Ergo 3.0
// registers and the ergo-ts core does not (ApplicationRoute, ProxyRoute, RegisterRoutes). Every
// message travels in one frame: [99][1][uint16 BE payload length][EDF payload], so a payload is at
// most 65535 bytes. Messages are encoded without caches (Saturn uses `edf.Options{}`).

import { ErrMalformed, ErrTooLarge, type ApplicationRoute, type ProxyRoute, type Route } from 'ergo-ts';
import {
  createRegistry,
  EdfDecoder,
  encode,
  FrameworkTypeName,
  fromWireRoute,
  Go,
  toWireRoute,
  type EdfRegistry,
  type Fields,
  type Route as WireRoute,
} from 'ergo-ts/net';

/** The frame's first byte (Saturn's `Proto`). */
export const SATURN_PROTO = 99;
/** The frame's second byte (Saturn's `ProtoVersion`). */
export const SATURN_PROTO_VERSION = 1;
/** Longest EDF payload one frame carries (its length is a uint16). */
export const MAX_PAYLOAD = 0xffff;

const SATURN = '#ergo.services/registrar/saturn/';
const GEN = '#ergo.services/ergo/gen/';

/** Go registration names of the Saturn messages (and the `gen` structs they carry). */
export const SaturnTypeName = Object.freeze({
  MessageHandshake: `${SATURN}MessageHandshake`,
  MessageHandshakeResult: `${SATURN}MessageHandshakeResult`,
  MessageRegister: `${SATURN}MessageRegister`,
  MessageRegisterResult: `${SATURN}MessageRegisterResult`,
  MessageResolve: `${SATURN}MessageResolve`,
  MessageResolveResult: `${SATURN}MessageResolveResult`,
  MessageResolveProxy: `${SATURN}MessageResolveProxy`,
  MessageResolveProxyResult: `${SATURN}MessageResolveProxyResult`,
  MessageNodeJoined: `${SATURN}MessageNodeJoined`,
  MessageNodeLeft: `${SATURN}MessageNodeLeft`,
  MessageRegisterApplicationRoute: `${SATURN}MessageRegisterApplicationRoute`,
  MessageUnregisterApplicationRoute: `${SATURN}MessageUnregisterApplicationRoute`,
  MessageConfigUpdate: `${SATURN}MessageConfigUpdate`,
  ApplicationRoute: `${GEN}ApplicationRoute`,
  ProxyRoute: `${GEN}ProxyRoute`,
  RegisterRoutes: `${GEN}RegisterRoutes`,
});

/** `gen.ApplicationRoute` on the wire. */
export class WireApplicationRoute {
  node = '';
  name = '';
  weight: number | bigint = 0;
  mode: number | bigint = 0;
  state: number | bigint = 0;
  constructor(init?: Fields<WireApplicationRoute>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.ProxyRoute` on the wire. */
export class WireProxyRoute {
  to = '';
  proxy = '';
  constructor(init?: Fields<WireProxyRoute>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.RegisterRoutes` on the wire. */
export class WireRegisterRoutes {
  routes: WireRoute[] | null = null;
  applicationRoutes: WireApplicationRoute[] | null = null;
  proxyRoutes: WireProxyRoute[] | null = null;
  constructor(init?: Fields<WireRegisterRoutes>) {
    if (init) Object.assign(this, init);
  }
}

/** Client → server, first: a random salt and hex(sha256(salt + ":" + token)). */
export class MessageHandshake {
  salt = '';
  digest = '';
  constructor(init?: Fields<MessageHandshake>) {
    if (init) Object.assign(this, init);
  }
}

/** Server → client: hex(sha256(clientDigest + ":" + token)), the server's proof of the token. */
export class MessageHandshakeResult {
  digest = '';
  constructor(init?: Fields<MessageHandshakeResult>) {
    if (init) Object.assign(this, init);
  }
}

/** Client → server, after the handshake: who registers, in which cluster, reachable how. */
export class MessageRegister {
  cluster = '';
  /** Never set by Ergo's client; kept false. */
  hidden = false;
  node = '';
  registerRoutes: WireRegisterRoutes = new WireRegisterRoutes();
  constructor(init?: Fields<MessageRegister>) {
    if (init) Object.assign(this, init);
  }
}

/** Server → client: refused (`error`), or the config, the cluster's other nodes and their applications. */
export class MessageRegisterResult {
  error: Error | null = null;
  config: ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>> | null = null;
  nodes: string[] | null = null;
  applications: WireApplicationRoute[] | null = null;
  constructor(init?: Fields<MessageRegisterResult>) {
    if (init) Object.assign(this, init);
  }
}

/** Client → server: the routes of node `name` (answered by a result with the same `id`). */
export class MessageResolve {
  id: number | bigint = 0;
  name = '';
  constructor(init?: Fields<MessageResolve>) {
    if (init) Object.assign(this, init);
  }
}

/** Server → client: the answer to the resolve `id`. */
export class MessageResolveResult {
  id: number | bigint = 0;
  error: Error | null = null;
  routes: WireRoute[] | null = null;
  constructor(init?: Fields<MessageResolveResult>) {
    if (init) Object.assign(this, init);
  }
}

/** Client → server: the proxy routes to node `name`. */
export class MessageResolveProxy {
  id: number | bigint = 0;
  name = '';
  constructor(init?: Fields<MessageResolveProxy>) {
    if (init) Object.assign(this, init);
  }
}

/** Server → client: the answer to the proxy resolve `id`. */
export class MessageResolveProxyResult {
  id: number | bigint = 0;
  error: Error | null = null;
  routes: WireProxyRoute[] | null = null;
  constructor(init?: Fields<MessageResolveProxyResult>) {
    if (init) Object.assign(this, init);
  }
}

/** Server → client: a node registered in this cluster. */
export class MessageNodeJoined {
  node = '';
  constructor(init?: Fields<MessageNodeJoined>) {
    if (init) Object.assign(this, init);
  }
}

/** Server → client: a node's connection ended (it stopped, or was cut off). */
export class MessageNodeLeft {
  node = '';
  constructor(init?: Fields<MessageNodeLeft>) {
    if (init) Object.assign(this, init);
  }
}

/** Both ways: an application route (client → server: ours; server → client: another node's). */
export class MessageRegisterApplicationRoute {
  route: WireApplicationRoute = new WireApplicationRoute();
  constructor(init?: Fields<MessageRegisterApplicationRoute>) {
    if (init) Object.assign(this, init);
  }
}

/** Both ways: application `name` on `node` went away (client → server: `node` is ignored). */
export class MessageUnregisterApplicationRoute {
  name = '';
  node = '';
  constructor(init?: Fields<MessageUnregisterApplicationRoute>) {
    if (init) Object.assign(this, init);
  }
}

/** Server → client: config `item` (`cluster:node:item`, `cluster:*:item`, `node:item`, `*:item`) is `value`. */
export class MessageConfigUpdate {
  item = '';
  value: unknown = null;
  constructor(init?: Fields<MessageConfigUpdate>) {
    if (init) Object.assign(this, init);
  }
}

/** Any message of Saturn's protocol. */
export type SaturnMessage =
  | MessageHandshake
  | MessageHandshakeResult
  | MessageRegister
  | MessageRegisterResult
  | MessageResolve
  | MessageResolveResult
  | MessageResolveProxy
  | MessageResolveProxyResult
  | MessageNodeJoined
  | MessageNodeLeft
  | MessageRegisterApplicationRoute
  | MessageUnregisterApplicationRoute
  | MessageConfigUpdate;

let registry: EdfRegistry | null = null;

/** The registry of Saturn's messages (the framework types plus the ones above; built once). */
export function saturnRegistry(): EdfRegistry {
  if (registry !== null) return registry;
  const r = createRegistry();
  const T = SaturnTypeName;
  const type = (name: string): never => {
    const t = r.type(name);
    if (t === undefined) throw new Error(`EDF registry lacks ${name}`);
    return t as never;
  };
  r.register({
    name: T.ApplicationRoute,
    class: WireApplicationRoute,
    fields: {
      node: Go.atom,
      name: Go.atom,
      weight: Go.int,
      mode: type(FrameworkTypeName.ApplicationMode),
      state: type(FrameworkTypeName.ApplicationState),
    },
  });
  r.register({ name: T.ProxyRoute, class: WireProxyRoute, fields: { to: Go.atom, proxy: Go.atom } });
  const appRoutes = Go.slice(type(T.ApplicationRoute));
  const routes = Go.slice(type(FrameworkTypeName.Route));
  const proxyRoutes = Go.slice(type(T.ProxyRoute));
  r.register({
    name: T.RegisterRoutes,
    class: WireRegisterRoutes,
    fields: { routes, applicationRoutes: appRoutes, proxyRoutes },
  });
  const reg = (name: string, cls: new () => object, fields: Record<string, unknown>): void =>
    void r.register({ name, class: cls as never, fields: fields as never });
  reg(T.MessageHandshake, MessageHandshake, { salt: Go.string, digest: Go.string });
  reg(T.MessageHandshakeResult, MessageHandshakeResult, { digest: Go.string });
  reg(T.MessageRegister, MessageRegister, {
    cluster: Go.string,
    hidden: Go.bool,
    node: Go.atom,
    registerRoutes: type(T.RegisterRoutes),
  });
  reg(T.MessageRegisterResult, MessageRegisterResult, {
    error: Go.error,
    config: Go.map(Go.string, Go.any),
    nodes: Go.slice(Go.atom),
    applications: appRoutes,
  });
  reg(T.MessageResolve, MessageResolve, { id: Go.uint32, name: Go.atom });
  reg(T.MessageResolveResult, MessageResolveResult, { id: Go.uint32, error: Go.error, routes });
  reg(T.MessageResolveProxy, MessageResolveProxy, { id: Go.uint32, name: Go.atom });
  reg(T.MessageResolveProxyResult, MessageResolveProxyResult, {
    id: Go.uint32,
    error: Go.error,
    routes: proxyRoutes,
  });
  reg(T.MessageNodeJoined, MessageNodeJoined, { node: Go.atom });
  reg(T.MessageNodeLeft, MessageNodeLeft, { node: Go.atom });
  reg(T.MessageRegisterApplicationRoute, MessageRegisterApplicationRoute, { route: type(T.ApplicationRoute) });
  reg(T.MessageUnregisterApplicationRoute, MessageUnregisterApplicationRoute, { name: Go.atom, node: Go.atom });
  reg(T.MessageConfigUpdate, MessageConfigUpdate, { item: Go.string, value: Go.any });
  registry = r;
  return r;
}

/**
 * One frame: header and EDF payload.
 * @throws ErgoError ERR_TOO_LARGE when the payload exceeds 65535 bytes (the length field is 16 bits).
 */
export function encodeFrame(message: SaturnMessage): Buffer {
  const payload = encode(message, { registry: saturnRegistry() });
  if (payload.length > MAX_PAYLOAD)
    throw ErrTooLarge.with(
      `Saturn message ${message.constructor.name} is ${payload.length} bytes (max ${MAX_PAYLOAD})`,
    );
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame[0] = SATURN_PROTO;
  frame[1] = SATURN_PROTO_VERSION;
  frame.writeUInt16BE(payload.length, 2);
  frame.set(payload, 4);
  return frame;
}

/**
 * Splits a byte stream into Saturn messages: `push` each chunk read, get the messages it
 * completes (several per chunk, or none until a frame is whole).
 */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  /**
   * @throws ErgoError ERR_MALFORMED for a wrong proto or version byte, a payload that is not
   *   one EDF value, or a value that is not a Saturn message.
   */
  push(chunk: Uint8Array): unknown[] {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const out: unknown[] = [];
    while (this.#buf.length >= 4) {
      if (this.#buf[0] !== SATURN_PROTO) throw ErrMalformed.with(`Saturn frame: proto byte ${this.#buf[0]}, want 99`);
      if (this.#buf[1] !== SATURN_PROTO_VERSION)
        throw ErrMalformed.with(`Saturn frame: protocol version ${this.#buf[1]}, want 1`);
      const len = this.#buf.readUInt16BE(2);
      if (this.#buf.length < 4 + len) break;
      out.push(decodePayload(this.#buf.subarray(4, 4 + len)));
      this.#buf = this.#buf.subarray(4 + len);
    }
    return out;
  }
}

/**
 * The one message of a frame's payload.
 * @throws ErgoError ERR_MALFORMED when it is not exactly one EDF value.
 */
export function decodePayload(payload: Uint8Array): unknown {
  const d = new EdfDecoder({ registry: saturnRegistry() });
  let v: unknown;
  try {
    v = d.decode(payload);
  } catch (e) {
    throw ErrMalformed.with(`Saturn frame: ${(e as Error).message}`, e);
  }
  if (d.pos !== payload.length)
    throw ErrMalformed.with(`Saturn frame: ${payload.length - d.pos} bytes after the message`);
  return v;
}

/** ergo-ts's application route as the wire carries it. */
export function toWireApplicationRoute(r: ApplicationRoute): WireApplicationRoute {
  return new WireApplicationRoute({ node: r.node, name: r.name, weight: r.weight, mode: r.mode, state: r.state });
}

/** A wire application route as ergo-ts's plain {@link ApplicationRoute}. */
export function fromWireApplicationRoute(r: WireApplicationRoute): ApplicationRoute {
  return {
    node: r.node as ApplicationRoute['node'],
    name: r.name as ApplicationRoute['name'],
    weight: Number(r.weight),
    mode: Number(r.mode),
    state: Number(r.state),
  };
}

/** A wire proxy route as ergo-ts's plain {@link ProxyRoute}. */
export function fromWireProxyRoute(r: WireProxyRoute): ProxyRoute {
  return { to: r.to as ProxyRoute['to'], proxy: r.proxy as ProxyRoute['proxy'] };
}

/** Node routes for the wire (`[]gen.Route`). */
export function toWireRoutes(routes: readonly Route[]): WireRoute[] {
  return routes.map(toWireRoute);
}

/** Node routes from the wire. */
export function fromWireRoutes(routes: readonly WireRoute[] | null): Route[] {
  return (routes ?? []).map(fromWireRoute);
}

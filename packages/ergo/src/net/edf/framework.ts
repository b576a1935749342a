// The framework's own wire types (WIRE.md Appendix A), registered under Go Ergo's names so that
// handshake, ENP control and registrar messages, and gen.MessageEvent, are byte-compatible with
// Go nodes. The classes mirror the Go structs field by field (camelCase); fields start at Go's
// zero values, so `new MessageLinkPID({ source, target, ref })` is all a sender needs.
// int64/int fields decode to a number when safe, else a bigint.

import { Event } from '../../gen/event.js';
import { MessageEvent, MessageEventStart, MessageEventStop } from '../../gen/messages.js';
import { PID } from '../../gen/pid.js';
import { ProcessID } from '../../gen/processid.js';
import { Alias, Ref } from '../../gen/ref.js';
import { EdfError } from './errors.js';
import type { EdfRegistry, RegisteredType } from './registry.js';
import { Go } from './wrappers.js';

const GEN = '#ergo.services/ergo/gen/';
const HANDSHAKE = '#ergo.services/ergo/net/handshake/';
const PROTO = '#ergo.services/ergo/net/proto/';
const REGISTRAR = '#ergo.services/ergo/net/registrar/';

const ZERO_PID = new PID('', 0, 0);
const ZERO_REF = new Ref('', 0, [0, 0, 0]);
const ZERO_ALIAS = new Alias('', 0, [0, 0, 0]);

/** Fields of a wire class (its own data properties), for constructor initialisers. */
export type Fields<T> = { -readonly [K in keyof T as T[K] extends (...a: never[]) => unknown ? never : K]?: T[K] };

/** `gen.Version`: name, release, commit and license of a node, handshake or protocol. */
export class Version {
  name = '';
  release = '';
  commit = '';
  license = '';
  constructor(init?: Fields<Version>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.Compression` as it travels (the options object is `gen`'s Compression interface). */
export class WireCompression {
  enable = false;
  /** `gen.CompressionType`: 'gzip' | 'zlib' | 'lzw' | ''. */
  type = '';
  /** `gen.CompressionLevel`: 0 default, 1 best speed, 2 best size. */
  level: number | bigint = 0;
  threshold: number | bigint = 0;
  constructor(init?: Fields<WireCompression>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.ProcessFallback` as it travels. */
export class WireProcessFallback {
  enable = false;
  name = '';
  tag = '';
  constructor(init?: Fields<WireProcessFallback>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.ProcessOptions` as it travels. */
export class WireProcessOptions {
  mailboxSize: number | bigint = 0;
  leader: PID = ZERO_PID;
  env: Map<string, unknown> | null = null;
  compression: WireCompression = new WireCompression();
  sendPriority: number | bigint = 0;
  importantDelivery = false;
  fallback: WireProcessFallback = new WireProcessFallback();
  linkParent = false;
  linkChild = false;
  logLevel: number | bigint = 0;
  constructor(init?: Fields<WireProcessOptions>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.ProcessOptionsExtra`: what a remote spawn carries. */
export class ProcessOptionsExtra {
  processOptions: WireProcessOptions = new WireProcessOptions();
  parentPID: PID = ZERO_PID;
  parentLeader: PID = ZERO_PID;
  parentEnv: Map<string, unknown> | null = null;
  parentLogLevel: number | bigint = 0;
  register = '';
  application = '';
  args: unknown[] | null = null;
  constructor(init?: Fields<ProcessOptionsExtra>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.ApplicationOptions` as it travels. */
export class WireApplicationOptions {
  env: Map<string, unknown> | null = null;
  logLevel: number | bigint = 0;
  constructor(init?: Fields<WireApplicationOptions>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.ApplicationOptionsExtra`: what a remote application start carries. */
export class ApplicationOptionsExtra {
  applicationOptions: WireApplicationOptions = new WireApplicationOptions();
  corePID: PID = ZERO_PID;
  coreEnv: Map<string, unknown> | null = null;
  coreLogLevel: number | bigint = 0;
  constructor(init?: Fields<ApplicationOptionsExtra>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.Route`: one way to reach a node (the registrar sends Host empty: use the node's host). */
export class Route {
  host = '';
  port = 0;
  tls = false;
  handshakeVersion: Version = new Version();
  protoVersion: Version = new Version();
  constructor(init?: Fields<Route>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * `gen.NetworkFlags` (custom marshaler: `u32 8` + `u64` bitmask, WIRE.md §2.6). When `enable`
 * is false the mask is all zero and every flag decodes as false.
 */
export class NetworkFlags {
  enable = false;
  enableRemoteSpawn = false;
  enableRemoteApplicationStart = false;
  enableFragmentation = false;
  enableProxyTransit = false;
  enableProxyAccept = false;
  enableImportantDelivery = false;
  constructor(init?: Fields<NetworkFlags>) {
    if (init) Object.assign(this, init);
  }

  /** Go's `gen.DefaultNetworkFlags` (mask 0x67). */
  static defaults(): NetworkFlags {
    return new NetworkFlags({
      enable: true,
      enableRemoteSpawn: true,
      enableRemoteApplicationStart: true,
      enableProxyAccept: true,
      enableImportantDelivery: true,
    });
  }

  /** The bitmask as Go writes it. */
  mask(): number {
    if (!this.enable) return 0;
    return (
      1 |
      (this.enableRemoteSpawn ? 2 : 0) |
      (this.enableRemoteApplicationStart ? 4 : 0) |
      (this.enableFragmentation ? 8 : 0) |
      (this.enableProxyTransit ? 16 : 0) |
      (this.enableProxyAccept ? 32 : 0) |
      (this.enableImportantDelivery ? 64 : 0)
    );
  }

  /** Flags from a mask (bit 0 clear: all false). */
  static fromMask(mask: number): NetworkFlags {
    const f = new NetworkFlags();
    if ((mask & 1) === 0) return f;
    f.enable = true;
    f.enableRemoteSpawn = (mask & 2) !== 0;
    f.enableRemoteApplicationStart = (mask & 4) !== 0;
    f.enableFragmentation = (mask & 8) !== 0;
    f.enableProxyTransit = (mask & 16) !== 0;
    f.enableProxyAccept = (mask & 32) !== 0;
    f.enableImportantDelivery = (mask & 64) !== 0;
    return f;
  }
}

// ---- handshake ----

/** `handshake.MessageHello`. */
export class MessageHello {
  salt = '';
  digest = '';
  digestCert = '';
  constructor(init?: Fields<MessageHello>) {
    if (init) Object.assign(this, init);
  }
}

/** `handshake.MessageJoin`. */
export class MessageJoin {
  node = '';
  connectionID = '';
  salt = '';
  digest = '';
  constructor(init?: Fields<MessageJoin>) {
    if (init) Object.assign(this, init);
  }
}

/** `handshake.MessageIntroduce`: caches are id → atom / type name / error (nil = none). */
export class MessageIntroduce {
  node = '';
  version: Version = new Version();
  flags: NetworkFlags = new NetworkFlags();
  creation: number | bigint = 0;
  maxMessageSize: number | bigint = 0;
  atomCache: Map<number, string> | null = null;
  regCache: Map<number, string> | null = null;
  errCache: Map<number, Error | null> | null = null;
  digest = '';
  constructor(init?: Fields<MessageIntroduce>) {
    if (init) Object.assign(this, init);
  }
}

/** `handshake.MessageAccept`. */
export class MessageAccept {
  id = '';
  poolSize: number | bigint = 0;
  poolDSN: string[] | null = null;
  digest = '';
  digestCert = '';
  constructor(init?: Fields<MessageAccept>) {
    if (init) Object.assign(this, init);
  }
}

// ---- ENP control messages ----

/** Fields shared by every Link/Unlink/Monitor/Demonitor request. */
export interface ControlFields<T> {
  source?: PID;
  target?: T;
  ref?: Ref;
}

/** Base of the Link/Unlink/Monitor/Demonitor requests: `{Source PID, Target <kind>, Ref}`. */
export abstract class ControlMessage<T> {
  source: PID;
  target: T;
  ref: Ref;
  constructor(init: ControlFields<T> | undefined, zero: T) {
    this.source = init?.source ?? ZERO_PID;
    this.target = init?.target ?? zero;
    this.ref = init?.ref ?? ZERO_REF;
  }
}

/* eslint-disable @typescript-eslint/no-extraneous-class */
/** `proto.MessageLinkPID`. */
export class MessageLinkPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageUnlinkPID`. */
export class MessageUnlinkPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageMonitorPID`. */
export class MessageMonitorPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageDemonitorPID`. */
export class MessageDemonitorPID extends ControlMessage<PID> {
  constructor(init?: ControlFields<PID>) {
    super(init, ZERO_PID);
  }
}
/** `proto.MessageLinkProcessID`. */
export class MessageLinkProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageUnlinkProcessID`. */
export class MessageUnlinkProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageMonitorProcessID`. */
export class MessageMonitorProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageDemonitorProcessID`. */
export class MessageDemonitorProcessID extends ControlMessage<ProcessID> {
  constructor(init?: ControlFields<ProcessID>) {
    super(init, new ProcessID(''));
  }
}
/** `proto.MessageLinkAlias`. */
export class MessageLinkAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageUnlinkAlias`. */
export class MessageUnlinkAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageMonitorAlias`. */
export class MessageMonitorAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageDemonitorAlias`. */
export class MessageDemonitorAlias extends ControlMessage<Alias> {
  constructor(init?: ControlFields<Alias>) {
    super(init, ZERO_ALIAS);
  }
}
/** `proto.MessageLinkEvent` (the result is a typed `[]gen.MessageEvent`, even when empty). */
export class MessageLinkEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}
/** `proto.MessageUnlinkEvent`. */
export class MessageUnlinkEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}
/** `proto.MessageMonitorEvent` (the result is a typed `[]gen.MessageEvent`, even when empty). */
export class MessageMonitorEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}
/** `proto.MessageDemonitorEvent`. */
export class MessageDemonitorEvent extends ControlMessage<Event> {
  constructor(init?: ControlFields<Event>) {
    super(init, new Event('', ''));
  }
}

/** `proto.MessageSpawn`: remote spawn request; the result is the new `gen.PID`. */
export class MessageSpawn {
  name = '';
  options: ProcessOptionsExtra = new ProcessOptionsExtra();
  ref: Ref = ZERO_REF;
  constructor(init?: Fields<MessageSpawn>) {
    if (init) Object.assign(this, init);
  }
}

/** `proto.MessageApplicationStart`: mode 0 = the application's own, 1 temporary, 2 transient, 3 permanent. */
export class MessageApplicationStart {
  name = '';
  mode: number | bigint = 0;
  options: ApplicationOptionsExtra = new ApplicationOptionsExtra();
  ref: Ref = ZERO_REF;
  constructor(init?: Fields<MessageApplicationStart>) {
    if (init) Object.assign(this, init);
  }
}

/** `proto.MessageUpdateCache` (Go 3.2 never sends it; never send one with entries to Go). */
export class MessageUpdateCache {
  atomCache: Map<number, string> | null = null;
  atomMapping: Map<string, string> | null = null;
  regCache: Map<number, string> | null = null;
  errCache: Map<number, Error | null> | null = null;
  ref: Ref = ZERO_REF;
  constructor(init?: Fields<MessageUpdateCache>) {
    if (init) Object.assign(this, init);
  }
}

/** `proto.MessageResult`: the answer to every control request (echo the request's Ref). */
export class MessageResult {
  error: Error | null = null;
  result: unknown = null;
  ref: Ref = ZERO_REF;
  constructor(init?: Fields<MessageResult>) {
    if (init) Object.assign(this, init);
  }
}

// ---- registrar ----

/** `registrar.MessageRegisterRoutes`. */
export class MessageRegisterRoutes {
  node = '';
  routes: Route[] | null = null;
  constructor(init?: Fields<MessageRegisterRoutes>) {
    if (init) Object.assign(this, init);
  }
}

/** `registrar.MessageRegisterReply`. */
export class MessageRegisterReply {
  error: Error | null = null;
  constructor(init?: Fields<MessageRegisterReply>) {
    if (init) Object.assign(this, init);
  }
}

/** `registrar.MessageResolveRoutes`. */
export class MessageResolveRoutes {
  node = '';
  constructor(init?: Fields<MessageResolveRoutes>) {
    if (init) Object.assign(this, init);
  }
}

/** `registrar.MessageResolveReply`. */
export class MessageResolveReply {
  routes: Route[] | null = null;
  error: Error | null = null;
  constructor(init?: Fields<MessageResolveReply>) {
    if (init) Object.assign(this, init);
  }
}

/** Go registration names of the framework types, by their Go spelling. */
export const FrameworkTypeName = Object.freeze({
  Env: `${GEN}Env`,
  LogLevel: `${GEN}LogLevel`,
  MessagePriority: `${GEN}MessagePriority`,
  CompressionType: `${GEN}CompressionType`,
  CompressionLevel: `${GEN}CompressionLevel`,
  ApplicationMode: `${GEN}ApplicationMode`,
  Version: `${GEN}Version`,
  Compression: `${GEN}Compression`,
  ProcessFallback: `${GEN}ProcessFallback`,
  ProcessOptions: `${GEN}ProcessOptions`,
  ProcessOptionsExtra: `${GEN}ProcessOptionsExtra`,
  ApplicationOptions: `${GEN}ApplicationOptions`,
  ApplicationOptionsExtra: `${GEN}ApplicationOptionsExtra`,
  NetworkFlags: `${GEN}NetworkFlags`,
  Route: `${GEN}Route`,
  MessageEvent: `${GEN}MessageEvent`,
  MessageEventStart: `${GEN}MessageEventStart`,
  MessageEventStop: `${GEN}MessageEventStop`,
});

function flagsMarshal(v: NetworkFlags | Fields<NetworkFlags> | null | undefined): Uint8Array {
  const f = v instanceof NetworkFlags ? v : new NetworkFlags(v ?? undefined);
  const out = new Uint8Array(8);
  out[7] = f.mask();
  return out;
}

function flagsUnmarshal(b: Uint8Array): NetworkFlags {
  if (b.length < 8) throw new EdfError('ERR_EDF_DECODE', 'unable to unmarshal NetworkFlags');
  return NetworkFlags.fromMask(b[7]!);
}

/**
 * Registers the framework's wire types in `r` (the default registry has them already).
 * @throws EdfError `ERR_EDF_REGISTER` if one of the names is already taken in `r`.
 */
export function registerFrameworkTypes(r: EdfRegistry): void {
  const env = r.register({ name: FrameworkTypeName.Env, type: Go.string });
  const logLevel = r.register({ name: FrameworkTypeName.LogLevel, type: Go.int });
  const priority = r.register({ name: FrameworkTypeName.MessagePriority, type: Go.int });
  const ctype = r.register({ name: FrameworkTypeName.CompressionType, type: Go.string });
  const clevel = r.register({ name: FrameworkTypeName.CompressionLevel, type: Go.int });
  const appMode = r.register({ name: FrameworkTypeName.ApplicationMode, type: Go.int });
  const envMap = Go.map(env, Go.any);

  const version = r.register({
    name: FrameworkTypeName.Version,
    class: Version,
    fields: { name: Go.string, release: Go.string, commit: Go.string, license: Go.string },
  });
  const compression = r.register({
    name: FrameworkTypeName.Compression,
    class: WireCompression,
    fields: { enable: Go.bool, type: ctype, level: clevel, threshold: Go.int },
  });
  const fallback = r.register({
    name: FrameworkTypeName.ProcessFallback,
    class: WireProcessFallback,
    fields: { enable: Go.bool, name: Go.atom, tag: Go.string },
  });
  const processOptions = r.register({
    name: FrameworkTypeName.ProcessOptions,
    class: WireProcessOptions,
    fields: {
      mailboxSize: Go.int64,
      leader: Go.pid,
      env: envMap,
      compression,
      sendPriority: priority,
      importantDelivery: Go.bool,
      fallback,
      linkParent: Go.bool,
      linkChild: Go.bool,
      logLevel,
    },
  });
  const processOptionsExtra = r.register({
    name: FrameworkTypeName.ProcessOptionsExtra,
    class: ProcessOptionsExtra,
    fields: {
      processOptions,
      parentPID: Go.pid,
      parentLeader: Go.pid,
      parentEnv: envMap,
      parentLogLevel: logLevel,
      register: Go.atom,
      application: Go.atom,
      args: Go.slice(Go.any),
    },
  });
  const appOptions = r.register({
    name: FrameworkTypeName.ApplicationOptions,
    class: WireApplicationOptions,
    fields: { env: envMap, logLevel },
  });
  const appOptionsExtra = r.register({
    name: FrameworkTypeName.ApplicationOptionsExtra,
    class: ApplicationOptionsExtra,
    fields: { applicationOptions: appOptions, corePID: Go.pid, coreEnv: envMap, coreLogLevel: logLevel },
  });
  const flags = r.register({ name: FrameworkTypeName.NetworkFlags, class: NetworkFlags, marshal: flagsMarshal, unmarshal: flagsUnmarshal });
  const route: RegisteredType = r.register({
    name: FrameworkTypeName.Route,
    class: Route,
    fields: { host: Go.string, port: Go.uint16, tls: Go.bool, handshakeVersion: version, protoVersion: version },
  });
  r.register({
    name: FrameworkTypeName.MessageEvent,
    class: MessageEvent,
    fields: { event: Go.event, timestamp: Go.int64, message: Go.any },
    create: (f: Record<string, unknown>) => new MessageEvent(f.event as Event, BigInt(f.timestamp as number | bigint), f.message),
  });
  r.register({ name: FrameworkTypeName.MessageEventStart, class: MessageEventStart, fields: { name: Go.atom }, create: (f: Record<string, unknown>) => new MessageEventStart(f.name as string) });
  r.register({ name: FrameworkTypeName.MessageEventStop, class: MessageEventStop, fields: { name: Go.atom }, create: (f: Record<string, unknown>) => new MessageEventStop(f.name as string) });

  // Handshake.
  r.register({ name: `${HANDSHAKE}MessageHello`, class: MessageHello, fields: { salt: Go.string, digest: Go.string, digestCert: Go.string } });
  r.register({
    name: `${HANDSHAKE}MessageJoin`,
    class: MessageJoin,
    fields: { node: Go.atom, connectionID: Go.string, salt: Go.string, digest: Go.string },
  });
  const atomCache = Go.map(Go.uint16, Go.atom);
  const regCache = Go.map(Go.uint16, Go.string);
  const errCache = Go.map(Go.uint16, Go.error);
  r.register({
    name: `${HANDSHAKE}MessageIntroduce`,
    class: MessageIntroduce,
    fields: {
      node: Go.atom,
      version,
      flags,
      creation: Go.int64,
      maxMessageSize: Go.int,
      atomCache,
      regCache,
      errCache,
      digest: Go.string,
    },
  });
  r.register({
    name: `${HANDSHAKE}MessageAccept`,
    class: MessageAccept,
    fields: { id: Go.string, poolSize: Go.int, poolDSN: Go.slice(Go.string), digest: Go.string, digestCert: Go.string },
  });

  // ENP control messages.
  const control: [string, new () => object, typeof Go.pid][] = [
    ['MessageLinkPID', MessageLinkPID, Go.pid],
    ['MessageUnlinkPID', MessageUnlinkPID, Go.pid],
    ['MessageMonitorPID', MessageMonitorPID, Go.pid],
    ['MessageDemonitorPID', MessageDemonitorPID, Go.pid],
    ['MessageLinkProcessID', MessageLinkProcessID, Go.processID],
    ['MessageUnlinkProcessID', MessageUnlinkProcessID, Go.processID],
    ['MessageMonitorProcessID', MessageMonitorProcessID, Go.processID],
    ['MessageDemonitorProcessID', MessageDemonitorProcessID, Go.processID],
    ['MessageLinkAlias', MessageLinkAlias, Go.alias],
    ['MessageUnlinkAlias', MessageUnlinkAlias, Go.alias],
    ['MessageMonitorAlias', MessageMonitorAlias, Go.alias],
    ['MessageDemonitorAlias', MessageDemonitorAlias, Go.alias],
    ['MessageLinkEvent', MessageLinkEvent, Go.event],
    ['MessageUnlinkEvent', MessageUnlinkEvent, Go.event],
    ['MessageMonitorEvent', MessageMonitorEvent, Go.event],
    ['MessageDemonitorEvent', MessageDemonitorEvent, Go.event],
  ];
  for (const [name, cls, target] of control) {
    r.register({ name: `${PROTO}${name}`, class: cls, fields: { source: Go.pid, target, ref: Go.ref } });
  }
  r.register({ name: `${PROTO}MessageSpawn`, class: MessageSpawn, fields: { name: Go.atom, options: processOptionsExtra, ref: Go.ref } });
  r.register({
    name: `${PROTO}MessageApplicationStart`,
    class: MessageApplicationStart,
    fields: { name: Go.atom, mode: appMode, options: appOptionsExtra, ref: Go.ref },
  });
  r.register({
    name: `${PROTO}MessageUpdateCache`,
    class: MessageUpdateCache,
    fields: { atomCache, atomMapping: Go.map(Go.atom, Go.atom), regCache, errCache, ref: Go.ref },
  });
  r.register({ name: `${PROTO}MessageResult`, class: MessageResult, fields: { error: Go.error, result: Go.any, ref: Go.ref } });

  // Registrar.
  const routes = Go.slice(route);
  r.register({ name: `${REGISTRAR}MessageRegisterRoutes`, class: MessageRegisterRoutes, fields: { node: Go.atom, routes } });
  r.register({ name: `${REGISTRAR}MessageRegisterReply`, class: MessageRegisterReply, fields: { error: Go.error } });
  r.register({ name: `${REGISTRAR}MessageResolveRoutes`, class: MessageResolveRoutes, fields: { node: Go.atom } });
  r.register({ name: `${REGISTRAR}MessageResolveReply`, class: MessageResolveReply, fields: { routes, error: Go.error } });
}

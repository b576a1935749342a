// The framework's own value types (the `gen` structs of WIRE.md Appendix A), registered under
// Go Ergo's names so that they are byte-compatible with Go nodes wherever they travel (inside
// handshake, ENP control and registrar messages, and gen.MessageEvent). The protocol messages
// themselves live with their protocols (net/handshake, net/proto, net/registrar), which register
// them on import. The classes mirror the Go structs field by field (camelCase); fields start at
// Go's zero values. int64/int fields decode to a number when safe, else a bigint.

import { type Event } from '../../gen/event.js';
import { MessageEvent, MessageEventStart, MessageEventStop } from '../../gen/messages.js';
import { PID } from '../../gen/pid.js';
import type { Version } from '../../gen/node.js';
import { EdfError } from './errors.js';
import type { EdfRegistry } from './registry.js';
import { Go } from './wrappers.js';

const GEN = '#ergo.services/ergo/gen/';

const ZERO_PID = new PID('', 0, 0);

/** Fields of a wire class (its own data properties), for constructor initialisers. */
export type Fields<T> = { -readonly [K in keyof T as T[K] extends (...a: never[]) => unknown ? never : K]?: T[K] };

/**
 * `gen.Version` as it travels: the wire form of gen's {@link Version} interface (as
 * WireCompression is of Compression). Any `Version` object converts with `new WireVersion(v)`;
 * missing `commit`/`license` travel as empty strings.
 */
export class WireVersion implements Version {
  name = '';
  release = '';
  commit = '';
  license = '';
  constructor(init?: Partial<Version> | null) {
    if (init) {
      this.name = init.name ?? '';
      this.release = init.release ?? '';
      this.commit = init.commit ?? '';
      this.license = init.license ?? '';
    }
  }
}

// The remote spawn's structs below set each field once in the constructor, from `init` or the
// zero value, instead of field initialisers plus Object.assign: a nested zero struct is built
// only when `init` lacks it, so decoding (which passes every field) and encoding a spawn request
// allocate no zero structs that are thrown away at once (they were half of a remote spawn's
// allocations on each side).

/** `gen.Compression` as it travels (the options object is `gen`'s Compression interface). */
export class WireCompression {
  enable: boolean;
  /** `gen.CompressionType`: 'gzip' | 'zlib' | 'lzw' | ''. */
  type: string;
  /** `gen.CompressionLevel`: 0 default, 1 best speed, 2 best size. */
  level: number | bigint;
  threshold: number | bigint;
  constructor(init?: Fields<WireCompression>) {
    this.enable = init?.enable ?? false;
    this.type = init?.type ?? '';
    this.level = init?.level ?? 0;
    this.threshold = init?.threshold ?? 0;
  }
}

/** `gen.ProcessFallback` as it travels. */
export class WireProcessFallback {
  enable: boolean;
  name: string;
  tag: string;
  constructor(init?: Fields<WireProcessFallback>) {
    this.enable = init?.enable ?? false;
    this.name = init?.name ?? '';
    this.tag = init?.tag ?? '';
  }
}

/** `gen.ProcessOptions` as it travels. */
export class WireProcessOptions {
  mailboxSize: number | bigint;
  leader: PID;
  env: Map<string, unknown> | null;
  compression: WireCompression;
  sendPriority: number | bigint;
  importantDelivery: boolean;
  fallback: WireProcessFallback;
  linkParent: boolean;
  linkChild: boolean;
  logLevel: number | bigint;
  constructor(init?: Fields<WireProcessOptions>) {
    this.mailboxSize = init?.mailboxSize ?? 0;
    this.leader = init?.leader ?? ZERO_PID;
    this.env = init?.env ?? null;
    this.compression = init?.compression ?? new WireCompression();
    this.sendPriority = init?.sendPriority ?? 0;
    this.importantDelivery = init?.importantDelivery ?? false;
    this.fallback = init?.fallback ?? new WireProcessFallback();
    this.linkParent = init?.linkParent ?? false;
    this.linkChild = init?.linkChild ?? false;
    this.logLevel = init?.logLevel ?? 0;
  }
}

/** `gen.ProcessOptionsExtra`: what a remote spawn carries. */
export class ProcessOptionsExtra {
  processOptions: WireProcessOptions;
  parentPID: PID;
  parentLeader: PID;
  parentEnv: Map<string, unknown> | null;
  parentLogLevel: number | bigint;
  register: string;
  application: string;
  args: unknown[] | null;
  constructor(init?: Fields<ProcessOptionsExtra>) {
    this.processOptions = init?.processOptions ?? new WireProcessOptions();
    this.parentPID = init?.parentPID ?? ZERO_PID;
    this.parentLeader = init?.parentLeader ?? ZERO_PID;
    this.parentEnv = init?.parentEnv ?? null;
    this.parentLogLevel = init?.parentLogLevel ?? 0;
    this.register = init?.register ?? '';
    this.application = init?.application ?? '';
    this.args = init?.args ?? null;
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

/** `gen.ApplicationDepends` as it travels. */
export class WireApplicationDepends {
  applications: string[] | null = null;
  network = false;
  constructor(init?: Fields<WireApplicationDepends>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * `gen.ApplicationInfo` as it travels (the answer to `RemoteNode.applicationInfo`, Ergo 3.2.0,
 * and the entries of the inspector's application list): the field order of the 3.2.0 struct,
 * which put `Tags` and `Map` right after `Weight`. Encoded in that layout; the pre-3.2.0 layout
 * (no `Tags`, no `Map`) decodes too, with both left null.
 */
export class WireApplicationInfo {
  name = '';
  weight: number | bigint = 0;
  tags: string[] | null = null;
  map: Map<string, string> | null = null;
  description = '';
  version: WireVersion = new WireVersion();
  env: Map<string, unknown> | null = null;
  depends: WireApplicationDepends = new WireApplicationDepends();
  /** `gen.ApplicationMode`: 1 temporary, 2 transient, 3 permanent. */
  mode: number | bigint = 0;
  /** `gen.ApplicationState` (int32): 1 loaded, 2 running, 3 stopping. */
  state: number | bigint = 0;
  parent = '';
  uptime: number | bigint = 0;
  group: PID[] | null = null;
  constructor(init?: Fields<WireApplicationInfo>) {
    if (init) Object.assign(this, init);
  }
}

/** `gen.Route`: one way to reach a node (the registrar sends Host empty: use the node's host). */
export class Route {
  host = '';
  port = 0;
  tls = false;
  handshakeVersion: WireVersion = new WireVersion();
  protoVersion: WireVersion = new WireVersion();
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
  /**
   * ergo-ts only (bit 56 of the mask, which Go Ergo 3.2 ignores; independent of `enable`): the
   * node decodes the JS-value extension of EDF (`JsTag`), so a peer that sees it sends plain
   * objects, `undefined`, bigints, Sets and Dates as they are. In a node's own flags undefined
   * means on (ergo-ts handshakes announce it unless it is false); in decoded flags it is true
   * when the peer set the bit, else undefined (Go peers).
   */
  jsValues?: boolean;
  /**
   * ergo-ts only (bit 62 of the mask, ignored by Go Ergo 3.2): the node takes event batch
   * packets (one publisher's events of one event name, several per ENP packet). Sent only
   * between two nodes that both announce it; undefined/true/false as `jsValues`.
   */
  eventBatch?: boolean;
  /**
   * ergo-ts only (bit 61 of the mask, ignored by Go Ergo 3.2): the node takes control batch
   * packets (monitor/demonitor/spawn requests and their plain answers, many per ENP packet; see
   * proto/control_batch.ts). Sent only between two nodes that both announce it; undefined/true/false
   * as `jsValues`.
   */
  controlBatch?: boolean;
  /**
   * ergo-ts only (bit 57, ignored by Go): on an in-host link, the node reads the in-host
   * private frame (net/inhost/private_frame.ts). Announced only in in-host handshakes.
   */
  inHostFrame?: boolean;
  /**
   * ergo-ts only (bit 58, ignored by Go): the node takes part in the ergo-ts link-count
   * agreement (an acceptor that announces it offers an initiator that announces it its
   * `ergoPoolSize`); undefined/true/false as `jsValues`.
   */
  ergoPool?: boolean;
  /**
   * ergo-ts only (bit 59, ignored by Go): the node reads the ergo-ts link frames (8-byte ENP
   * packets of type 232: the heartbeat's probe and answer, proto/heartbeat.ts, and the pool's
   * switch, proto/link_pool.ts); used only between two nodes that both announce it;
   * undefined/true/false as `jsValues`.
   */
  ergoFrames?: boolean;
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

/** Go registration names of the framework types, by their Go spelling. */
export const FrameworkTypeName = Object.freeze({
  Env: `${GEN}Env`,
  LogLevel: `${GEN}LogLevel`,
  MessagePriority: `${GEN}MessagePriority`,
  CompressionType: `${GEN}CompressionType`,
  CompressionLevel: `${GEN}CompressionLevel`,
  ApplicationMode: `${GEN}ApplicationMode`,
  ApplicationState: `${GEN}ApplicationState`,
  ApplicationDepends: `${GEN}ApplicationDepends`,
  ApplicationInfo: `${GEN}ApplicationInfo`,
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
  if (f.jsValues === true) out[0] = JS_VALUES_BIT;
  if (f.eventBatch === true) out[0] |= EVENT_BATCH_BIT;
  if (f.controlBatch === true) out[0] |= CONTROL_BATCH_BIT;
  if (f.inHostFrame === true) out[0] |= IN_HOST_FRAME_BIT;
  if (f.ergoPool === true) out[0] |= ERGO_POOL_BIT;
  if (f.ergoFrames === true) out[0] |= ERGO_FRAMES_BIT;
  return out;
}

/** Bit 56 of the mask (in its first byte): far from the bits Go Ergo assigns, from the bottom up. */
const JS_VALUES_BIT = 0x01;
/** Bit 62 of the mask: the node takes ergo-ts event batch packets. */
const EVENT_BATCH_BIT = 0x40;
/** Bit 61 of the mask: the node takes ergo-ts control batch packets. */
const CONTROL_BATCH_BIT = 0x20;
/** Bit 57: the in-host private frame (ergo-ts nodes of one cluster). */
const IN_HOST_FRAME_BIT = 0x02;
/** Bit 58: the ergo-ts link-count agreement (the acceptor's `ergoPoolSize`). */
const ERGO_POOL_BIT = 0x04;
/** Bit 59: the ergo-ts link frames (heartbeat, pool switch). */
const ERGO_FRAMES_BIT = 0x08;

function flagsUnmarshal(b: Uint8Array): NetworkFlags {
  if (b.length < 8) throw new EdfError('ERR_EDF_DECODE', 'unable to unmarshal NetworkFlags');
  const f = NetworkFlags.fromMask(b[7]!);
  // Left undefined when clear, so flags from a Go node decode exactly as Go's fields say.
  if ((b[0]! & JS_VALUES_BIT) !== 0) f.jsValues = true;
  if ((b[0]! & EVENT_BATCH_BIT) !== 0) f.eventBatch = true;
  if ((b[0]! & CONTROL_BATCH_BIT) !== 0) f.controlBatch = true;
  if ((b[0]! & IN_HOST_FRAME_BIT) !== 0) f.inHostFrame = true;
  if ((b[0]! & ERGO_POOL_BIT) !== 0) f.ergoPool = true;
  if ((b[0]! & ERGO_FRAMES_BIT) !== 0) f.ergoFrames = true;
  return f;
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
  const appState = r.register({ name: FrameworkTypeName.ApplicationState, type: Go.int32 });
  const envMap = Go.map(env, Go.any);

  const version = r.register({
    name: FrameworkTypeName.Version,
    class: WireVersion,
    fields: { name: Go.string, release: Go.string, commit: Go.string, license: Go.string },
  });
  const compression = r.register({
    name: FrameworkTypeName.Compression,
    class: WireCompression,
    fields: { enable: Go.bool, type: ctype, level: clevel, threshold: Go.int },
    create: (f: Fields<WireCompression>) => new WireCompression(f),
  });
  const fallback = r.register({
    name: FrameworkTypeName.ProcessFallback,
    class: WireProcessFallback,
    fields: { enable: Go.bool, name: Go.atom, tag: Go.string },
    create: (f: Fields<WireProcessFallback>) => new WireProcessFallback(f),
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
    create: (f: Fields<WireProcessOptions>) => new WireProcessOptions(f),
  });
  r.register({
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
    create: (f: Fields<ProcessOptionsExtra>) => new ProcessOptionsExtra(f),
  });
  const appOptions = r.register({
    name: FrameworkTypeName.ApplicationOptions,
    class: WireApplicationOptions,
    fields: { env: envMap, logLevel },
  });
  r.register({
    name: FrameworkTypeName.ApplicationOptionsExtra,
    class: ApplicationOptionsExtra,
    fields: { applicationOptions: appOptions, corePID: Go.pid, coreEnv: envMap, coreLogLevel: logLevel },
  });
  const depends = r.register({
    name: FrameworkTypeName.ApplicationDepends,
    class: WireApplicationDepends,
    fields: { applications: Go.slice(Go.atom), network: Go.bool },
  });
  r.register({
    name: FrameworkTypeName.ApplicationInfo,
    class: WireApplicationInfo,
    fields: {
      name: Go.atom,
      weight: Go.int,
      tags: Go.slice(Go.atom),
      map: Go.map(Go.string, Go.atom),
      description: Go.string,
      version,
      env: envMap,
      depends,
      mode: appMode,
      state: appState,
      parent: Go.atom,
      uptime: Go.int64,
      group: Go.slice(Go.pid),
    },
    // Before 3.2.0 (Ergo 3.1 and the v320 branch until Tags/Map): no Tags, no Map. Tried only
    // when the 3.2.0 list fails, which it does at once on these bytes: Tags must start with a
    // slice marker (0x9d or 0xff) where the old layout has Description's length.
    olderLayouts: [
      ['name', 'weight', 'description', 'version', 'env', 'depends', 'mode', 'state', 'parent', 'uptime', 'group'],
    ],
  });
  r.register({
    name: FrameworkTypeName.NetworkFlags,
    class: NetworkFlags,
    marshal: flagsMarshal,
    unmarshal: flagsUnmarshal,
  });
  r.register({
    name: FrameworkTypeName.Route,
    class: Route,
    fields: { host: Go.string, port: Go.uint16, tls: Go.bool, handshakeVersion: version, protoVersion: version },
  });
  r.register({
    name: FrameworkTypeName.MessageEvent,
    class: MessageEvent,
    fields: { event: Go.event, timestamp: Go.int64, message: Go.any },
    create: (f: Record<string, unknown>) =>
      new MessageEvent(f.event as Event, BigInt(f.timestamp as number | bigint), f.message),
  });
  r.register({
    name: FrameworkTypeName.MessageEventStart,
    class: MessageEventStart,
    fields: { name: Go.atom },
    create: (f: Record<string, unknown>) => new MessageEventStart(f.name as string),
  });
  r.register({
    name: FrameworkTypeName.MessageEventStop,
    class: MessageEventStop,
    fields: { name: Go.atom },
    create: (f: Record<string, unknown>) => new MessageEventStop(f.name as string),
  });
}

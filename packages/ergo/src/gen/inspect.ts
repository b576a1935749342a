// The inspector protocol of Ergo's system application (`app/system/inspect`): the requests a
// client (the Observer, a tool, another node) sends as a Call to `system_inspect`, the responses
// naming the event an inspector publishes, and the snapshots (`MessageInspect*`) published on it
// every second. The classes mirror Go's structs field by field, in Go's order, in camelCase; the
// EDF registry knows them under Go's names (`#ergo.services/ergo/app/system/inspect/<Type>`), so
// an ergo-ts node and a Go node inspect each other. The snapshot payloads use the wire shapes of
// Go's `gen` info structs (`Inspect*Info` below), which differ from the node API's own info types
// where Go has fields Node.js has not (and the other way round).

import type { Atom } from './atom.js';
import { Event } from './event.js';
import type { LogLevel } from './log.js';
import { PID } from './pid.js';
import type { ProcessID } from './processid.js';
import { Alias } from './ref.js';
import type { MessagePriority } from './priority.js';

/** Go package path of the inspect types: registration names are `${INSPECT_PACKAGE}/<Type>`. */
export const INSPECT_PACKAGE = '#ergo.services/ergo/app/system/inspect';

/** Package path of the ergo-ts extensions of the protocol (types Go does not have). */
export const INSPECT_EXT_PACKAGE = '#ergo-ts/app/system/inspect';

/** Name of the system application (Go's `system.Name`). */
export const SYSTEM_APP = 'system_app' as Atom;
/** Name of the system application's supervisor. */
export const SYSTEM_SUP = 'system_sup' as Atom;
/** Name of the process that answers the inspector protocol (Go's `inspect.Name`). */
export const SYSTEM_INSPECT = 'system_inspect' as Atom;

const NO_EVENT = new Event('' as Atom, '' as Atom);
const NO_PID = new PID('' as Atom, 0, 0);
const NO_ALIAS = new Alias('' as Atom, 0, [0, 0, 0]);

type Init<T> = { -readonly [K in keyof T as T[K] extends (...a: never[]) => unknown ? never : K]?: T[K] };

// ---- wire shapes of Go's gen info structs (gen.NodeInfo, gen.ProcessInfo, ...) ----

/** `gen.Version` on the wire. */
export interface InspectVersion {
  name: string;
  release: string;
  commit: string;
  license: string;
}

/** `gen.LoggerInfo`. */
export interface InspectLoggerInfo {
  name: string;
  behavior: string;
  levels: LogLevel[] | null;
}

/** `gen.ProcessFallback`. */
export interface InspectProcessFallback {
  enable: boolean;
  name: Atom;
  tag: string;
}

/** `gen.CronJobInfo`; times are Go `time.Time` values (Date or GoTime). */
export interface InspectCronJobInfo {
  disabled: boolean;
  name: Atom;
  spec: string;
  location: string;
  actionInfo: string;
  lastRun: unknown;
  lastErr: string;
  fallback: InspectProcessFallback;
}

/** `gen.CronInfo`. */
export interface InspectCronInfo {
  next: unknown;
  spool: Atom[] | null;
  jobs: InspectCronJobInfo[] | null;
}

/** `gen.NodeInfo` (Ergo 3.2). Memory figures are the V8 heap (used / total allocated). */
export interface InspectNodeInfo {
  name: Atom;
  uptime: number;
  version: InspectVersion;
  framework: InspectVersion;
  commercial: InspectVersion[] | null;
  /** Only when the node sets `security.exposeEnvInfo`; values as strings, as Go formats them. */
  env: Map<string, unknown> | null;
  logLevel: LogLevel;
  loggers: InspectLoggerInfo[] | null;
  cron: InspectCronInfo;
  processesTotal: number;
  processesRunning: number;
  processesZombee: number;
  registeredAliases: number;
  registeredNames: number;
  registeredEvents: number;
  applicationsTotal: number;
  applicationsRunning: number;
  memoryUsed: number;
  memoryAlloc: number;
  /** Nanoseconds. */
  userTime: number;
  /** Nanoseconds. */
  systemTime: number;
}

/** `gen.MailboxQueues`. */
export interface InspectMailboxQueues {
  main: number;
  system: number;
  urgent: number;
  log: number;
}

/** `gen.Compression` on the wire. */
export interface InspectCompression {
  enable: boolean;
  type: string;
  level: number;
  threshold: number;
}

/** `gen.ProcessShortInfo`. */
export interface InspectProcessShortInfo {
  pid: PID;
  name: Atom;
  application: Atom;
  behavior: string;
  messagesIn: number;
  messagesOut: number;
  messagesMailbox: number;
  /** Nanoseconds. */
  runningTime: number;
  /**
   * ergo-ts addition, not in Go's layout (so it does not cross the network): when the handler
   * the process is still in began (ms since the epoch; 0 or absent: in none). See
   * `ProcessInfo.handlerStartedAt`.
   */
  handlerStartedAt?: number;
  /** Seconds. */
  uptime: number;
  /** `gen.ProcessState` bit value. */
  state: number;
  parent: PID;
  leader: PID;
  logLevel: LogLevel;
}

/** `gen.ProcessInfo`. */
export interface InspectProcessInfo {
  pid: PID;
  name: Atom;
  application: Atom;
  behavior: string;
  mailboxSize: number;
  mailboxQueues: InspectMailboxQueues;
  messagesIn: number;
  messagesOut: number;
  runningTime: number;
  /** ergo-ts addition, as {@link InspectProcessShortInfo.handlerStartedAt} (not sent to other nodes). */
  handlerStartedAt?: number;
  compression: InspectCompression;
  messagePriority: MessagePriority;
  uptime: number;
  state: number;
  parent: PID;
  leader: PID;
  fallback: InspectProcessFallback;
  env: Map<string, unknown> | null;
  aliases: Alias[] | null;
  events: Atom[] | null;
  metas: Alias[] | null;
  monitorsPID: PID[] | null;
  monitorsProcessID: ProcessID[] | null;
  monitorsAlias: Alias[] | null;
  monitorsEvent: Event[] | null;
  monitorsNode: Atom[] | null;
  linksPID: PID[] | null;
  linksProcessID: ProcessID[] | null;
  linksAlias: Alias[] | null;
  linksEvent: Event[] | null;
  linksNode: Atom[] | null;
  logLevel: LogLevel;
  keepNetworkOrder: boolean;
  importantDelivery: boolean;
}

/** `gen.MetaInfo`. */
export interface InspectMetaInfo {
  id: Alias;
  parent: PID;
  application: Atom;
  behavior: string;
  mailboxSize: number;
  mailboxQueues: InspectMailboxQueues;
  messagePriority: MessagePriority;
  messagesIn: number;
  messagesOut: number;
  logLevel: LogLevel;
  uptime: number;
  /** `gen.MetaState`. */
  state: number;
}

/** `gen.NetworkFlags` (travels as a bitmask). */
export interface InspectNetworkFlags {
  enable: boolean;
  enableRemoteSpawn: boolean;
  enableRemoteApplicationStart: boolean;
  enableFragmentation: boolean;
  enableProxyTransit: boolean;
  enableProxyAccept: boolean;
  enableImportantDelivery: boolean;
}

/** `gen.RemoteNodeInfo`. */
export interface InspectRemoteNodeInfo {
  node: Atom;
  uptime: number;
  connectionUptime: number;
  version: InspectVersion;
  handshakeVersion: InspectVersion;
  protoVersion: InspectVersion;
  networkFlags: InspectNetworkFlags;
  poolSize: number;
  poolDSN: string[] | null;
  maxMessageSize: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  transitBytesIn: number;
  transitBytesOut: number;
}

/** `gen.RegistrarInfo`. */
export interface InspectRegistrarInfo {
  server: string;
  embeddedServer: boolean;
  supportRegisterProxy: boolean;
  supportRegisterApplication: boolean;
  supportConfig: boolean;
  supportEvent: boolean;
  version: InspectVersion;
}

/** `gen.AcceptorInfo`. */
export interface InspectAcceptorInfo {
  interface: string;
  maxMessageSize: number;
  flags: InspectNetworkFlags;
  tls: boolean;
  customRegistrar: boolean;
  registrarServer: string;
  registrarVersion: InspectVersion;
  handshakeVersion: InspectVersion;
  protoVersion: InspectVersion;
}

/** `gen.RouteInfo`. */
export interface InspectRouteInfo {
  match: string;
  weight: number;
  useResolver: boolean;
  useCustomCookie: boolean;
  useCustomCert: boolean;
  flags: InspectNetworkFlags;
  handshakeVersion: InspectVersion;
  protoVersion: InspectVersion;
  host: string;
  port: number;
}

/** `gen.NetworkProxyFlags` (Go 3.2 writes it as an empty custom body). */
export interface InspectNetworkProxyFlags {
  enable: boolean;
  enableRemoteSpawn: boolean;
  enableRemoteApplicationStart: boolean;
  enableEncryption: boolean;
  enableImportantDelivery: boolean;
}

/** `gen.ProxyRouteInfo`. */
export interface InspectProxyRouteInfo {
  match: string;
  weight: number;
  useResolver: boolean;
  useCustomCookie: boolean;
  flags: InspectNetworkProxyFlags;
  maxHop: number;
  proxy: Atom;
}

/** `gen.NetworkSpawnInfo`. */
export interface InspectNetworkSpawnInfo {
  name: Atom;
  behavior: string;
  nodes: Atom[] | null;
}

/** `gen.NetworkApplicationStartInfo`. */
export interface InspectNetworkApplicationStartInfo {
  name: Atom;
  nodes: Atom[] | null;
}

/** `gen.NetworkInfo`. */
export interface InspectNetworkInfo {
  /** `gen.NetworkMode`. */
  mode: number;
  registrar: InspectRegistrarInfo;
  acceptors: InspectAcceptorInfo[] | null;
  maxMessageSize: number;
  handshakeVersion: InspectVersion;
  protoVersion: InspectVersion;
  nodes: Atom[] | null;
  routes: InspectRouteInfo[] | null;
  proxyRoutes: InspectProxyRouteInfo[] | null;
  flags: InspectNetworkFlags;
  enabledSpawn: InspectNetworkSpawnInfo[] | null;
  enabledApplicationStart: InspectNetworkApplicationStartInfo[] | null;
}

/** `gen.ApplicationInfo` on the wire (the 3.2.0 layout, with tags and map). */
export interface InspectApplicationInfo {
  name: Atom;
  weight: number;
  tags: Atom[] | null;
  map: Map<string, Atom> | null;
  description: string;
  version: InspectVersion;
  env: Map<string, unknown> | null;
  depends: { applications: Atom[] | null; network: boolean };
  mode: number;
  state: number;
  parent: Atom;
  uptime: number;
  group: PID[] | null;
}

// ---- node ----

/** Ask for the node inspector. Answer: {@link ResponseInspectNode}. */
export class RequestInspectNode {}

/** The node inspector's event plus facts that do not change (platform, version, creation). */
export class ResponseInspectNode {
  crc32 = '';
  event: Event = NO_EVENT;
  os = '';
  arch = '';
  cores = 0;
  version: InspectVersion = { name: '', release: '', commit: '', license: '' };
  creation: number | bigint = 0;
  constructor(init?: Init<ResponseInspectNode>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second on the node inspector's event. */
export class MessageInspectNode {
  node = '' as Atom;
  info = undefined as unknown as InspectNodeInfo;
  constructor(init?: Init<MessageInspectNode>) {
    if (init) Object.assign(this, init);
  }
}

// ---- network ----

/** Ask for the network inspector. Answer: {@link ResponseInspectNetwork}. */
export class RequestInspectNetwork {}

/** The network inspector's event (Go also fills `stopped`/`info` here). */
export class ResponseInspectNetwork {
  event: Event = NO_EVENT;
  stopped = false;
  info = undefined as unknown as InspectNetworkInfo;
  constructor(init?: Init<ResponseInspectNetwork>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second on the network inspector's event; `stopped` when the network is off. */
export class MessageInspectNetwork {
  node = '' as Atom;
  stopped = false;
  info = undefined as unknown as InspectNetworkInfo;
  constructor(init?: Init<MessageInspectNetwork>) {
    if (init) Object.assign(this, init);
  }
}

/** Ask for the inspector of the connection to `remoteNode`. */
export class RequestInspectConnection {
  remoteNode = '' as Atom;
  constructor(init?: Init<RequestInspectConnection>) {
    if (init) Object.assign(this, init);
  }
}

/** The connection inspector's event. */
export class ResponseInspectConnection {
  event: Event = NO_EVENT;
  disconnected = false;
  info = undefined as unknown as InspectRemoteNodeInfo;
  constructor(init?: Init<ResponseInspectConnection>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second; a last one with `disconnected` when the connection is gone. */
export class MessageInspectConnection {
  node = '' as Atom;
  disconnected = false;
  info = undefined as unknown as InspectRemoteNodeInfo;
  constructor(init?: Init<MessageInspectConnection>) {
    if (init) Object.assign(this, init);
  }
}

// ---- process list ----

/** Ask for the processes with ids from `start` (min/default 1000), at most `limit` (default 1000). */
export class RequestInspectProcessList {
  start = 0;
  limit = 0;
  constructor(init?: Init<RequestInspectProcessList>) {
    if (init) Object.assign(this, init);
  }
}

/** The process list inspector's event. */
export class ResponseInspectProcessList {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectProcessList>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second: the processes of the range, sorted by PID. */
export class MessageInspectProcessList {
  node = '' as Atom;
  processes: InspectProcessShortInfo[] | null = null;
  constructor(init?: Init<MessageInspectProcessList>) {
    if (init) Object.assign(this, init);
  }
}

// ---- log ----

/** Ask for the log inspector of these levels (debug, info, warning, error, panic; empty = all five). */
export class RequestInspectLog {
  levels: LogLevel[] | null = null;
  constructor(init?: Init<RequestInspectLog>) {
    if (init) Object.assign(this, init);
  }
}

/** The log inspector's event (named `inspect_log_<letters>_<inspector PID>`). */
export class ResponseInspectLog {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectLog>) {
    if (init) Object.assign(this, init);
  }
}

/** A node log record, pushed at once. `timestamp` is Unix nanoseconds. */
export class MessageInspectLogNode {
  node = '' as Atom;
  creation: number | bigint = 0;
  timestamp: number | bigint = 0;
  level: LogLevel = 0;
  message = '';
  constructor(init?: Init<MessageInspectLogNode>) {
    if (init) Object.assign(this, init);
  }
}

/** A process log record. */
export class MessageInspectLogProcess {
  node = '' as Atom;
  name = '' as Atom;
  pid: PID = NO_PID;
  timestamp: number | bigint = 0;
  level: LogLevel = 0;
  message = '';
  constructor(init?: Init<MessageInspectLogProcess>) {
    if (init) Object.assign(this, init);
  }
}

/** A network log record (`peer` is the remote node it concerns). */
export class MessageInspectLogNetwork {
  node = '' as Atom;
  peer = '' as Atom;
  timestamp: number | bigint = 0;
  level: LogLevel = 0;
  message = '';
  constructor(init?: Init<MessageInspectLogNetwork>) {
    if (init) Object.assign(this, init);
  }
}

/** A meta process log record. */
export class MessageInspectLogMeta {
  node = '' as Atom;
  parent: PID = NO_PID;
  meta: Alias = NO_ALIAS;
  timestamp: number | bigint = 0;
  level: LogLevel = 0;
  message = '';
  constructor(init?: Init<MessageInspectLogMeta>) {
    if (init) Object.assign(this, init);
  }
}

// ---- process / process state ----

/** Ask for the inspector of process `pid`. */
export class RequestInspectProcess {
  pid: PID = NO_PID;
  constructor(init?: Init<RequestInspectProcess>) {
    if (init) Object.assign(this, init);
  }
}

/** The process inspector's event. */
export class ResponseInspectProcess {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectProcess>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second; a last one with `terminated` when the process is gone. */
export class MessageInspectProcess {
  node = '' as Atom;
  info = undefined as unknown as InspectProcessInfo;
  terminated = false;
  constructor(init?: Init<MessageInspectProcess>) {
    if (init) Object.assign(this, init);
  }
}

/** Ask for the inspector of process `pid`'s `handleInspect` state. */
export class RequestInspectProcessState {
  pid: PID = NO_PID;
  constructor(init?: Init<RequestInspectProcessState>) {
    if (init) Object.assign(this, init);
  }
}

/** The process state inspector's event. */
export class ResponseInspectProcessState {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectProcessState>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second: what the process's `handleInspect` returned. */
export class MessageInspectProcessState {
  node = '' as Atom;
  pid: PID = NO_PID;
  state: Map<string, string> | null = null;
  constructor(init?: Init<MessageInspectProcessState>) {
    if (init) Object.assign(this, init);
  }
}

// ---- meta / meta state ----

/** Ask for the inspector of meta process `meta`. */
export class RequestInspectMeta {
  meta: Alias = NO_ALIAS;
  constructor(init?: Init<RequestInspectMeta>) {
    if (init) Object.assign(this, init);
  }
}

/** The meta inspector's event. */
export class ResponseInspectMeta {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectMeta>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second; a last one with `terminated` when the meta process is gone. */
export class MessageInspectMeta {
  node = '' as Atom;
  info = undefined as unknown as InspectMetaInfo;
  terminated = false;
  constructor(init?: Init<MessageInspectMeta>) {
    if (init) Object.assign(this, init);
  }
}

/** Ask for the inspector of meta process `meta`'s `handleInspect` state. */
export class RequestInspectMetaState {
  meta: Alias = NO_ALIAS;
  constructor(init?: Init<RequestInspectMetaState>) {
    if (init) Object.assign(this, init);
  }
}

/** The meta state inspector's event. */
export class ResponseInspectMetaState {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectMetaState>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second: what the meta's `handleInspect` returned. */
export class MessageInspectMetaState {
  node = '' as Atom;
  meta: Alias = NO_ALIAS;
  state: Map<string, string> | null = null;
  constructor(init?: Init<MessageInspectMetaState>) {
    if (init) Object.assign(this, init);
  }
}

// ---- applications ----

/** Ask for the application list inspector. */
export class RequestInspectApplicationList {}

/** The application list inspector's event. */
export class ResponseInspectApplicationList {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectApplicationList>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second: every application, by name. */
export class MessageInspectApplicationList {
  node = '' as Atom;
  applications: Map<string, InspectApplicationInfo> | null = null;
  constructor(init?: Init<MessageInspectApplicationList>) {
    if (init) Object.assign(this, init);
  }
}

/** Ask for the processes of `application` (at most `limit`, default 1000). */
export class RequestInspectApplicationTree {
  application = '' as Atom;
  limit = 0;
  constructor(init?: Init<RequestInspectApplicationTree>) {
    if (init) Object.assign(this, init);
  }
}

/** The application tree inspector's event. */
export class ResponseInspectApplicationTree {
  event: Event = NO_EVENT;
  constructor(init?: Init<ResponseInspectApplicationTree>) {
    if (init) Object.assign(this, init);
  }
}

/** Published every second: the application's processes (draw the tree from `parent`). */
export class MessageInspectApplicationTree {
  node = '' as Atom;
  application = '' as Atom;
  processes: InspectProcessShortInfo[] | null = null;
  constructor(init?: Init<MessageInspectApplicationTree>) {
    if (init) Object.assign(this, init);
  }
}

// ---- remote control ----

/** Send `message` to `pid` with `priority`. Answer: {@link ResponseDoSend}. */
export class RequestDoSend {
  pid: PID = NO_PID;
  priority: MessagePriority = 0;
  message: unknown = null;
  constructor(init?: Init<RequestDoSend>) {
    if (init) Object.assign(this, init);
  }
}
/** `error` is null on success. */
export class ResponseDoSend {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoSend>) {
    if (init) Object.assign(this, init);
  }
}

/** Send `message` to meta process `meta`. */
export class RequestDoSendMeta {
  meta: Alias = NO_ALIAS;
  message: unknown = null;
  constructor(init?: Init<RequestDoSendMeta>) {
    if (init) Object.assign(this, init);
  }
}
/** `error` is null on success. */
export class ResponseDoSendMeta {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoSendMeta>) {
    if (init) Object.assign(this, init);
  }
}

/** Send an exit signal with `reason` to `pid`. */
export class RequestDoSendExit {
  pid: PID = NO_PID;
  reason: Error | null = null;
  constructor(init?: Init<RequestDoSendExit>) {
    if (init) Object.assign(this, init);
  }
}
/** `error` is null on success (Go answers both exit requests with this type). */
export class ResponseDoSendExit {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoSendExit>) {
    if (init) Object.assign(this, init);
  }
}

/** Send an exit signal with `reason` to meta process `meta`. */
export class RequestDoSendExitMeta {
  meta: Alias = NO_ALIAS;
  reason: Error | null = null;
  constructor(init?: Init<RequestDoSendExitMeta>) {
    if (init) Object.assign(this, init);
  }
}
/** Registered as Go registers it; Go answers {@link RequestDoSendExitMeta} with {@link ResponseDoSendExit}. */
export class ResponseDoSendExitMeta {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoSendExitMeta>) {
    if (init) Object.assign(this, init);
  }
}

/** Kill process `pid` (processes only). */
export class RequestDoKill {
  pid: PID = NO_PID;
  constructor(init?: Init<RequestDoKill>) {
    if (init) Object.assign(this, init);
  }
}
/** `error` is null on success. */
export class ResponseDoKill {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoKill>) {
    if (init) Object.assign(this, init);
  }
}

/** Set the node's log level. Answer: {@link ResponseDoSetLogLevel}. */
export class RequestDoSetLogLevel {
  level: LogLevel = 0;
  constructor(init?: Init<RequestDoSetLogLevel>) {
    if (init) Object.assign(this, init);
  }
}
/** Set process `pid`'s log level. Answer: {@link ResponseDoSetLogLevel}. */
export class RequestDoSetLogLevelProcess {
  pid: PID = NO_PID;
  level: LogLevel = 0;
  constructor(init?: Init<RequestDoSetLogLevelProcess>) {
    if (init) Object.assign(this, init);
  }
}
/** Set meta process `meta`'s log level. Answer: {@link ResponseDoSetLogLevel}. */
export class RequestDoSetLogLevelMeta {
  meta: Alias = NO_ALIAS;
  level: LogLevel = 0;
  constructor(init?: Init<RequestDoSetLogLevelMeta>) {
    if (init) Object.assign(this, init);
  }
}
/** Answer of the three log-level requests; `error` is null on success. */
export class ResponseDoSetLogLevel {
  error: Error | null = null;
  constructor(init?: Init<ResponseDoSetLogLevel>) {
    if (init) Object.assign(this, init);
  }
}

// EDF registrations of the inspector protocol: Go's `gen` info structs (NodeInfo, ProcessInfo,
// NetworkInfo...) and the `app/system/inspect` requests, responses and snapshots, under Go's
// exact names and field layouts (Ergo 3.2, net/edf/init.go registers the same list), so that an
// ergo-ts node and a Go node inspect each other. Queued for the default registry at load, registered
// when a lookup first needs them (EdfRegistry.deferUntilMissed).

import * as I from '../../gen/inspect.js';
import * as V from '../../gen/inspect_v2.js';
import { FrameworkTypeName } from './framework.js';
import type { EdfRegistry, RegisteredType } from './registry.js';
import { Go } from './wrappers.js';
import type { EdfType } from './type.js';

const GEN = '#ergo.services/ergo/gen/';
const INS = `${I.INSPECT_PACKAGE}/`;

/** `gen.NetworkProxyFlags` as Go 3.2 marshals it: an empty body (its MarshalEDF is a stub). */
export class WireNetworkProxyFlags implements I.InspectNetworkProxyFlags {
  enable = false;
  enableRemoteSpawn = false;
  enableRemoteApplicationStart = false;
  enableEncryption = false;
  enableImportantDelivery = false;
}

let inspectClasses: Set<unknown> | undefined;

/**
 * @internal True for a class whose instances registerInspectTypes gives a type (every class of
 * the inspector's `gen` modules, a few more): the default registry registers those types when
 * such a value is first encoded.
 */
export function isInspectClass(ctor: unknown): boolean {
  inspectClasses ??= new Set<unknown>(
    [WireNetworkProxyFlags, ...Object.values(I), ...Object.values(V)].filter((v) => typeof v === 'function'),
  );
  return inspectClasses.has(ctor);
}

function need(r: EdfRegistry, name: string): RegisteredType {
  const t = r.type(name);
  if (t === undefined) throw new Error(`EDF type ${name} must be registered first`);
  return t;
}

/**
 * Registers Go's info structs and the inspector protocol types in `r` (the default registry has
 * them already). Needs the framework types (registerFrameworkTypes) in `r` first.
 * @throws EdfError `ERR_EDF_REGISTER` if one of the names is already taken in `r`.
 */
export function registerInspectTypes(r: EdfRegistry): void {
  const version = need(r, FrameworkTypeName.Version);
  const logLevel = need(r, FrameworkTypeName.LogLevel);
  const priority = need(r, FrameworkTypeName.MessagePriority);
  const compression = need(r, FrameworkTypeName.Compression);
  const fallback = need(r, FrameworkTypeName.ProcessFallback);
  const flags = need(r, FrameworkTypeName.NetworkFlags);
  const appInfo = need(r, FrameworkTypeName.ApplicationInfo);
  const envMap = Go.map(need(r, FrameworkTypeName.Env), Go.any);

  const processState = r.register({ name: `${GEN}ProcessState`, type: Go.int32 });
  const metaState = r.register({ name: `${GEN}MetaState`, type: Go.int32 });
  const networkMode = r.register({ name: `${GEN}NetworkMode`, type: Go.int });

  const s = (name: string, fields: Record<string, EdfType>, cls?: new () => unknown): RegisteredType =>
    r.register(cls ? { name, fields, class: cls } : { name, fields });

  const loggerInfo = s(`${GEN}LoggerInfo`, { name: Go.string, behavior: Go.string, levels: Go.slice(logLevel) });
  const cronJob = s(`${GEN}CronJobInfo`, {
    disabled: Go.bool,
    name: Go.atom,
    spec: Go.string,
    location: Go.string,
    actionInfo: Go.string,
    lastRun: Go.time,
    lastErr: Go.string,
    fallback,
  });
  const cronInfo = s(`${GEN}CronInfo`, { next: Go.time, spool: Go.slice(Go.atom), jobs: Go.slice(cronJob) });
  s(`${GEN}CronSchedule`, { time: Go.time, jobs: Go.slice(Go.atom) });
  const nodeInfo = s(`${GEN}NodeInfo`, {
    name: Go.atom,
    uptime: Go.int64,
    version,
    framework: version,
    commercial: Go.slice(version),
    env: envMap,
    logLevel,
    loggers: Go.slice(loggerInfo),
    cron: cronInfo,
    processesTotal: Go.int64,
    processesRunning: Go.int64,
    processesZombee: Go.int64,
    registeredAliases: Go.int64,
    registeredNames: Go.int64,
    registeredEvents: Go.int64,
    applicationsTotal: Go.int64,
    applicationsRunning: Go.int64,
    memoryUsed: Go.uint64,
    memoryAlloc: Go.uint64,
    userTime: Go.int64,
    systemTime: Go.int64,
  });
  const queues = s(`${GEN}MailboxQueues`, { main: Go.int64, system: Go.int64, urgent: Go.int64, log: Go.int64 });
  const processInfo = s(`${GEN}ProcessInfo`, {
    pid: Go.pid,
    name: Go.atom,
    application: Go.atom,
    behavior: Go.string,
    mailboxSize: Go.int64,
    mailboxQueues: queues,
    messagesIn: Go.uint64,
    messagesOut: Go.uint64,
    runningTime: Go.uint64,
    compression,
    messagePriority: priority,
    uptime: Go.int64,
    state: processState,
    parent: Go.pid,
    leader: Go.pid,
    fallback,
    env: envMap,
    aliases: Go.slice(Go.alias),
    events: Go.slice(Go.atom),
    metas: Go.slice(Go.alias),
    monitorsPID: Go.slice(Go.pid),
    monitorsProcessID: Go.slice(Go.processID),
    monitorsAlias: Go.slice(Go.alias),
    monitorsEvent: Go.slice(Go.event),
    monitorsNode: Go.slice(Go.atom),
    linksPID: Go.slice(Go.pid),
    linksProcessID: Go.slice(Go.processID),
    linksAlias: Go.slice(Go.alias),
    linksEvent: Go.slice(Go.event),
    linksNode: Go.slice(Go.atom),
    logLevel,
    keepNetworkOrder: Go.bool,
    importantDelivery: Go.bool,
  });
  const shortInfo = s(`${GEN}ProcessShortInfo`, {
    pid: Go.pid,
    name: Go.atom,
    application: Go.atom,
    behavior: Go.string,
    messagesIn: Go.uint64,
    messagesOut: Go.uint64,
    messagesMailbox: Go.uint64,
    runningTime: Go.uint64,
    uptime: Go.int64,
    state: processState,
    parent: Go.pid,
    leader: Go.pid,
    logLevel,
  });
  const metaInfo = s(`${GEN}MetaInfo`, {
    id: Go.alias,
    parent: Go.pid,
    application: Go.atom,
    behavior: Go.string,
    mailboxSize: Go.int64,
    mailboxQueues: queues,
    messagePriority: priority,
    messagesIn: Go.uint64,
    messagesOut: Go.uint64,
    logLevel,
    uptime: Go.int64,
    state: metaState,
  });
  const proxyFlags = r.register({
    name: `${GEN}NetworkProxyFlags`,
    class: WireNetworkProxyFlags,
    marshal: () => new Uint8Array(0),
    unmarshal: () => new WireNetworkProxyFlags(),
  });
  const spawnInfo = s(`${GEN}NetworkSpawnInfo`, { name: Go.atom, behavior: Go.string, nodes: Go.slice(Go.atom) });
  const appStartInfo = s(`${GEN}NetworkApplicationStartInfo`, { name: Go.atom, nodes: Go.slice(Go.atom) });
  const remoteInfo = s(`${GEN}RemoteNodeInfo`, {
    node: Go.atom,
    uptime: Go.int64,
    connectionUptime: Go.int64,
    version,
    handshakeVersion: version,
    protoVersion: version,
    networkFlags: flags,
    poolSize: Go.int,
    poolDSN: Go.slice(Go.string),
    maxMessageSize: Go.int,
    messagesIn: Go.uint64,
    messagesOut: Go.uint64,
    bytesIn: Go.uint64,
    bytesOut: Go.uint64,
    transitBytesIn: Go.uint64,
    transitBytesOut: Go.uint64,
  });
  const routeInfo = s(`${GEN}RouteInfo`, {
    match: Go.string,
    weight: Go.int,
    useResolver: Go.bool,
    useCustomCookie: Go.bool,
    useCustomCert: Go.bool,
    flags,
    handshakeVersion: version,
    protoVersion: version,
    host: Go.string,
    port: Go.uint16,
  });
  const proxyRouteInfo = s(`${GEN}ProxyRouteInfo`, {
    match: Go.string,
    weight: Go.int,
    useResolver: Go.bool,
    useCustomCookie: Go.bool,
    flags: proxyFlags,
    maxHop: Go.int,
    proxy: Go.atom,
  });
  const registrarInfo = s(`${GEN}RegistrarInfo`, {
    server: Go.string,
    embeddedServer: Go.bool,
    supportRegisterProxy: Go.bool,
    supportRegisterApplication: Go.bool,
    supportConfig: Go.bool,
    supportEvent: Go.bool,
    version,
  });
  const acceptorInfo = s(`${GEN}AcceptorInfo`, {
    interface: Go.string,
    maxMessageSize: Go.int,
    flags,
    tls: Go.bool,
    customRegistrar: Go.bool,
    registrarServer: Go.string,
    registrarVersion: version,
    handshakeVersion: version,
    protoVersion: version,
  });
  const networkInfo = s(`${GEN}NetworkInfo`, {
    mode: networkMode,
    registrar: registrarInfo,
    acceptors: Go.slice(acceptorInfo),
    maxMessageSize: Go.int,
    handshakeVersion: version,
    protoVersion: version,
    nodes: Go.slice(Go.atom),
    routes: Go.slice(routeInfo),
    proxyRoutes: Go.slice(proxyRouteInfo),
    flags,
    enabledSpawn: Go.slice(spawnInfo),
    enabledApplicationStart: Go.slice(appStartInfo),
  });

  // ---- app/system/inspect ----
  const event = { event: Go.event };
  const reg = (cls: new () => unknown, fields: Record<string, EdfType>): void => {
    r.register({ name: INS + cls.name, fields, class: cls });
  };
  reg(I.RequestInspectNode, {});
  reg(I.ResponseInspectNode, {
    crc32: Go.string,
    event: Go.event,
    os: Go.string,
    arch: Go.string,
    cores: Go.int,
    version,
    creation: Go.int64,
  });
  reg(I.MessageInspectNode, { node: Go.atom, info: nodeInfo });
  reg(I.RequestInspectNetwork, {});
  reg(I.ResponseInspectNetwork, { event: Go.event, stopped: Go.bool, info: networkInfo });
  reg(I.MessageInspectNetwork, { node: Go.atom, stopped: Go.bool, info: networkInfo });
  reg(I.RequestInspectConnection, { remoteNode: Go.atom });
  reg(I.ResponseInspectConnection, { event: Go.event, disconnected: Go.bool, info: remoteInfo });
  reg(I.MessageInspectConnection, { node: Go.atom, disconnected: Go.bool, info: remoteInfo });
  reg(I.RequestInspectProcessList, { start: Go.int, limit: Go.int });
  reg(I.ResponseInspectProcessList, event);
  reg(I.MessageInspectProcessList, { node: Go.atom, processes: Go.slice(shortInfo) });
  reg(I.RequestInspectLog, { levels: Go.slice(logLevel) });
  reg(I.ResponseInspectLog, event);
  reg(I.MessageInspectLogNode, {
    node: Go.atom,
    creation: Go.int64,
    timestamp: Go.int64,
    level: logLevel,
    message: Go.string,
  });
  reg(I.MessageInspectLogNetwork, {
    node: Go.atom,
    peer: Go.atom,
    timestamp: Go.int64,
    level: logLevel,
    message: Go.string,
  });
  reg(I.MessageInspectLogProcess, {
    node: Go.atom,
    name: Go.atom,
    pid: Go.pid,
    timestamp: Go.int64,
    level: logLevel,
    message: Go.string,
  });
  reg(I.MessageInspectLogMeta, {
    node: Go.atom,
    parent: Go.pid,
    meta: Go.alias,
    timestamp: Go.int64,
    level: logLevel,
    message: Go.string,
  });
  reg(I.RequestInspectProcess, { pid: Go.pid });
  reg(I.ResponseInspectProcess, event);
  reg(I.MessageInspectProcess, { node: Go.atom, info: processInfo, terminated: Go.bool });
  reg(I.RequestInspectProcessState, { pid: Go.pid });
  reg(I.ResponseInspectProcessState, event);
  reg(I.MessageInspectProcessState, { node: Go.atom, pid: Go.pid, state: Go.map(Go.string, Go.string) });
  reg(I.RequestInspectMeta, { meta: Go.alias });
  reg(I.ResponseInspectMeta, event);
  reg(I.MessageInspectMeta, { node: Go.atom, info: metaInfo, terminated: Go.bool });
  reg(I.RequestInspectMetaState, { meta: Go.alias });
  reg(I.ResponseInspectMetaState, event);
  reg(I.MessageInspectMetaState, { node: Go.atom, meta: Go.alias, state: Go.map(Go.string, Go.string) });
  reg(I.RequestDoSend, { pid: Go.pid, priority, message: Go.any });
  reg(I.ResponseDoSend, { error: Go.error });
  reg(I.RequestDoSendMeta, { meta: Go.alias, message: Go.any });
  reg(I.ResponseDoSendMeta, { error: Go.error });
  reg(I.RequestDoSendExit, { pid: Go.pid, reason: Go.error });
  reg(I.ResponseDoSendExit, { error: Go.error });
  reg(I.RequestDoSendExitMeta, { meta: Go.alias, reason: Go.error });
  reg(I.ResponseDoSendExitMeta, { error: Go.error });
  reg(I.RequestDoKill, { pid: Go.pid });
  reg(I.ResponseDoKill, { error: Go.error });
  reg(I.RequestDoSetLogLevel, { level: logLevel });
  reg(I.RequestDoSetLogLevelProcess, { pid: Go.pid, level: logLevel });
  reg(I.RequestDoSetLogLevelMeta, { meta: Go.alias, level: logLevel });
  reg(I.ResponseDoSetLogLevel, { error: Go.error });
  reg(I.RequestInspectApplicationList, {});
  reg(I.ResponseInspectApplicationList, event);
  reg(I.MessageInspectApplicationList, { node: Go.atom, applications: Go.map(Go.atom, appInfo) });
  reg(I.RequestInspectApplicationTree, { application: Go.atom, limit: Go.int });
  reg(I.ResponseInspectApplicationTree, event);
  reg(I.MessageInspectApplicationTree, { node: Go.atom, application: Go.atom, processes: Go.slice(shortInfo) });

  // Newer-core queries (layouts of the core the v0.2 Observer is built against).
  reg(V.RequestInspectProcessRange, {
    name: Go.string,
    behavior: Go.string,
    application: Go.string,
    state: Go.string,
    minMailbox: Go.uint64,
    limit: Go.int,
  });
  reg(V.ResponseInspectProcessRange, event);
  reg(V.RequestInspectConnectionList, { limit: Go.int, name: Go.string });
  reg(V.ResponseInspectConnectionList, event);
  reg(V.MessageInspectConnectionList, { node: Go.atom, connections: Go.slice(remoteInfo) });
  const heapRecord = s(`${INS}HeapRecord`, {
    inuseBytes: Go.int64,
    inuseObjects: Go.int64,
    allocBytes: Go.int64,
    allocObjects: Go.int64,
    freeObjects: Go.int64,
    stack: Go.slice(Go.string),
  });
  reg(V.RequestInspectHeap, { limit: Go.int, name: Go.string });
  reg(V.ResponseInspectHeap, event);
  reg(V.MessageInspectHeap, {
    node: Go.atom,
    records: Go.slice(heapRecord),
    totalInuse: Go.int64,
    totalObjects: Go.int64,
    totalAlloc: Go.int64,
    totalFree: Go.int64,
    gcCPUFraction: Go.float64,
  });

  reg(V.RequestInspectEventList, {
    timestamp: Go.int64,
    limit: Go.int,
    name: Go.string,
    notify: Go.int,
    buffered: Go.int,
    open: Go.int,
    minSubscribers: Go.int64,
  });
  reg(V.ResponseInspectEventList, event);

  // ergo-ts extensions (no Go counterpart; Go nodes do not know these names).
  const ext = (cls: new () => unknown, fields: Record<string, EdfType>): void => {
    r.register({ name: `${I.INSPECT_EXT_PACKAGE}/${cls.name}`, fields, class: cls });
  };
  ext(V.RequestInspectProcessPage, {
    name: Go.string,
    behavior: Go.string,
    application: Go.string,
    state: Go.string,
    minMailbox: Go.uint64,
    sort: Go.string,
    offset: Go.int,
    limit: Go.int,
    after: Go.int,
  });
  ext(V.ResponseInspectProcessPage, event);
  ext(V.RequestDoApplicationStart, { application: Go.atom, mode: Go.string });
  ext(V.ResponseDoApplicationStart, { error: Go.error });
  ext(V.RequestDoApplicationStop, { application: Go.atom, force: Go.bool });
  ext(V.ResponseDoApplicationStop, { error: Go.error });
  const eventInfo = s('#ergo-ts/gen/EventInfo', {
    event: Go.event,
    producer: Go.pid,
    notify: Go.bool,
    buffer: Go.int,
    subscribers: Go.int64,
    published: Go.int64,
  });
  ext(V.MessageInspectEventList, { node: Go.atom, events: Go.slice(eventInfo) });
  const mailboxRecord = s('#ergo-ts/gen/InspectMailboxRecord', { kind: Go.string, from: Go.string, text: Go.string });
  ext(V.RequestInspectMailboxPeek, { pid: Go.pid, limit: Go.int });
  ext(V.ResponseInspectMailboxPeek, {
    urgent: Go.slice(mailboxRecord),
    system: Go.slice(mailboxRecord),
    main: Go.slice(mailboxRecord),
    log: Go.slice(mailboxRecord),
    lengths: Go.slice(Go.int),
    error: Go.error,
  });
  ext(V.RequestInspectMessageTrace, { pid: Go.pid, to: Go.pid, rate: Go.int, count: Go.int, seconds: Go.int });
  ext(V.ResponseInspectMessageTrace, { error: Go.error });
  ext(V.RequestInspectMessageTraceStop, { pid: Go.pid, to: Go.pid });
  const traceRecord = s('#ergo-ts/gen/InspectTraceRecord', {
    n: Go.int,
    at: Go.int64,
    dir: Go.string,
    queue: Go.string,
    kind: Go.string,
    peer: Go.string,
    text: Go.string,
  });
  ext(V.MessageInspectTrace, {
    node: Go.atom,
    pid: Go.pid,
    records: Go.slice(traceRecord),
    kept: Go.int,
    dropped: Go.int,
    end: Go.string,
    reason: Go.string,
  });
  ext(V.MessageInspectProcessPage, { node: Go.atom, total: Go.int, offset: Go.int, processes: Go.slice(shortInfo) });
  ext(V.RequestInspectCrashes, { pid: Go.pid, limit: Go.int });
  const crashRecord = s('#ergo-ts/gen/InspectCrashRecord', {
    at: Go.int64,
    pid: Go.pid,
    name: Go.atom,
    behavior: Go.string,
    parent: Go.pid,
    reason: Go.string,
    error: Go.string,
    where: Go.string,
    stack: Go.string,
  });
  ext(V.ResponseInspectCrashes, { crashes: Go.slice(crashRecord), total: Go.int });
}

// Snapshots of the node API turned into the wire shapes of Go's gen info structs (gen/inspect.ts):
// what the inspectors publish. The node API reports times in its own units (CPU microseconds,
// Dates); Go reports nanoseconds and time.Time, so conversions happen here, once per snapshot.

import type { Atom } from '../../gen/atom.js';
import type { CronInfo } from '../../gen/cron.js';
import type * as I from '../../gen/inspect.js';
import type { MetaInfo } from '../../gen/meta.js';
import type { NetworkFlags, NetworkInfo, RemoteNodeInfo } from '../../gen/network.js';
import type { Node, NodeInfo, Version } from '../../gen/node.js';
import type { ProcessInfo, ProcessShortInfo } from '../../gen/process.js';
import { GoTime } from '../../net/edf/time.js';

const NO_FLAGS: I.InspectNetworkFlags = {
  enable: false,
  enableRemoteSpawn: false,
  enableRemoteApplicationStart: false,
  enableFragmentation: false,
  enableProxyTransit: false,
  enableProxyAccept: false,
  enableImportantDelivery: false,
};

/** `gen.Version` with every field present. */
export function wireVersion(v: Version | null | undefined): I.InspectVersion {
  return { name: v?.name ?? '', release: v?.release ?? '', commit: v?.commit ?? '', license: v?.license ?? '' };
}

function flags(f: NetworkFlags | null | undefined): I.InspectNetworkFlags {
  return f ? { ...NO_FLAGS, ...f } : NO_FLAGS;
}

function goTime(d: Date | null | undefined): unknown {
  return d ? GoTime.fromDate(d) : GoTime.zero;
}

/** Env as Go's inspector shows it: values formatted as strings. */
function envMap(env: Record<string, unknown> | undefined): Map<string, unknown> | null {
  if (env === undefined) return null;
  const keys = Object.keys(env);
  if (keys.length === 0) return null;
  const m = new Map<string, unknown>();
  for (const k of keys) {
    const v = env[k];
    m.set(k.toUpperCase(), typeof v === 'string' ? v : safeString(v));
  }
  return m;
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function cronInfo(c: CronInfo | undefined): I.InspectCronInfo {
  if (c === undefined) return { next: GoTime.zero, spool: null, jobs: null };
  return {
    next: goTime(c.next),
    spool: c.spool.length > 0 ? c.spool : null,
    jobs:
      c.jobs.length > 0
        ? c.jobs.map((j) => ({
            disabled: j.disabled,
            name: j.name,
            spec: j.spec,
            location: j.location,
            actionInfo: j.actionInfo,
            lastRun: goTime(j.lastRun),
            lastErr: j.lastErr,
            fallback: { enable: j.fallback?.enable ?? false, name: j.fallback?.name ?? '', tag: j.fallback?.tag ?? '' },
          }))
        : null,
  };
}

/** `gen.NodeInfo` of `node` (the V8 heap as memory, CPU times in nanoseconds). */
export function wireNodeInfo(node: Node, info: NodeInfo): I.InspectNodeInfo {
  let cron: CronInfo | undefined;
  try {
    cron = node.cron().info();
  } catch {
    cron = undefined;
  }
  return {
    name: info.name,
    uptime: info.uptime,
    version: wireVersion(info.version),
    framework: wireVersion(info.framework),
    commercial: null,
    env: envMap(info.env),
    logLevel: info.logLevel,
    loggers: info.loggers
      .map((l) => ({ name: l.name, behavior: l.behavior, levels: l.levels.length > 0 ? l.levels : null }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    cron: cronInfo(cron),
    processesTotal: info.processesTotal,
    processesRunning: info.processesRunning,
    processesZombee: info.processesZombee,
    registeredAliases: info.registeredAliases,
    registeredNames: info.registeredNames,
    registeredEvents: info.registeredEvents,
    applicationsTotal: info.applicationsTotal,
    applicationsRunning: info.applicationsRunning,
    memoryUsed: info.memoryUsed,
    memoryAlloc: info.memoryAlloc,
    userTime: info.userTime * 1000,
    systemTime: info.systemTime * 1000,
  };
}

/** `gen.ProcessShortInfo` (the node API's short info has the same fields). */
export function wireShortInfo(p: ProcessShortInfo): I.InspectProcessShortInfo {
  return p as I.InspectProcessShortInfo;
}

function nonEmpty<T>(a: T[]): T[] | null {
  return a.length > 0 ? a : null;
}

/** `gen.ProcessInfo`. */
export function wireProcessInfo(p: ProcessInfo): I.InspectProcessInfo {
  return {
    pid: p.pid,
    name: p.name,
    application: p.application,
    behavior: p.behavior,
    mailboxSize: p.mailboxSize,
    mailboxQueues: {
      main: p.mailboxQueues.main,
      system: p.mailboxQueues.system,
      urgent: p.mailboxQueues.urgent,
      log: p.mailboxQueues.log,
    },
    messagesIn: p.messagesIn,
    messagesOut: p.messagesOut,
    runningTime: p.runningTime,
    handlerStartedAt: p.handlerStartedAt ?? 0,
    compression: {
      enable: p.compression.enable,
      type: p.compression.type ?? '',
      level: p.compression.level ?? 0,
      threshold: p.compression.threshold ?? 0,
    },
    messagePriority: p.messagePriority,
    uptime: p.uptime,
    state: p.state,
    parent: p.parent,
    leader: p.leader,
    fallback: { enable: p.fallback.enable, name: (p.fallback.name ?? '') as Atom, tag: p.fallback.tag ?? '' },
    env: envMap(p.env),
    aliases: nonEmpty(p.aliases),
    events: nonEmpty(p.events),
    metas: nonEmpty(p.metas),
    monitorsPID: nonEmpty(p.monitorsPID),
    monitorsProcessID: nonEmpty(p.monitorsProcessID),
    monitorsAlias: nonEmpty(p.monitorsAlias),
    monitorsEvent: nonEmpty(p.monitorsEvent),
    monitorsNode: nonEmpty(p.monitorsNode),
    linksPID: nonEmpty(p.linksPID),
    linksProcessID: nonEmpty(p.linksProcessID),
    linksAlias: nonEmpty(p.linksAlias),
    linksEvent: nonEmpty(p.linksEvent),
    linksNode: nonEmpty(p.linksNode),
    logLevel: p.logLevel,
    keepNetworkOrder: p.keepNetworkOrder,
    importantDelivery: p.importantDelivery,
  };
}

/** `gen.MetaInfo`. */
export function wireMetaInfo(m: MetaInfo): I.InspectMetaInfo {
  return {
    id: m.id,
    parent: m.parent,
    application: m.application as Atom,
    behavior: m.behavior,
    mailboxSize: m.mailboxSize,
    mailboxQueues: {
      main: m.mailboxQueues.main,
      system: m.mailboxQueues.system,
      urgent: m.mailboxQueues.urgent,
      log: m.mailboxQueues.log,
    },
    messagePriority: m.messagePriority,
    messagesIn: m.messagesIn,
    messagesOut: m.messagesOut,
    logLevel: m.logLevel,
    uptime: m.uptime,
    state: m.state,
  };
}

/** `gen.RemoteNodeInfo`. */
export function wireRemoteNodeInfo(r: RemoteNodeInfo): I.InspectRemoteNodeInfo {
  return {
    node: r.node,
    uptime: r.uptime,
    connectionUptime: r.connectionUptime,
    version: wireVersion(r.version),
    handshakeVersion: wireVersion(r.handshakeVersion),
    protoVersion: wireVersion(r.protoVersion),
    networkFlags: flags(r.networkFlags),
    poolSize: r.poolSize,
    poolDSN: nonEmpty(r.poolDSN),
    maxMessageSize: r.maxMessageSize,
    messagesIn: r.messagesIn,
    messagesOut: r.messagesOut,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
    transitBytesIn: r.transitBytesIn,
    transitBytesOut: r.transitBytesOut,
  };
}

/** An empty `gen.RemoteNodeInfo` naming `node` (a connection that is gone). */
export function emptyRemoteNodeInfo(node: Atom): I.InspectRemoteNodeInfo {
  return wireRemoteNodeInfo({
    node,
    uptime: 0,
    connectionUptime: 0,
    version: { name: '', release: '' },
    handshakeVersion: { name: '', release: '' },
    protoVersion: { name: '', release: '' },
    networkFlags: NO_FLAGS,
    poolSize: 0,
    poolDSN: [],
    maxMessageSize: 0,
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    transitBytesIn: 0,
    transitBytesOut: 0,
  });
}

/** `gen.NetworkInfo`. */
export function wireNetworkInfo(n: NetworkInfo): I.InspectNetworkInfo {
  const reg = n.registrar;
  return {
    mode: n.mode,
    registrar: {
      server: reg?.server ?? '',
      embeddedServer: reg?.embeddedServer ?? false,
      supportRegisterProxy: reg?.supportRegisterProxy ?? false,
      supportRegisterApplication: reg?.supportRegisterApplication ?? false,
      supportConfig: reg?.supportConfig ?? false,
      supportEvent: reg?.supportEvent ?? false,
      version: wireVersion(reg?.version),
    },
    acceptors: nonEmpty(
      n.acceptors.map((a) => ({
        interface: a.interface,
        maxMessageSize: a.maxMessageSize,
        flags: flags(a.flags),
        tls: a.tls,
        customRegistrar: a.customRegistrar,
        registrarServer: a.registrarServer,
        registrarVersion: wireVersion(a.registrarVersion),
        handshakeVersion: wireVersion(a.handshakeVersion),
        protoVersion: wireVersion(a.protoVersion),
      })),
    ),
    maxMessageSize: n.maxMessageSize,
    handshakeVersion: wireVersion(n.handshakeVersion),
    protoVersion: wireVersion(n.protoVersion),
    nodes: nonEmpty(n.nodes),
    routes: nonEmpty(
      n.routes.map((r) => ({
        match: r.match,
        weight: r.weight,
        useResolver: r.useResolver,
        useCustomCookie: r.useCookie,
        useCustomCert: r.useCertManager,
        flags: { ...NO_FLAGS, enable: r.flagsEnable },
        handshakeVersion: wireVersion(null),
        protoVersion: wireVersion(null),
        host: r.host,
        port: r.port,
      })),
    ),
    proxyRoutes: nonEmpty(
      n.proxyRoutes.map((r) => ({
        match: r.match,
        weight: r.weight,
        useResolver: r.useResolver,
        useCustomCookie: r.useCookie,
        flags: {
          enable: r.flagsEnable,
          enableRemoteSpawn: false,
          enableRemoteApplicationStart: false,
          enableEncryption: false,
          enableImportantDelivery: false,
        },
        maxHop: r.maxHop,
        proxy: r.proxy,
      })),
    ),
    flags: flags(n.flags),
    enabledSpawn: nonEmpty(
      n.enabledSpawn.map((s) => ({ name: s.name, behavior: s.behavior, nodes: nonEmpty(s.nodes) })),
    ),
    enabledApplicationStart: nonEmpty(
      n.enabledApplicationStart.map((s) => ({ name: s.name, nodes: nonEmpty(s.nodes) })),
    ),
  };
}

/** An empty `gen.NetworkInfo` of a node whose network is off. */
export function disabledNetworkInfo(): I.InspectNetworkInfo {
  return wireNetworkInfo({
    mode: -1,
    registrar: null,
    acceptors: [],
    maxMessageSize: 0,
    handshakeVersion: { name: '', release: '' },
    protoVersion: { name: '', release: '' },
    nodes: [],
    routes: [],
    proxyRoutes: [],
    flags: NO_FLAGS,
    enabledSpawn: [],
    enabledApplicationStart: [],
  });
}

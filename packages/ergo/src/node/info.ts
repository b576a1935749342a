// Snapshots: process info, short info and node info.

import type { NodeInfo } from '../gen/node.js';
import type { ProcessInfo, ProcessShortInfo } from '../gen/process.js';
import type { ProcessState } from '../gen/priority.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { splitTargets } from './targets.js';
import { hostUsage } from '../lib/host.js';

/** Full snapshot of a process. */
export function processInfo(p: ProcessImpl): ProcessInfo {
  const node = p.nodeImpl;
  const rel = node.targets.targetsOf(p);
  const links = splitTargets(rel.links);
  const monitors = splitTargets(rel.monitors);
  return {
    pid: p.pid,
    name: p.name,
    application: p.application,
    behavior: p.behaviorName(),
    mailboxSize: p.mb.limit,
    mailboxQueues: p.mb.lengths(),
    messagesIn: p.messagesIn,
    messagesOut: p.messagesOut,
    // + 0: a process that never ran reports 0, not the -0 its counter starts with.
    runningTime: Math.round(p.runningTime * 1e6) + 0,
    handlerStartedAt: p.handlerStartedAt(),
    compression: p.compression(),
    messagePriority: p.priority,
    uptime: p.uptime(),
    state: p.st as ProcessState,
    parent: p.parent,
    leader: p.leader,
    fallback: p.fallback ?? { enable: false, name: '', tag: '' },
    // As in Ergo (and node/application info): env only with `security.exposeEnvInfo`.
    env: node.options.security?.exposeEnvInfo ? p.envList() : {},
    aliases: p.aliases(),
    events: p.events(),
    metas: node.metas.aliasesOf(p),
    monitorsPID: monitors.pids,
    monitorsProcessID: monitors.processIDs,
    monitorsAlias: monitors.aliases,
    monitorsEvent: monitors.events,
    monitorsNode: monitors.nodes,
    linksPID: links.pids,
    linksProcessID: links.processIDs,
    linksAlias: links.aliases,
    linksEvent: links.events,
    linksNode: links.nodes,
    logLevel: p.logLevel,
    keepNetworkOrder: p.keepOrder,
    importantDelivery: p.important,
  };
}

/** Short snapshot used by listings; `now` (Date.now()) lets a scan read the clock once. */
export function processShortInfo(p: ProcessImpl, now?: number): ProcessShortInfo {
  return {
    pid: p.pid,
    name: p.name,
    application: p.application,
    behavior: p.behaviorName(),
    messagesIn: p.messagesIn,
    messagesOut: p.messagesOut,
    messagesMailbox: p.mb.size,
    runningTime: Math.round(p.runningTime * 1e6) + 0,
    handlerStartedAt: p.handlerStartedAt(),
    uptime: now === undefined ? p.uptime() : Math.floor((now - p.startedAt) / 1000),
    state: p.st as ProcessState,
    parent: p.parent,
    leader: p.leader,
    logLevel: p.logLevel,
  };
}

/** Snapshot of a node. Env only with `security.exposeEnvInfo`. */
export function nodeInfo(node: NodeImpl): NodeInfo {
  const counts = node.countStates();
  const usage = hostUsage();
  const apps = node.applicationCounts();
  return {
    name: node.name,
    uptime: node.uptime(),
    version: node.version,
    framework: node.frameworkVersion,
    env: node.options.security?.exposeEnvInfo ? Object.fromEntries(node.envMap) : {},
    logLevel: node.log.level(),
    loggers: node.logRegistry.info(),
    processesTotal: counts.total,
    processesRunning: counts.running,
    processesZombee: counts.zombee,
    registeredAliases: node.aliasCount,
    registeredNames: node.names.size,
    registeredEvents: node.events.size,
    applicationsTotal: apps.total,
    applicationsRunning: apps.running,
    connections: node.net.connections,
    memoryUsed: usage.memoryUsed,
    memoryAlloc: usage.memoryAlloc,
    userTime: usage.userTime,
    systemTime: usage.systemTime,
  };
}

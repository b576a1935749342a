// The inspectors behind each query of the inspector protocol (Ergo's app/system/inspect/*.go):
// node, network, connection, process list, process, process state, meta, meta state, log,
// application list and application tree. Each builds its snapshot from the public node API.

import { format } from 'node:util';
import type { HandlerResult } from '../../act/actor.js';
import type { Atom } from '../../gen/atom.js';
import type { Event } from '../../gen/event.js';
import { toError } from '../../gen/errors.js';
import * as I from '../../gen/inspect.js';
import {
  MessageLogMeta,
  MessageLogNetwork,
  MessageLogNode,
  MessageLogProcess,
  type LogLevel,
  type MessageLog,
} from '../../gen/log.js';
import type { PID } from '../../gen/pid.js';
import type { Alias } from '../../gen/ref.js';
import { toWireApplicationInfo } from '../../net/proto/application_info.js';
import {
  disabledNetworkInfo,
  wireVersion,
  emptyRemoteNodeInfo,
  wireMetaInfo,
  wireNetworkInfo,
  wireNodeInfo,
  wireProcessInfo,
  wireRemoteNodeInfo,
} from './convert.js';
import { INSPECT_LOG_IDLE, Inspector } from './inspector.js';
import os from 'node:os';

/** Publishes `MessageInspectNode`. Registered as `inspect_node`. */
export class NodeInspector extends Inspector {
  protected override eventName(): string {
    return 'inspect_node';
  }
  protected override response(event: Event): unknown {
    const node = this.node;
    return new I.ResponseInspectNode({
      crc32: crc32Of(event),
      event,
      os: process.platform,
      arch: process.arch,
      cores: os.availableParallelism?.() ?? os.cpus().length,
      version: wireVersion(node.version),
      creation: node.creation,
    });
  }
  protected override snapshot(): unknown {
    const node = this.node;
    return new I.MessageInspectNode({ node: node.name, info: wireNodeInfo(node, node.info()) });
  }
}

function crc32Of(event: Event): string {
  // Event prints `Event#<CRC:name>`: reuse the node's CRC32 from there.
  const s = event.toString();
  return s.slice(7, 15);
}

/** Publishes `MessageInspectNetwork`. Registered as `inspect_network`. */
export class NetworkInspector extends Inspector {
  protected override eventName(): string {
    return 'inspect_network';
  }
  private current(): { stopped: boolean; info: I.InspectNetworkInfo } {
    try {
      const net = this.node.network();
      if (net.mode() === -1) return { stopped: true, info: disabledNetworkInfo() };
      return { stopped: false, info: wireNetworkInfo(net.info()) };
    } catch {
      return { stopped: true, info: disabledNetworkInfo() };
    }
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectNetwork({ event, ...this.current() });
  }
  protected override snapshot(): unknown {
    return new I.MessageInspectNetwork({ node: this.node.name, ...this.current() });
  }
}

/** Publishes `MessageInspectConnection`; a last one with `disconnected` when it is gone. */
export class ConnectionInspector extends Inspector {
  private remote = '' as Atom;
  protected override setup(remote: unknown): void {
    this.remote = remote as Atom;
  }
  protected override eventName(): string {
    return `inspect_connection_${this.remote}`;
  }
  private remoteInfo(): I.InspectRemoteNodeInfo | null {
    try {
      return wireRemoteNodeInfo(this.node.network().node(this.remote).info());
    } catch {
      return null;
    }
  }
  protected override response(event: Event): unknown {
    const info = this.remoteInfo();
    return new I.ResponseInspectConnection({
      event,
      disconnected: info === null,
      info: info ?? emptyRemoteNodeInfo(this.remote),
    });
  }
  protected override snapshot(): unknown {
    const info = this.remoteInfo();
    if (info === null) return new Error('disconnected');
    return new I.MessageInspectConnection({ node: this.node.name, info });
  }
  protected override final(): unknown {
    return new I.MessageInspectConnection({
      node: this.node.name,
      disconnected: true,
      info: emptyRemoteNodeInfo(this.remote),
    });
  }
}

/** Publishes `MessageInspectProcessList` for ids `start..start+limit-1` (a walk over that range only). */
export class ProcessListInspector extends Inspector {
  private start = 1000;
  private limit = 1000;
  protected override setup(start: unknown, limit: unknown): void {
    this.start = start as number;
    this.limit = limit as number;
  }
  protected override eventName(): string {
    return `inspect_process_list_${this.start}_${this.start + this.limit - 1}`;
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectProcessList({ event });
  }
  protected override snapshot(): unknown {
    const list = this.node.processListShortInfo(this.start, this.limit);
    return new I.MessageInspectProcessList({ node: this.node.name, processes: list.length > 0 ? list : null });
  }
}

/** Publishes `MessageInspectProcess`; a last one with `terminated` when the process is gone. */
export class ProcessInspector extends Inspector {
  private target!: PID;
  private last: I.InspectProcessInfo | null = null;
  protected override setup(pid: unknown): void {
    this.target = pid as PID;
  }
  protected override eventName(): string {
    return `inspect_process_${this.target.toString()}`;
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectProcess({ event });
  }
  protected override snapshot(): unknown {
    try {
      this.last = wireProcessInfo(this.node.processInfo(this.target));
    } catch (e) {
      return toError(e);
    }
    return new I.MessageInspectProcess({ node: this.node.name, info: this.last });
  }
  protected override final(): unknown {
    const info = this.last ?? wireProcessInfo(emptyProcessInfo(this.target));
    return new I.MessageInspectProcess({ node: this.node.name, info: { ...info, state: 16 }, terminated: true });
  }
}

function emptyProcessInfo(pid: PID): Parameters<typeof wireProcessInfo>[0] {
  return {
    pid,
    name: '' as Atom,
    application: '' as Atom,
    behavior: '',
    mailboxSize: 0,
    mailboxQueues: { urgent: 0, system: 0, main: 0, log: 0 },
    messagesIn: 0,
    messagesOut: 0,
    runningTime: 0,
    compression: { enable: false, type: 'gzip', level: 0, threshold: 0 },
    messagePriority: 0,
    uptime: 0,
    state: 16,
    parent: pid,
    leader: pid,
    fallback: { enable: false, name: '' as Atom, tag: '' },
    env: {},
    aliases: [],
    events: [],
    metas: [],
    monitorsPID: [],
    monitorsProcessID: [],
    monitorsAlias: [],
    monitorsEvent: [],
    monitorsNode: [],
    linksPID: [],
    linksProcessID: [],
    linksAlias: [],
    linksEvent: [],
    linksNode: [],
    logLevel: 0,
    keepNetworkOrder: false,
    importantDelivery: false,
  } as Parameters<typeof wireProcessInfo>[0];
}

function stateMap(r: Record<string, string>): Map<string, string> | null {
  const keys = Object.keys(r);
  if (keys.length === 0) return null;
  const m = new Map<string, string>();
  for (const k of keys) m.set(k, String(r[k]));
  return m;
}

/** Publishes `MessageInspectProcessState` (the process's `handleInspect`); exits when it is gone. */
export class ProcessStateInspector extends Inspector {
  private target!: PID;
  protected override setup(pid: unknown): void {
    this.target = pid as PID;
  }
  protected override eventName(): string {
    return `inspect_process_state_${this.target.toString()}`;
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectProcessState({ event });
  }
  protected override snapshot(): unknown {
    return this.inspect(this.target).then(
      (state) => new I.MessageInspectProcessState({ node: this.node.name, pid: this.target, state: stateMap(state) }),
      (e: unknown) => toError(e),
    );
  }
}

/** Publishes `MessageInspectMeta`; a last one with `terminated` when the meta process is gone. */
export class MetaInspector extends Inspector {
  private target!: Alias;
  private last: I.InspectMetaInfo | null = null;
  protected override setup(meta: unknown): void {
    this.target = meta as Alias;
  }
  protected override eventName(): string {
    return `inspect_meta_${this.target.toString()}`;
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectMeta({ event });
  }
  protected override snapshot(): unknown {
    try {
      this.last = wireMetaInfo(this.node.metaInfo(this.target));
    } catch (e) {
      return toError(e);
    }
    return new I.MessageInspectMeta({ node: this.node.name, info: this.last });
  }
  protected override final(): unknown {
    if (this.last === null) return undefined;
    return new I.MessageInspectMeta({ node: this.node.name, info: { ...this.last, state: 4 }, terminated: true });
  }
}

/** Publishes `MessageInspectMetaState` (the meta's `handleInspect`); exits when it is gone. */
export class MetaStateInspector extends Inspector {
  private target!: Alias;
  protected override setup(meta: unknown): void {
    this.target = meta as Alias;
  }
  protected override eventName(): string {
    return `inspect_meta_state_${this.target.toString()}`;
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectMetaState({ event });
  }
  protected override snapshot(): unknown {
    return this.inspectMeta(this.target).then(
      (state) => new I.MessageInspectMetaState({ node: this.node.name, meta: this.target, state: stateMap(state) }),
      (e: unknown) => toError(e),
    );
  }
}

/** Publishes `MessageInspectApplicationList`. Registered as `inspect_application_list`. */
export class ApplicationListInspector extends Inspector {
  protected override eventName(): string {
    return 'inspect_application_list';
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectApplicationList({ event });
  }
  protected override snapshot(): unknown {
    const node = this.node;
    const apps = new Map<string, I.InspectApplicationInfo>();
    for (const name of node.applications()) {
      try {
        apps.set(name, toWireApplicationInfo(node.applicationInfo(name)) as unknown as I.InspectApplicationInfo);
      } catch {
        // unloaded between the two calls
      }
    }
    return new I.MessageInspectApplicationList({ node: node.name, applications: apps.size > 0 ? apps : null });
  }
}

/** Publishes `MessageInspectApplicationTree`: the application's processes (at most `limit`). */
export class ApplicationTreeInspector extends Inspector {
  private app = '' as Atom;
  private limit = 1000;
  protected override setup(app: unknown, limit: unknown): void {
    this.app = app as Atom;
    this.limit = limit as number;
  }
  protected override eventName(): string {
    return `inspect_application_tree_${this.app}_${this.limit}`;
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectApplicationTree({ event });
  }
  protected override snapshot(): unknown {
    let list: I.InspectProcessShortInfo[] = [];
    try {
      list = this.node.applicationProcessListShortInfo(this.app, this.limit);
    } catch {
      list = []; // not running (or unknown): an empty tree, as Go's
    }
    return new I.MessageInspectApplicationTree({
      node: this.node.name,
      application: this.app,
      processes: list.length > 0 ? list : null,
    });
  }
}

/**
 * The log inspector: while its event has subscribers it is a node logger for its levels and
 * publishes every record at once (no buffer, no ticks). Its event is
 * `inspect_log_<letters>_<its PID>`; it lives 10 s without subscribers.
 */
export class LogInspector extends Inspector {
  private levels: LogLevel[] = [];
  private letters = '';
  private logging = false;
  protected override idleMs = INSPECT_LOG_IDLE;
  protected override setup(letters: unknown, levels: unknown): void {
    this.letters = letters as string;
    this.levels = levels as LogLevel[];
  }
  protected override eventName(): string {
    return `inspect_log_${this.letters}_${this.pid.toString()}`;
  }
  protected override buffer(): number {
    return 0;
  }
  protected override response(event: Event): unknown {
    return new I.ResponseInspectLog({ event });
  }
  protected override snapshot(): unknown {
    return null;
  }
  protected override started(): void {
    if (this.logging) return;
    this.node.loggerAddPID(this.pid, this.pid.toString(), ...this.levels);
    this.logging = true;
  }
  protected override stopped(): void {
    if (!this.logging) return;
    this.logging = false;
    try {
      this.node.loggerDeletePID(this.pid);
    } catch {
      // already removed
    }
  }

  override handleLog(m: MessageLog): HandlerResult {
    const ts = BigInt(m.time.getTime()) * 1_000_000n;
    let text: string;
    try {
      text = format(m.format, ...m.args);
    } catch {
      text = m.format;
    }
    const src = m.source;
    let ev: unknown;
    if (src instanceof MessageLogProcess) {
      ev = new I.MessageInspectLogProcess({
        node: src.node,
        name: src.name,
        pid: src.pid,
        timestamp: ts,
        level: m.level,
        message: text,
      });
    } else if (src instanceof MessageLogMeta) {
      ev = new I.MessageInspectLogMeta({
        node: src.node,
        parent: src.parent,
        meta: src.meta,
        timestamp: ts,
        level: m.level,
        message: text,
      });
    } else if (src instanceof MessageLogNetwork) {
      ev = new I.MessageInspectLogNetwork({
        node: src.node,
        peer: src.peer,
        timestamp: ts,
        level: m.level,
        message: text,
      });
    } else if (src instanceof MessageLogNode) {
      ev = new I.MessageInspectLogNode({
        node: src.node,
        creation: src.creation,
        timestamp: ts,
        level: m.level,
        message: text,
      });
    } else {
      return;
    }
    return this.publish(ev) ? undefined : new Error('unable to publish');
  }
}

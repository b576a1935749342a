// What the browser asks for, in the inspector protocol's terms: a subscription type plus its
// args becomes a RequestInspect* for `system_inspect` and a lookup key (one subscription per key
// and session: the same key with other args replaces the old one); a `do` action becomes a
// RequestDo*. PIDs and aliases arrive in their printed forms and are read against the node the
// session observes. Only Ergo 3.2's requests are used, so a Go node answers them too. And how a
// session reaches a node it is asked to observe (connectNode).

import {
  LogLevel,
  MessagePriority,
  RequestDoApplicationStart,
  RequestDoApplicationStop,
  RequestDoKill,
  RequestDoSend,
  RequestDoSendExit,
  RequestDoSendExitMeta,
  RequestDoSendMeta,
  RequestDoSetLogLevel,
  RequestDoSetLogLevelMeta,
  RequestDoSetLogLevelProcess,
  RequestInspectApplicationList,
  RequestInspectApplicationTree,
  RequestInspectConnection,
  RequestInspectLog,
  RequestInspectMeta,
  RequestInspectMetaState,
  RequestInspectNetwork,
  RequestInspectNode,
  RequestInspectProcess,
  RequestInspectConnectionList,
  RequestInspectCrashes,
  RequestInspectEventList,
  RequestInspectHeap,
  RequestInspectProcessList,
  RequestInspectProcessPage,
  RequestInspectProcessRange,
  RequestInspectProcessState,
  SYSTEM_INSPECT,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  parseLogLevel,
  type Alias,
  type Atom,
  type ProcessID,
  type Event,
  type NetworkRoute,
  type Node,
  type PID,
} from 'ergo-ts';

import { parseAlias, parsePID } from './json.js';

/** Registered name of the process that answers the inspector protocol on every node. */
export const INSPECT_PROCESS = SYSTEM_INSPECT;

/** Default number of processes in one page of the process list. */
export const DEFAULT_PROCESS_PAGE = 500;
/** Largest page of the process list. */
export const MAX_PROCESS_PAGE = 10_000;

/** A command the session cannot carry out: `status` is the HTTP answer (400 bad input, ...). */
export class CommandError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The node a session observes. */
export interface Target {
  node: Atom;
  creation: number;
  local: boolean;
}

/** A subscription request: the lookup key and the RequestInspect* to call with. */
export interface InspectQuery {
  key: string;
  request: unknown;
}

/** Levels the log page may ask for (Ergo's log inspector takes these five). */
const LOG_LEVELS: Record<string, LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  panic: LogLevel.Panic,
};

function pidArg(v: unknown, t: Target, name = 'pid'): PID {
  const pid = parsePID(v, t.node, t.creation);
  if (pid === null) throw new CommandError(400, `${name}: not a PID of ${t.node} (<CRC.hi.lo>)`);
  return pid;
}

function aliasArg(v: unknown, t: Target): Alias {
  const alias = parseAlias(v, t.node, t.creation);
  if (alias === null) throw new CommandError(400, `alias: not an alias of ${t.node} (Alias#<CRC.a.b.c>)`);
  return alias;
}

function intArg(v: unknown, name: string, def: number, min: number, max: number): number {
  if (v === undefined || v === null || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CommandError(400, `${name}: an integer ${min}..${max}`);
  return n;
}

/** The `RequestInspectNode` a switch and the node page use. */
export function requestInspectNode(): unknown {
  return new RequestInspectNode();
}

/** Builds the subscription for `type` (see the POST API in docs/observer.md). CommandError 400 for bad args. */
export function inspectQuery(type: string, args: Record<string, unknown>, t: Target): InspectQuery {
  switch (type) {
    case 'node_info':
      return { key: type, request: new RequestInspectNode() };
    case 'network_info':
      return { key: type, request: new RequestInspectNetwork() };
    case 'application_list':
      return { key: type, request: new RequestInspectApplicationList() };
    case 'process_list': {
      // pidLimit -1: Ergo v0.2's range scan (newer cores), filters applied by the node.
      if (args.pidLimit === -1 || args.pidLimit === '-1')
        return {
          key: type,
          request: new RequestInspectProcessRange({
            ...filters(args),
            limit: intArg(args.limit, 'limit', MAX_PROCESS_PAGE, 1, MAX_PROCESS_PAGE),
          }),
        };
      const start = intArg(args.pidStart, 'pidStart', 1000, 0, Number.MAX_SAFE_INTEGER);
      const limit = intArg(args.pidLimit, 'pidLimit', DEFAULT_PROCESS_PAGE, 1, MAX_PROCESS_PAGE);
      return { key: type, request: new RequestInspectProcessList({ start: Math.max(1000, start), limit }) };
    }
    case 'process_page': {
      // ergo-ts nodes: filtered, sorted and paged by the node (one pass, no full sort).
      const sort = args.sort === undefined ? 'pid' : String(args.sort);
      if (!['pid', 'running', 'cpu', 'messages', 'mailbox', 'uptime'].includes(sort))
        throw new CommandError(400, 'sort: pid, running, cpu, messages, mailbox or uptime');
      return {
        key: 'process_list',
        request: new RequestInspectProcessPage({
          ...filters(args),
          sort,
          offset: intArg(args.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
          limit: intArg(args.limit, 'limit', DEFAULT_PROCESS_PAGE, 1, MAX_PROCESS_PAGE),
          // The PID cursor (by PID only): the page after this process id, however the table changed.
          after: intArg(args.after, 'after', 0, 0, Number.MAX_SAFE_INTEGER),
        }),
      };
    }
    case 'entities_find': {
      // The entities runtime's manager, or (kind and key given) one entity's host: found by
      // behaviour and registered name among the node's processes (ergo-ts nodes only).
      const kind = typeof args.kind === 'string' ? args.kind : '';
      const key = typeof args.key === 'string' ? args.key : '';
      const name = kind === '' ? '' : `~entity/${kind}/${key}`;
      return {
        key: `${type}:${name}`,
        request: new RequestInspectProcessPage({
          name,
          behavior: kind === '' ? 'EntityManager' : 'EntityHost',
          application: '',
          state: '',
          minMailbox: 0,
          sort: 'pid',
          offset: 0,
          limit: 20,
        }),
      };
    }
    case 'connection_list':
      return {
        key: type,
        request: new RequestInspectConnectionList({
          limit: intArg(args.limit, 'limit', 100, -1, MAX_PROCESS_PAGE),
          name: typeof args.namePattern === 'string' ? args.namePattern : '',
        }),
      };
    case 'event_list': {
      const tri = (v: unknown): number => (v === 'yes' ? 1 : v === 'no' ? -1 : 0);
      return {
        key: type,
        request: new RequestInspectEventList({
          limit: intArg(args.limit, 'limit', 500, -1, 100_000),
          name: typeof args.namePattern === 'string' ? args.namePattern : '',
          notify: tri(args.notifyMode),
          buffered: tri(args.bufferedMode),
          minSubscribers: intArg(args.minSubscribers, 'minSubscribers', 0, 0, Number.MAX_SAFE_INTEGER),
        }),
      };
    }
    case 'heap':
      return {
        key: type,
        request: new RequestInspectHeap({
          limit: intArg(args.limit, 'limit', 100, 1, MAX_PROCESS_PAGE),
          name: typeof args.name === 'string' ? args.name : '',
        }),
      };
    case 'process_info': {
      const pid = pidArg(args.pid, t);
      return { key: `${type}:${String(pid)}`, request: new RequestInspectProcess({ pid }) };
    }
    case 'process_state': {
      const pid = pidArg(args.pid, t);
      return { key: `${type}:${String(pid)}`, request: new RequestInspectProcessState({ pid }) };
    }
    case 'meta_info': {
      const meta = aliasArg(args.alias ?? args.id, t);
      return { key: `${type}:${String(meta)}`, request: new RequestInspectMeta({ meta }) };
    }
    case 'meta_state': {
      const meta = aliasArg(args.alias ?? args.id, t);
      return { key: `${type}:${String(meta)}`, request: new RequestInspectMetaState({ meta }) };
    }
    case 'connection_info': {
      if (typeof args.node !== 'string' || args.node === '') throw new CommandError(400, 'node: a node name');
      return {
        key: `${type}:${args.node}`,
        request: new RequestInspectConnection({ remoteNode: args.node as Atom }),
      };
    }
    case 'log': {
      const raw = args.levels === undefined ? Object.keys(LOG_LEVELS) : args.levels;
      if (!Array.isArray(raw)) throw new CommandError(400, 'levels: an array of level names');
      const levels = raw.map((l) => {
        const level = typeof l === 'string' ? LOG_LEVELS[l] : undefined;
        if (level === undefined)
          throw new CommandError(400, `levels: ${String(l)} is not one of debug, info, warning, error, panic`);
        return level;
      });
      return { key: type, request: new RequestInspectLog({ levels: levels.length === 0 ? null : levels }) };
    }
    case 'application_tree': {
      if (typeof args.app !== 'string' || args.app === '') throw new CommandError(400, 'app: an application name');
      const limit = intArg(args.limit, 'limit', 1000, 1, MAX_PROCESS_PAGE);
      return {
        key: `${type}:${args.app}`,
        request: new RequestInspectApplicationTree({ application: args.app as Atom, limit }),
      };
    }
    default:
      throw new CommandError(400, `unknown subscription type ${type}`);
  }
}

/** The filters of a process range or page (name, behavior, application: substrings; state; minMailbox). */
function filters(args: Record<string, unknown>): {
  name: string;
  behavior: string;
  application: string;
  state: string;
  minMailbox: number;
} {
  const str = (v: unknown, name: string): string => {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new CommandError(400, `${name}: a string`);
    return v;
  };
  return {
    name: str(args.namePattern ?? args.name, 'namePattern'),
    behavior: str(args.behavior, 'behavior'),
    application: str(args.application, 'application'),
    state: str(args.state, 'state'),
    minMailbox: intArg(args.minMailbox, 'minMailbox', 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

function reasonArg(v: unknown): Error {
  if (v === undefined || v === null || v === '' || v === 'normal') return TerminateReasonNormal;
  if (v === 'shutdown') return TerminateReasonShutdown;
  if (v === 'kill') return TerminateReasonKill;
  if (typeof v !== 'string') throw new CommandError(400, 'reason: a string');
  return new Error(v);
}

function levelArg(v: unknown): LogLevel {
  const level = typeof v === 'string' ? parseLogLevel(v) : undefined;
  if (level === undefined) throw new CommandError(400, `level: ${String(v)} is not a log level name`);
  return level;
}

function priorityArg(v: unknown): MessagePriority {
  if (v === undefined || v === null || v === '' || v === 'normal') return MessagePriority.Normal;
  if (v === 'high') return MessagePriority.High;
  if (v === 'max') return MessagePriority.Max;
  throw new CommandError(400, 'priority: normal, high or max');
}

function appArg(v: unknown): Atom {
  if (typeof v !== 'string' || v === '') throw new CommandError(400, 'app: an application name');
  return v as Atom;
}

/** Modes an application may start in (empty: the mode of its spec). */
export const APPLICATION_MODES = ['temporary', 'transient', 'permanent'];

function modeArg(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string' || !APPLICATION_MODES.includes(v))
    throw new CommandError(400, 'mode: temporary, transient or permanent');
  return v;
}

/**
 * Builds the RequestDo* of a `do` action (send, send_exit, kill, set_log_level, and on ergo-ts
 * nodes application_start, application_stop, and the read `crashes`). 400 for bad args.
 */
export function doRequest(action: string, body: Record<string, unknown>, t: Target): unknown {
  switch (action) {
    case 'send':
      if (body.message === undefined) throw new CommandError(400, 'message: required (any JSON)');
      if (body.alias !== undefined)
        return new RequestDoSendMeta({ meta: aliasArg(body.alias, t), message: body.message });
      return new RequestDoSend({
        pid: pidArg(body.pid, t),
        priority: priorityArg(body.priority),
        message: body.message,
      });
    case 'send_exit':
      if (body.alias !== undefined)
        return new RequestDoSendExitMeta({ meta: aliasArg(body.alias, t), reason: reasonArg(body.reason) });
      return new RequestDoSendExit({ pid: pidArg(body.pid, t), reason: reasonArg(body.reason) });
    case 'kill':
      return new RequestDoKill({ pid: pidArg(body.pid, t) });
    case 'crashes':
      // A read (an ergo-ts node's recent crashes, of one process when `pid` is given).
      return new RequestInspectCrashes({
        ...(body.pid === undefined ? {} : { pid: pidArg(body.pid, t) }),
        limit: intArg(body.limit, 'limit', 0, 0, 1000),
      });
    case 'application_start':
      return new RequestDoApplicationStart({ application: appArg(body.app), mode: modeArg(body.mode) });
    case 'application_stop':
      return new RequestDoApplicationStop({ application: appArg(body.app), force: body.force === true });
    case 'set_log_level': {
      const level = levelArg(body.level);
      if (body.target === 'process') return new RequestDoSetLogLevelProcess({ pid: pidArg(body.pid, t), level });
      if (body.target === 'meta') return new RequestDoSetLogLevelMeta({ meta: aliasArg(body.alias, t), level });
      return new RequestDoSetLogLevel({ level });
    }
    default:
      throw new CommandError(404, `unknown action ${action}`);
  }
}

/** The event a ResponseInspect* names, or null. */
export function responseEvent(response: unknown): Event | null {
  const e = (response as { event?: Event } | null)?.event;
  return e !== undefined && e !== null && typeof e === 'object' && typeof e.key === 'string' && e.name !== ''
    ? e
    : null;
}

/** The error a response carries (`error` of a ResponseDo*), or null. */
export function responseError(response: unknown): string | null {
  if (response instanceof Error) return response.message;
  const e = (response as { error?: unknown } | null)?.error;
  if (e === undefined || e === null || e === '') return null;
  return e instanceof Error ? e.message : String(e);
}

/** The node incarnation a ResponseInspectNode reports. */
export function nodeCreation(response: unknown): number {
  const c = (response as { creation?: unknown } | null)?.creation;
  return typeof c === 'bigint' ? Number(c) : typeof c === 'number' ? c : 0;
}

/** The synthetic last frame of a subscription whose source went away (Ergo v0.2's). */
export function terminatedFrame(type: string, args: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'process_info':
      return { terminated: true, info: { pid: args.pid, state: 'terminated' } };
    case 'meta_info':
      return { terminated: true, info: { id: args.alias ?? args.id, state: 'terminated' } };
    case 'connection_info':
      return { disconnected: true, info: { node: args.node } };
    default:
      return { state: 'terminated', terminated: true };
  }
}

/**
 * Dials `name` from `node` unless connected: explicit host/port/TLS/cookie over the registrar's
 * route; without them, the way `dialled` (by node name) says it was reached before, so a lost
 * connection is dialled again the same way. Fails with a CommandError naming the node.
 */
export async function connectNode(
  node: Node,
  dialled: Map<string, NetworkRoute>,
  name: Atom,
  body: Record<string, unknown>,
): Promise<void> {
  let network;
  try {
    network = node.network();
  } catch {
    throw new CommandError(400, 'this node runs without a network: it can observe only itself');
  }
  if (network.nodes().includes(name)) return;
  const host = typeof body.host === 'string' && body.host !== '' ? body.host : undefined;
  const port = Number(body.port);
  const cookie = typeof body.cookie === 'string' && body.cookie !== '' ? body.cookie : undefined;
  const tls = body.tls === true;
  try {
    if (host === undefined && !(port > 0) && cookie === undefined) {
      const again = dialled.get(name);
      await (again === undefined ? network.getNode(name) : network.getNodeWithRoute(name, again));
      return;
    }
    let base: { host: string; port: number; tls: boolean } | undefined;
    try {
      const routes = await network.registrar().resolver().resolve(name);
      if (routes[0] !== undefined) base = routes[0];
    } catch {
      // not known to the registrar: the explicit parts must do
    }
    const route = {
      host: host ?? base?.host ?? name.slice(name.indexOf('@') + 1),
      port: port > 0 ? port : (base?.port ?? 0),
      tls: tls || (base?.tls ?? false),
    };
    if (!(route.port > 0)) throw new CommandError(400, `no port known for ${name}: give one`);
    const how: NetworkRoute = {
      route,
      ...(cookie === undefined ? {} : { cookie }),
      ...(route.tls ? { insecureSkipVerify: true } : {}),
    };
    await network.getNodeWithRoute(name, how);
    dialled.set(name, how);
  } catch (err) {
    if (err instanceof CommandError) throw err;
    throw new CommandError(502, `could not connect to ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A page request answered by a registered process of the observed node (the entities manager
 * here, a tab gateway's inspector in tabs.ts): whom to call with what, how its answer reads (a
 * refusal throws), and what a failed call tells the page.
 */
export interface RegisteredCall {
  to: ProcessID;
  request: Record<string, unknown>;
  answer(text: unknown): unknown;
  fail(err: unknown): Error;
  /**
   * The 200 answer when the node has no process under `to`'s name (a probe: the page asks
   * whether a feature is there, which is no error); without it that is `fail`'s.
   */
  absent?(): unknown;
}

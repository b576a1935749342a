// A browser session: one process per open SSE stream (Ergo v0.2's model). It owns the stream's
// alias, knows which node the browser observes, turns the browser's subscribe / unsubscribe /
// switch / do commands into calls to that node's `system_inspect` (local or remote alike), joins
// the resulting inspector events through the hub, and writes every message it receives from the
// hub to its stream as an SSE frame `event: <type>`, `id: <counter>`, `data: <JSON>`.

import { Actor, ProcessID, type Alias, type Atom, type PID, type Ref } from 'ergo-ts';
import { MessageSSE } from 'ergo-ts/meta';

import { acquireRuntime, releaseRuntime, runtimeSample } from './runtime.js';
import { HUB_NAME, HubDown, HubJoin, HubJoined, HubLeave, HubPush } from './hub.js';
import { nodeCRC, toJSONString, toJSONValue } from './json.js';
import {
  CommandError,
  INSPECT_PROCESS,
  doRequest,
  inspectQuery,
  nodeCreation,
  requestInspectNode,
  responseError,
  responseEvent,
  terminatedFrame,
  type Target,
} from './requests.js';

/** Prefix of a session's registered name; 32 hex digits follow. */
export const SESSION_PREFIX = 'observer_session_';

/** Milliseconds a session waits for `system_inspect` (and the hub) to answer. */
export const SESSION_CALL_TIMEOUT = 5000;

/** Milliseconds between two checks of the node list (a `cluster_update` frame when it changed). */
export const CLUSTER_REFRESH = 5000;

/** A browser's command, forwarded by a POST worker to its session (call). */
export class SessionCommand {
  constructor(
    /** `subscribe`, `unsubscribe`, `switch` or `do`. */
    readonly op: string,
    /** For `do`: the action (`send`, `send_exit`, `kill`, `set_log_level`). */
    readonly action: string,
    readonly body: Record<string, unknown>,
  ) {}
}

/** A session's answer to a {@link SessionCommand}: the HTTP status and `{ok, error?, data?}`. */
export class SessionReply {
  constructor(
    readonly status: number,
    readonly error: string | null = null,
    readonly data: unknown = null,
  ) {}
}

/** Arguments of a session's init. */
export interface SessionArgs {
  id: string;
  stream: Alias;
  version: string;
  /** The node to observe first (`ObserverOptions.node`). */
  node?: Record<string, unknown>;
}

interface Subscription {
  type: string;
  eventKey: string;
  args: Record<string, unknown>;
}

const tick = Symbol('observer session cluster tick');
const runtimeTick = Symbol('observer session runtime tick');

/**
 * The session process (`observer_session_<id>`). Spawned by the Observer's manager when a
 * stream opens and ended by it when the stream closes; the hub drops its subscriptions then.
 * Its `handleInspect` reports the node observed and its subscription count.
 */
export class Session extends Actor {
  #id = '';
  #stream!: Alias;
  #version = '';
  #target!: Target;
  #frame = 0;
  /** Lookup key (type + its identifying args) → subscription. */
  readonly #subs = new Map<string, Subscription>();
  #nodes = '';
  #first: Record<string, unknown> | undefined;

  override init(args: SessionArgs): void {
    this.#id = args.id;
    this.#stream = args.stream;
    this.#version = args.version;
    this.#first = args.node;
    this.#target = { node: this.node.name, creation: this.node.creation, local: true };
    this.send(this.pid, tick);
    acquireRuntime();
    this.sendAfter(this.pid, runtimeTick, 1000);
  }

  override async handleCall(_from: PID, _ref: Ref, request: unknown): Promise<unknown> {
    if (!(request instanceof SessionCommand)) return undefined;
    try {
      switch (request.op) {
        case 'subscribe':
          return await this.#subscribe(request.body);
        case 'unsubscribe':
          return this.#unsubscribe(request.body);
        case 'switch':
          return await this.#switch(request.body);
        case 'do':
          return await this.#do(request.action, request.body);
        default:
          return new SessionReply(404, `unknown command ${request.op}`);
      }
    } catch (err) {
      if (err instanceof CommandError) return new SessionReply(err.status, err.message);
      return new SessionReply(500, err instanceof Error ? err.message : String(err));
    }
  }

  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    if (message instanceof HubPush) {
      for (const s of this.#subs.values()) if (s.eventKey === message.eventKey) this.#write(s.type, message.json);
    } else if (message instanceof HubDown) {
      for (const [key, s] of this.#subs) {
        if (s.eventKey !== message.eventKey) continue;
        this.#subs.delete(key);
        this.#write(s.type, toJSONString(terminatedFrame(s.type, s.args)));
      }
    } else if (message === runtimeTick) {
      // Event loop figures exist only for the node this Observer runs on (see runtime.ts).
      if (this.#target.local && this.#subs.has('node_info')) this.#write('runtime', JSON.stringify(runtimeSample()));
      this.sendAfter(this.pid, runtimeTick, 1000);
    } else if (message === tick) {
      const first = this.#first;
      this.#first = undefined;
      if (first !== undefined && first.name !== this.node.name) {
        const r = await this.handleCall(
          this.pid,
          this.node.makeRef(),
          new SessionCommand('switch', '', { ...first, node: first.name }),
        );
        if (r instanceof SessionReply && r.status !== 200)
          this.log.warning('observer: %s unreachable: %s', first.name, r.error);
      }
      await this.#refreshNodes(false);
      this.sendAfter(this.pid, tick, CLUSTER_REFRESH);
    }
  }

  override handleInspect(): Record<string, string> {
    return { session: this.#id, node: this.#target.node, subscriptions: String(this.#subs.size) };
  }

  override terminate(): void {
    // The hub sees this process go down and drops what it held.
    releaseRuntime();
  }

  #write(type: string, json: string): void {
    try {
      this.send(this.#stream, new MessageSSE({ event: type, eventId: String(++this.#frame), data: json }));
    } catch {
      // The stream has just closed: the manager ends this session on its disconnect.
    }
  }

  async #subscribe(body: Record<string, unknown>): Promise<SessionReply> {
    const type = stringArg(body.type, 'type');
    const args = objectArg(body.args);
    const query = inspectQuery(type, args, this.#target);
    const response = await this.call(this.#inspector(), query.request, { timeout: SESSION_CALL_TIMEOUT });
    const failed = responseError(response);
    if (failed !== null) throw new CommandError(400, failed);
    const event = responseEvent(response);
    if (event === null) throw new CommandError(500, `system_inspect answered ${type} without an event`);
    // The same lookup key with other args (log levels, a page of the process list) replaces the old one.
    const old = this.#subs.get(query.key);
    if (old !== undefined) {
      this.#subs.delete(query.key);
      this.#leaveIfUnused(old.eventKey);
    }
    const joined = await this.call(HUB_NAME, new HubJoin(this.pid, event), { timeout: SESSION_CALL_TIMEOUT });
    if (!(joined instanceof HubJoined)) throw new CommandError(500, 'the hub did not answer');
    if (joined.error !== null) throw new CommandError(500, joined.error);
    this.#subs.set(query.key, { type, eventKey: event.key, args });
    if (type === 'node_info') this.#write('node_meta', toJSONString(nodeMeta(response)));
    if (joined.last !== null) this.#write(type, joined.last);
    return new SessionReply(200, null, { key: query.key, event: event.toString(), replayed: joined.last !== null });
  }

  #unsubscribe(body: Record<string, unknown>): SessionReply {
    const type = stringArg(body.type, 'type');
    const key = inspectQuery(type, objectArg(body.args), this.#target).key;
    const s = this.#subs.get(key);
    if (s === undefined) return new SessionReply(200);
    this.#subs.delete(key);
    this.#leaveIfUnused(s.eventKey);
    return new SessionReply(200);
  }

  #leaveIfUnused(eventKey: string): void {
    for (const s of this.#subs.values()) if (s.eventKey === eventKey) return;
    this.send(HUB_NAME, new HubLeave(this.pid, eventKey));
  }

  async #switch(body: Record<string, unknown>): Promise<SessionReply> {
    const name = stringArg(body.node, 'node') as Atom;
    const local = name === this.node.name;
    if (!local) await this.#connect(name, body);
    const target: Target = { node: name, creation: this.node.creation, local };
    const response = await this.call(new ProcessID(INSPECT_PROCESS, name), requestInspectNode(), {
      timeout: SESSION_CALL_TIMEOUT,
    });
    const failed = responseError(response);
    if (failed !== null) throw new CommandError(502, failed);
    target.creation = local ? this.node.creation : nodeCreation(response);
    for (const s of this.#subs.values()) this.send(HUB_NAME, new HubLeave(this.pid, s.eventKey));
    this.#subs.clear();
    this.#target = target;
    await this.#refreshNodes(true);
    return new SessionReply(200, null, { node: name });
  }

  /** Dials `name` unless connected: explicit host/port/TLS/cookie over the registrar's route. */
  async #connect(name: Atom, body: Record<string, unknown>): Promise<void> {
    let network;
    try {
      network = this.node.network();
    } catch {
      throw new CommandError(400, 'this node runs without a network: it can observe only itself');
    }
    if (network.nodes().includes(name)) return;
    const host = typeof body.host === 'string' && body.host !== '' ? body.host : undefined;
    const port = Number(body.port);
    const cookie = typeof body.cookie === 'string' && body.cookie !== '' ? body.cookie : undefined;
    const tls = body.tls === true;
    if (host === undefined && !(port > 0) && cookie === undefined) {
      await network.getNode(name);
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
    await network.getNodeWithRoute(name, {
      route,
      ...(cookie === undefined ? {} : { cookie }),
      ...(route.tls ? { insecureSkipVerify: true } : {}),
    });
  }

  async #do(action: string, body: Record<string, unknown>): Promise<SessionReply> {
    const request = doRequest(action, body, this.#target);
    const response = await this.call(this.#inspector(), request, { timeout: SESSION_CALL_TIMEOUT });
    const failed = responseError(response);
    if (failed !== null) throw new CommandError(400, failed);
    return new SessionReply(200, null, toJSONValue(response));
  }

  #inspector(): ProcessID {
    return new ProcessID(INSPECT_PROCESS, this.#target.node);
  }

  /** Sends `connected` (always when `force`) or `cluster_update` when the node list changed. */
  async #refreshNodes(force: boolean): Promise<void> {
    const names = new Set<string>([this.node.name]);
    const connected = new Set<string>();
    try {
      const network = this.node.network();
      for (const n of network.nodes()) {
        names.add(n);
        connected.add(n);
      }
      try {
        for (const n of await network.registrar().nodes()) names.add(n);
      } catch {
        // a registrar that cannot list (or none): connected nodes only
      }
    } catch {
      // no network
    }
    names.add(this.#target.node);
    const nodes = [...names]
      .sort()
      .map((n) => ({ name: n, crc32: nodeCRC(n as Atom), connected: n === this.node.name || connected.has(n) }));
    const list = JSON.stringify(nodes);
    if (!force && list === this.#nodes) return;
    const first = this.#nodes === '';
    this.#nodes = list;
    if (force || first) {
      const node = { name: this.#target.node, crc32: nodeCRC(this.#target.node), connected: true };
      this.#write(
        'connected',
        JSON.stringify({ sessionId: this.#id, node, self: this.node.name, nodes, version: this.#version }),
      );
    } else {
      this.#write('cluster_update', JSON.stringify({ nodes }));
    }
  }
}

function stringArg(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw new CommandError(400, `${name}: a non-empty string is required`);
  return v;
}

function objectArg(v: unknown): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new CommandError(400, 'args: an object is required');
  return v as Record<string, unknown>;
}

/** The `node_meta` frame: the facts of a node that do not change (from its node response). */
function nodeMeta(response: unknown): Record<string, unknown> {
  const r = toJSONValue(response) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(r)) if (k !== 'event' && k !== 'error') out[k] = r[k];
  return out;
}

// A browser session: one process per open SSE stream (Ergo v0.2's model). It owns the stream's
// alias, knows which node the browser observes, turns the browser's subscribe / unsubscribe /
// switch / do commands into calls to that node's `system_inspect` (local or remote alike), joins
// the resulting inspector events through the hub, and writes every message it receives from the
// hub to its stream as an SSE frame `event: <type>`, `id: <counter>`, `data: <JSON>`.

import {
  Actor,
  MessageInspectTrace,
  ProcessID,
  TRACE_FLUSH,
  ReplyLater,
  RequestDoApplicationStart,
  RequestDoApplicationStop,
  type Alias,
  type Atom,
  type NetworkRoute,
  type PID,
  type Ref,
  type RemoteNode,
} from 'ergo-ts';
import { MessageSSE } from 'ergo-ts/meta';

import { acquireRuntime, releaseRuntime, runtimeSample } from './runtime.js';
import { HUB_NAME, HubDown, HubJoin, HubJoined, HubLeave, HubPush } from './hub.js';
import { HistoryAnswer, SentHistory, type HistoryQuery } from './history.js';
import { detach } from './detach.js';
import { frameworkOf } from './framework.js';
import { MUX_FRAME } from './mux.js';
import { ProcessTools, TOOL_ACTIONS, ToolError, type TraceEnded } from './tools.js';
import { OPS_ACTIONS, OpsViews, localOnly, logSearchQuery } from './ops.js';
import { askRegistered, registeredCall } from './registered.js';
import { nodeCRC, toJSONString, toJSONValue } from './json.js';
import {
  CommandError,
  INSPECT_PROCESS,
  connectNode,
  doRequest,
  inspectQuery,
  nodeCreation,
  requestInspectNode,
  responseError,
  responseEvent,
  terminatedFrame,
  type RegisteredCall,
  type Target,
} from './requests.js';
import {
  CLUSTER_REFRESH,
  SESSION_CALL_TIMEOUT,
  SESSION_CONNECT_TIMEOUT,
  SessionCommand,
  SessionReply,
  Settled,
  askError,
  deadline,
  errorReply,
  isTimeout,
  nodeMeta,
  objectArg,
  runtimeTick,
  stringArg,
  tick,
  traceTick,
  type Latest,
  type SessionArgs,
  type Subscription,
} from './session_protocol.js';

/** Lookup keys whose newest browser id a session remembers (a tab opening many process pages). */
const NEWEST_IDS_KEPT = 4096;

/**
 * The session process (`observer_session_<id>`). Spawned by the Observer's manager when a
 * stream opens and ended by it when the stream closes; the hub drops its subscriptions then.
 * Every command that waits for another node is answered later (`ReplyLater`): its calls run
 * outside the handler and their outcome comes back as a message, so a node that is slow, stopped
 * or gone delays only the commands addressed to it, each of which fails with its own message
 * after {@link SESSION_CALL_TIMEOUT}. Its `handleInspect` reports the node observed, its
 * subscription count, the lookup keys it tracks (`keys`: those subscribed or being subscribed;
 * nothing stays for a key once unsubscribed) and the commands in flight.
 */
export class Session extends Actor {
  #id = '';
  #stream!: Alias;
  #tab: string | null = null;
  #history: string | null = null;
  #version = '';
  #target!: Target;
  #frame = 0;
  /** Lookup key (type + its identifying args) → subscription. */
  readonly #subs = new Map<string, Subscription>();
  /** Lookup key → the newest subscribe / unsubscribe of it, while it is subscribed or being subscribed. */
  readonly #latest = new Map<string, Latest>();
  /**
   * Lookup key → the highest browser id (a tab numbers its subscribes 1, 2, 3...) any subscribe or
   * unsubscribe of it named. The POST workers deliver in any order: a subscribe that arrives after a
   * newer one of its key (a page size changed while the first was on its way), or after its own
   * unsubscribe (the component left at once), is stale and dropped; otherwise it would win, and
   * the page show the old arguments' frames for as long as it stays open. At most
   * {@link NEWEST_IDS_KEPT} keys, the oldest forgotten first.
   */
  readonly #newestId = new Map<string, number>();
  /**
   * Frames of events joined by a subscribe not yet settled (the hub pushes as soon as it joined,
   * before the Settled message lands): replayed when it lands, so a short-lived event's last frame
   * (the terminated frame of a PID that had ended already) is not lost. By event key.
   */
  readonly #early = new Map<string, { joins: number; frames: string[]; down: boolean }>();
  #seq = 0;
  /** Sequence number of the newest switch asked for. */
  #switchSeq = 0;
  /** Bumped by every switch applied: work started for an older target is dropped. */
  #generation = 0;
  #inFlight = 0;
  #nodes = '';
  #started = false;
  /** What the registrar listed last (refreshed in the background). */
  #registered: string[] = [];
  #refreshing = false;
  /**
   * How the operator reached nodes through "connect to…" (host/port/TLS/cookie), by node name:
   * a connection that is lost (the node stopped, stalled or was cut off) is dialled the same way
   * when the operator selects the node again, as the network keeps no one-off route.
   */
  readonly #dialled = new Map<string, NetworkRoute>();
  /** The framework of each remote node observed, from its node_info frames (how to start its applications). */
  readonly #frameworks = new Map<string, string>();
  #first: Record<string, unknown> | undefined;
  /** What this stream was sent of the History: later subscribes get only what is new. */
  readonly #sentHistory = new SentHistory();
  #tools!: ProcessTools;
  /** The operator's views (ops.ts): log search, group trace, socket overview. */
  #ops!: OpsViews;
  /** A traceTick is on its way (while any trace runs). */
  #tracing = false;

  override init(args: SessionArgs): void {
    this.#tools = new ProcessTools(this.node, args.tools ?? { mailboxPeek: true, messageTrace: true });
    this.#ops = new OpsViews(this.node, args.tools?.messageTrace !== false);
    this.#id = args.id;
    this.#stream = args.stream;
    this.#tab = args.tab ?? null;
    this.#history = args.history ?? null;
    this.#version = args.version;
    this.#first = args.node;
    this.#target = { node: this.node.name, creation: this.node.creation, local: true };
    this.send(this.pid, tick);
    acquireRuntime();
    this.sendAfter(this.pid, runtimeTick, 1000);
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (!(request instanceof SessionCommand)) return undefined;
    try {
      switch (request.op) {
        case 'subscribe':
          this.#subscribe(from, ref, request.body);
          return ReplyLater;
        case 'unsubscribe':
          return this.#unsubscribe(request.body);
        case 'switch':
          this.#switch(from, ref, request.body);
          return ReplyLater;
        case 'do':
          if (TOOL_ACTIONS.has(request.action)) return this.#tool(from, ref, request.action, request.body);
          if (OPS_ACTIONS.has(request.action)) return this.#opsAction(from, ref, request.action, request.body);
          const asked = registeredCall(request.action, request.body, this.#target, this.#tools);
          if (asked !== null) return this.#askProcess(from, ref, asked);
          this.#do(from, ref, request.action, request.body);
          return ReplyLater;
        default:
          return new SessionReply(404, `unknown command ${request.op}`);
      }
    } catch (err) {
      return errorReply(err);
    }
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof Settled) {
      this.#inFlight--;
      let reply: SessionReply;
      try {
        reply = message.ok ? message.apply(message.value) : errorReply(message.value);
      } catch (err) {
        reply = errorReply(err);
      } finally {
        message.done?.();
      }
      if (message.from !== null && message.ref !== null) this.sendResponse(message.from, message.ref, reply);
      else if (reply.status !== 200) {
        this.log.warning('observer: %s', reply.error);
        // The configured first node is unreachable: the stream starts on this node.
        if (this.#nodes === '') this.#writeNodes(true);
      }
    } else if (message instanceof HubPush) {
      this.#early.get(message.eventKey)?.frames.push(message.json);
      for (const s of this.#subs.values())
        if (s.eventKey === message.eventKey) {
          if (s.type === 'node_info') this.#learnFramework(message.json);
          this.#write(s.type, message.json);
        }
    } else if (message instanceof HubDown) {
      const early = this.#early.get(message.eventKey);
      if (early !== undefined) early.down = true;
      for (const [key, s] of this.#subs) {
        if (s.eventKey !== message.eventKey) continue;
        this.#subs.delete(key);
        const latest = this.#latest.get(key);
        if (latest !== undefined) this.#forgetIfIdle(key, latest);
        this.#write(s.type, toJSONString(terminatedFrame(s.type, s.args)));
      }
    } else if (message instanceof MessageInspectTrace) {
      this.#tools.remoteRecords(message, (type, json) => this.#write(type, json), this.#traceEnded);
    } else if (message === traceTick) {
      const write = (type: string, json: string): void => this.#write(type, json);
      const single = this.#tools.flush(write, this.#traceEnded);
      const running = this.#ops.flush(write, this.#traceEnded) || single;
      if (running) this.sendAfter(this.pid, traceTick, TRACE_FLUSH);
      else this.#tracing = false;
    } else if (message === runtimeTick) {
      // Event loop figures exist only for the node this Observer runs on (see runtime.ts).
      if (this.#target.local && this.#subs.has('node_info')) this.#write('runtime', JSON.stringify(runtimeSample()));
      this.sendAfter(this.pid, runtimeTick, 1000);
    } else if (message === tick) {
      if (!this.#started) {
        this.#started = true;
        // The first tick: the stream's `connected` frame, or a switch to the configured node (its
        // `connected` frame then names that node).
        const first = this.#first;
        this.#first = undefined;
        if (first === undefined || first.name === this.node.name) this.#writeNodes(true);
        else this.#switch(null, null, { ...first, node: first.name });
      }
      this.#refreshRegistrar();
      this.sendAfter(this.pid, tick, CLUSTER_REFRESH);
    }
  }

  override handleInspect(): Record<string, string> {
    return {
      session: this.#id,
      node: this.#target.node,
      subscriptions: String(this.#subs.size),
      // keys tracked for ordering late commands: never more than subscriptions + subscribes in flight
      keys: String(this.#latest.size),
      inflight: String(this.#inFlight),
      traces: String(this.#tools.traces),
    };
  }

  override terminate(): void {
    // The hub sees this process go down and drops what it held; its traces end with it.
    this.#tools.stopAll('closed');
    this.#tools.flush(() => undefined, this.#traceEnded);
    this.#ops.stopAll('closed');
    this.#ops.flush(() => undefined, this.#traceEnded);
    releaseRuntime();
  }

  /**
   * Runs `work` outside the handler (it may use only the node's calls, never this process's
   * own, which a sleeping process may not make), then `apply` its value in handleMessage and
   * answer `from` (when given) with what `apply` returns, or with the error `work` threw. `done`
   * runs in handleMessage after either outcome; it never runs if the session ends first.
   */
  #later<T>(
    from: PID | null,
    ref: Ref | null,
    work: () => Promise<T>,
    apply: (value: T) => SessionReply,
    done: (() => void) | null = null,
  ): void {
    this.#inFlight++;
    const back = (ok: boolean, value: unknown): void => {
      try {
        this.node.send(this.pid, new Settled<T>(from, ref, ok, value, apply, done));
      } catch {
        // this session has ended meanwhile: nobody is left to answer
      }
    };
    detach(work, 'a session request', this.log, {
      value: (v) => back(true, v),
      error: (e) => back(false, e),
    });
  }

  #write(type: string, json: string): void {
    try {
      const frame =
        this.#tab === null
          ? new MessageSSE({ event: type, eventId: String(++this.#frame), data: json })
          : new MessageSSE({ event: MUX_FRAME, data: `${this.#tab} ${type} ${json}` });
      this.send(this.#stream, frame);
    } catch {
      // The stream has just closed: the manager ends this session on its disconnect.
    }
  }

  /** One request to the `system_inspect` of `target`; a failure says which node and request. */
  async #ask(target: Target, request: unknown, what: string): Promise<unknown> {
    let response: unknown;
    try {
      response = await this.node.call(new ProcessID(INSPECT_PROCESS, target.node), request, {
        timeout: SESSION_CALL_TIMEOUT,
      });
    } catch (err) {
      throw askError(target.node, what, err);
    }
    const failed = responseError(response);
    if (failed !== null) throw new CommandError(400, `${target.node} refused the ${what} request: ${failed}`);
    return response;
  }

  #subscribe(from: PID, ref: Ref, body: Record<string, unknown>): void {
    const type = stringArg(body.type, 'type');
    const args = objectArg(body.args);
    const target = this.#target;
    const query = inspectQuery(type, args, target);
    const id = body.id;
    if (this.#stale(query.key, id, true))
      return this.sendResponse(from, ref, new SessionReply(200, null, { key: query.key, superseded: true }));
    const seq = ++this.#seq;
    const latest = this.#latest.get(query.key) ?? { seq, id, pending: 0, orphans: new Set<string>() };
    this.#latest.set(query.key, latest);
    latest.seq = seq;
    latest.id = id;
    // The entry stays in #latest (a switch too keeps it) until this subscribe has settled.
    latest.pending++;
    const generation = this.#generation;
    const session = this.pid;
    // The node's figures, a connection's and the log records this stream has been sent already
    // are not sent again (the page keeps them).
    const recent = this.#sentHistory.query(type, args);
    let early: { joins: number; frames: string[]; down: boolean } | undefined;
    let earlyKey = '';
    this.#later(
      from,
      ref,
      async () => {
        const response = await this.#ask(target, query.request, type);
        const event = responseEvent(response);
        if (event === null) throw new CommandError(502, `${target.node} answered ${type} without an event`);
        early = this.#early.get(event.key);
        if (early === undefined) this.#early.set(event.key, (early = { joins: 0, frames: [], down: false }));
        early.joins++;
        earlyKey = event.key;
        let joined: unknown;
        try {
          joined = await this.node.call(HUB_NAME, new HubJoin(session, event), { timeout: SESSION_CALL_TIMEOUT });
        } catch (err) {
          // The hub may still join it later (its monitor of a slow node's event): undo that.
          this.node.send(HUB_NAME, new HubLeave(session, event.key));
          throw isTimeout(err)
            ? new CommandError(
                504,
                `${target.node} did not confirm the ${type} subscription within ${SESSION_CALL_TIMEOUT / 1000} s`,
              )
            : err;
        }
        if (!(joined instanceof HubJoined)) throw new CommandError(500, 'the hub did not answer');
        if (joined.error !== null) throw new CommandError(502, `${type} on ${target.node}: ${joined.error}`);
        // After the join: what the node logged or measured before now comes with the first frames.
        const history = await this.#recent(target, recent);
        return { response, event, joined, history };
      },
      ({ response, event, joined, history }) => {
        // A switch, a newer subscribe or an unsubscribe of the same key came first: drop this one.
        if (generation !== this.#generation || latest.seq !== seq) {
          latest.orphans.add(event.key);
          return new SessionReply(200, null, { key: query.key, event: event.toString(), superseded: true });
        }
        const old = this.#subs.get(query.key);
        this.#subs.set(query.key, { type, eventKey: event.key, args, id });
        // The same lookup key with other args (log levels, a page of the process list) replaces the old one.
        if (old !== undefined && old.eventKey !== event.key) latest.orphans.add(old.eventKey);
        if (type === 'node_info') {
          this.#write('node_meta', toJSONString(nodeMeta(response)));
          if (joined.last !== null) this.#learnFramework(joined.last);
        }
        if (history !== null) {
          this.#write(history.frame, history.json);
          this.#sentHistory.sent(history.query, history.last);
        }
        // The log's history ends with the record the hub would replay.
        if (joined.last !== null && !(history !== null && type === 'log')) this.#write(type, joined.last);
        // What the hub pushed meanwhile, and its end if the event ended already.
        for (const json of early?.frames ?? [])
          if (json !== joined.last) {
            // A node_info frame pushed while the subscribe was in flight names the framework too:
            // the page learns it from this frame and may not subscribe again.
            if (type === 'node_info') this.#learnFramework(json);
            this.#write(type, json);
          }
        if (early?.down === true) {
          this.#subs.delete(query.key);
          this.#write(type, toJSONString(terminatedFrame(type, args)));
        }
        return new SessionReply(200, null, { key: query.key, event: event.toString(), replayed: joined.last !== null });
      },
      () => {
        if (early !== undefined && --early.joins === 0 && this.#early.get(earlyKey) === early)
          this.#early.delete(earlyKey);
        if (--latest.pending > 0) return;
        for (const eventKey of latest.orphans) this.#leaveIfUnused(eventKey);
        latest.orphans.clear();
        if (this.#latest.get(query.key) === latest) this.#forgetIfIdle(query.key, latest);
      },
    );
  }

  /**
   * The History's answer to `recent` (SentHistory.query: the figures or log records of a
   * subscription, frames `history`, `connection_history`, `log_history`) on the node this
   * Observer runs on; null for other nodes and types, and when the History does not answer (a
   * page then starts empty, as without it).
   */
  async #recent(
    target: Target,
    recent: { query: HistoryQuery; frame: string } | null,
  ): Promise<{ frame: string; json: string; last: number; query: HistoryQuery } | null> {
    if (this.#history === null || !target.local || recent === null) return null;
    try {
      const answer = await this.node.call(this.#history, recent.query, { timeout: SESSION_CALL_TIMEOUT });
      return answer instanceof HistoryAnswer
        ? { frame: recent.frame, json: answer.json, last: answer.last, query: recent.query }
        : null;
    } catch {
      return null;
    }
  }

  #unsubscribe(body: Record<string, unknown>): SessionReply {
    const type = stringArg(body.type, 'type');
    const key = inspectQuery(type, objectArg(body.args), this.#target).key;
    // With an id, only the subscription of that id ends: the POST workers deliver in any order,
    // so a page's unsubscribe can come after the next page's subscribe of the same key.
    const id = body.id;
    // An unsubscribe that overtook its subscribe: the subscribe is dropped when it lands.
    this.#stale(key, id, false);
    const latest = this.#latest.get(key);
    // Neither subscribed nor being subscribed: nothing to end.
    if (latest === undefined) return new SessionReply(200);
    if (id !== undefined && latest.id !== id) return new SessionReply(200, null, { superseded: true });
    // A subscribe of this key still in flight is dropped when it lands.
    latest.seq = ++this.#seq;
    latest.id = undefined;
    const s = this.#subs.get(key);
    if (s !== undefined) {
      this.#subs.delete(key);
      this.#leaveIfUnused(s.eventKey);
    }
    this.#forgetIfIdle(key, latest);
    return new SessionReply(200);
  }

  /**
   * Whether a subscribe (`subscribing`) of `key` naming browser id `id` is older than one seen
   * already; notes `id` as the newest of its key when it is. Requests without a numeric id (other
   * clients than the Observer's page) are never stale.
   */
  #stale(key: string, id: unknown, subscribing: boolean): boolean {
    if (typeof id !== 'number') return false;
    const newest = this.#newestId.get(key);
    if (newest !== undefined && (subscribing ? id <= newest : id < newest)) return true;
    this.#newestId.delete(key);
    this.#newestId.set(key, id);
    if (this.#newestId.size > NEWEST_IDS_KEPT) this.#newestId.delete(this.#newestId.keys().next().value!);
    return false;
  }

  /** Drops `key`'s entry of #latest once it has neither a subscription nor a subscribe in flight. */
  #forgetIfIdle(key: string, latest: Latest): void {
    if (latest.pending === 0 && !this.#subs.has(key)) this.#latest.delete(key);
  }

  #leaveIfUnused(eventKey: string): void {
    for (const s of this.#subs.values()) if (s.eventKey === eventKey) return;
    this.send(HUB_NAME, new HubLeave(this.pid, eventKey));
  }

  #switch(from: PID | null, ref: Ref | null, body: Record<string, unknown>): void {
    const name = stringArg(body.node, 'node') as Atom;
    const local = name === this.node.name;
    const seq = ++this.#switchSeq;
    const target: Target = { node: name, creation: this.node.creation, local };
    this.#later(
      from,
      ref,
      async () => {
        if (!local)
          await deadline(
            connectNode(this.node, this.#dialled, name, body),
            SESSION_CONNECT_TIMEOUT,
            `could not connect to ${name} within ${SESSION_CONNECT_TIMEOUT / 1000} s`,
          );
        const response = await this.#ask(target, requestInspectNode(), 'node_info');
        if (!local) target.creation = nodeCreation(response);
        return response;
      },
      () => {
        // A newer switch was asked for meanwhile: it decides.
        if (seq !== this.#switchSeq) return new SessionReply(200, null, { node: name, superseded: true });
        for (const s of this.#subs.values()) this.send(HUB_NAME, new HubLeave(this.pid, s.eventKey));
        this.#subs.clear();
        this.#stopTraces();
        // Subscribes still in flight are dropped when they land (generation) and settle their
        // entries then; every other entry goes.
        for (const [key, latest] of this.#latest) {
          if (latest.pending === 0) this.#latest.delete(key);
          else latest.id = undefined;
        }
        this.#generation++;
        this.#target = target;
        this.#writeNodes(true);
        return new SessionReply(200, null, { node: name });
      },
    );
  }

  /**
   * Ends the traces this session runs (a switch: the page observes another node now). Those on
   * this node end at the next flush; those on other nodes are stopped there (a node already gone
   * has ended them itself).
   */
  #stopTraces(): void {
    this.#tools.stopAll('stopped');
    this.#ops.stopAll('stopped');
    for (const { node, request } of this.#tools.takeRemote(this.pid))
      detach(
        () => this.node.call(new ProcessID(INSPECT_PROCESS, node as Atom), request, { timeout: SESSION_CALL_TIMEOUT }),
        'stopping a trace',
        this.log,
        { error: (err) => this.log.info('observer could not stop a trace on %s: %s', node, String(err)) },
      );
  }

  /** Every trace's end (here or on another node) is on the node's record, as its start is (post.ts). */
  readonly #traceEnded = (t: TraceEnded): void =>
    this.log.info('observer trace of %s ended (%s): %d records, %d dropped', t.pid, t.end, t.kept, t.dropped);

  /**
   * A process tool (tools.ts): on this node, answered here (see #whenShown; a trace starts the
   * flush timer); on another ergo-ts node, asked of its system_inspect (a trace's records come from
   * there as MessageInspectTrace). A Go node has no such request: refused with `local_only`.
   */
  #tool(from: PID, ref: Ref, action: string, body: Record<string, unknown>): unknown {
    const target = this.#target;
    if (target.local || this.#foreign(target) !== null) {
      const run = (): SessionReply => {
        const data = this.#tools.run(action, body, target);
        if (action === 'trace_start') this.#flushTraces();
        return new SessionReply(200, null, data);
      };
      return target.local && action !== 'trace_stop' ? this.#whenShown(from, ref, run) : run();
    }
    const { request, answer } = this.#tools.remote(action, body, target, this.pid);
    const what = action.replace('_', ' ');
    const known = this.#frameworks.has(target.node);
    this.#later(
      from,
      ref,
      async () => {
        if (!known) {
          // No node_info frame yet: ask which framework runs there first (a Go node never
          // answers the ergo-ts request; the call would wait for its time limit).
          const framework = await this.#frameworkOf(target);
          if (!framework.startsWith('ergo-ts')) this.#tools.run(action, body, target); // throws local_only
        }
        try {
          return await this.#ask(target, request, what);
        } catch (err) {
          // The node keeps its messages to itself (security.inspectMessages: false).
          if (err instanceof CommandError && err.message.includes('security.inspectMessages'))
            throw new ToolError(403, 'messages_hidden', err.message);
          throw err;
        }
      },
      (response) => new SessionReply(200, null, answer(response)),
    );
    return ReplyLater;
  }

  /**
   * Runs `run` (a tool showing message contents here) once the node is known to show them;
   * refused (`messages_hidden`) when it sets `security.inspectMessages: false` (tools.ts).
   */
  #whenShown(from: PID, ref: Ref, run: () => SessionReply): unknown {
    if (this.#tools.shown) return run();
    this.#later(from, ref, () => this.#tools.checkShown(SESSION_CALL_TIMEOUT), run);
    return ReplyLater;
  }

  /** Starts the traces' flush timer unless it runs. */
  #flushTraces(): void {
    if (!this.#tracing) this.sendAfter(this.pid, traceTick, TRACE_FLUSH);
    this.#tracing = true;
  }

  /** An operator's view (ops.ts), on this node only. */
  #opsAction(from: PID, ref: Ref, action: string, body: Record<string, unknown>): unknown {
    localOnly(action, this.#target, this.node.name);
    if (action === 'trace_group' || action === 'trace_group_stop') {
      const run = (): SessionReply => {
        const data = action === 'trace_group' ? this.#ops.startGroup(body, this.#target) : this.#ops.stopGroup();
        this.#flushTraces();
        return new SessionReply(200, null, data);
      };
      return action === 'trace_group' ? this.#whenShown(from, ref, run) : run();
    }
    if (action === 'log_search') {
      const query = logSearchQuery(body);
      const history = this.#history;
      if (history === null)
        throw new ToolError(
          400,
          'no_history',
          'this Observer keeps no log records (historySeconds and historyLogRecords 0)',
        );
      this.#later(
        from,
        ref,
        () => this.node.call(history, query, { timeout: SESSION_CALL_TIMEOUT }),
        (answer) => new SessionReply(200, null, answer),
      );
      return ReplyLater;
    }
    this.#later(
      from,
      ref,
      () => this.#ops.sockets(body),
      (overview) => new SessionReply(200, null, overview),
    );
    return ReplyLater;
  }

  /** A Workflows, Dead letters (workflows.ts) or Tabs (tabs.ts) page request: a registered process's answer. */
  #askProcess(from: PID, ref: Ref, call: RegisteredCall): unknown {
    this.#later(
      from,
      ref,
      () => askRegistered(this.node, call, SESSION_CALL_TIMEOUT),
      (value) => new SessionReply(200, null, value),
    );
    return ReplyLater;
  }

  #do(from: PID, ref: Ref, action: string, body: Record<string, unknown>): void {
    const target = this.#target;
    const request = doRequest(action, body, target);
    const remote = this.#foreign(target);
    if (remote !== null && request instanceof RequestDoApplicationStart) {
      // A Go node's inspector cannot start applications: Ergo's remote start does, where that
      // node enabled it for this one (Network.EnableApplicationStart).
      const mode = request.mode;
      const start = (): Promise<void> =>
        mode === 'temporary'
          ? remote.applicationStartTemporary(request.application)
          : mode === 'transient'
            ? remote.applicationStartTransient(request.application)
            : mode === 'permanent'
              ? remote.applicationStartPermanent(request.application)
              : remote.applicationStart(request.application);
      this.#later(
        from,
        ref,
        () =>
          deadline(start(), SESSION_CALL_TIMEOUT, `${target.node} did not start ${request.application} in time`).catch(
            (err: unknown) => {
              if (err instanceof CommandError) throw err;
              const text = err instanceof Error ? err.message : String(err);
              throw new CommandError(400, `${target.node} refused to start ${request.application}: ${text}`);
            },
          ),
        () => new SessionReply(200, null, { error: null }),
      );
      return;
    }
    if (remote !== null && request instanceof RequestDoApplicationStop)
      throw new CommandError(
        400,
        `${target.node} runs ${remote.version().name || 'another framework'}: no node can stop its applications remotely`,
      );
    this.#later(
      from,
      ref,
      () => this.#ask(target, request, action),
      (response) => new SessionReply(200, null, toJSONValue(response)),
    );
  }

  /**
   * The connection to `target` when it runs another framework than ergo-ts (Go Ergo), as its
   * node inspector said; null for ergo-ts nodes, and before any node_info frame told.
   */
  #foreign(target: Target): RemoteNode | null {
    if (target.local) return null;
    const framework = this.#frameworks.get(target.node);
    if (framework === undefined || framework.startsWith('ergo-ts')) return null;
    try {
      return this.node.network().node(target.node);
    } catch {
      return null; // not connected: the inspector request says what is wrong
    }
  }

  /** The framework `target` runs, asked of its node inspector (and noted for the next time). */
  async #frameworkOf(target: Target): Promise<string> {
    const response = await this.#ask(target, requestInspectNode(), 'node_info');
    const event = responseEvent(response);
    if (event === null) throw new CommandError(502, `${target.node} answered node_info without an event`);
    const framework = await frameworkOf(this.node, target.node, event, SESSION_CALL_TIMEOUT);
    this.#frameworks.set(target.node, framework);
    return framework;
  }

  /** Notes the framework a node_info frame names (once per node: it does not change). */
  #learnFramework(json: string): void {
    const node = this.#target.node;
    if (this.#target.local || this.#frameworks.has(node)) return;
    try {
      const name = (JSON.parse(json) as { info?: { framework?: { name?: unknown } } }).info?.framework?.name;
      if (typeof name === 'string') this.#frameworks.set(node, name);
    } catch {
      // not a node_info frame
    }
  }

  /** Asks the registrar for the nodes it knows, in the background; one question at a time. */
  #refreshRegistrar(): void {
    if (this.#refreshing) return;
    let network;
    try {
      network = this.node.network();
    } catch {
      this.#writeNodes(false);
      return;
    }
    this.#refreshing = true;
    this.#later(
      null,
      null,
      async () => {
        try {
          return await deadline(network.registrar().nodes(), SESSION_CALL_TIMEOUT, 'registrar');
        } catch {
          return null; // a registrar that cannot list (or none): connected nodes only
        }
      },
      (names) => {
        this.#refreshing = false;
        if (names !== null) this.#registered = names.map(String);
        this.#writeNodes(false);
        return new SessionReply(200);
      },
    );
  }

  /**
   * Sends `connected` (always when `force`) or `cluster_update` when the node list changed. The
   * list keeps the nodes this session dialled through "connect to…" after their connection is
   * lost (dot down): selecting one dials it the same way again, and without a registrar nothing
   * else would list it.
   */
  #writeNodes(force: boolean): void {
    const names = new Set<string>([this.node.name, ...this.#registered, ...this.#dialled.keys()]);
    const connected = new Set<string>();
    try {
      for (const n of this.node.network().nodes()) {
        names.add(n);
        connected.add(n);
      }
    } catch {
      // no network
    }
    names.add(this.#target.node);
    const nodes = [...names]
      .sort()
      .map((n) => ({ name: n, crc32: nodeCRC(n as Atom), connected: n === this.node.name || connected.has(n) }));
    const list = JSON.stringify(nodes);
    // Before the stream's `connected` frame (a first switch still under way) nothing is sent.
    if (!force && (list === this.#nodes || this.#nodes === '')) return;
    this.#nodes = list;
    if (force) {
      this.#sentHistory.reset();
      const t = this.#target;
      const node = { name: t.node, crc32: nodeCRC(t.node), connected: true };
      this.#write(
        'connected',
        JSON.stringify({ sessionId: this.#id, node, self: this.node.name, nodes, version: this.#version }),
      );
    } else {
      this.#write('cluster_update', JSON.stringify({ nodes }));
    }
  }
}

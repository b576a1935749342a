// system_inspect: the process that answers the inspector protocol (Ergo's app/system/inspect).
// A `RequestInspect*` Call is forwarded to the inspector of that query — spawned (linked to this
// process, registered under a name derived from the query) unless it runs already — which
// answers with the `ResponseInspect*` naming its event. `RequestDo*` Calls run here and answer
// with a `ResponseDo*` carrying the error (null on success).

import { Actor } from '../../act/actor.js';
import type { Atom } from '../../gen/atom.js';
import { ErrIncorrect, ErrProcessUnknown, ErrTaken, ErrUnsupported, isError, toError } from '../../gen/errors.js';
import * as I from '../../gen/inspect.js';
import * as V from '../../gen/inspect_v2.js';
import { LogLevel, logLevelString } from '../../gen/log.js';
import type { PID } from '../../gen/pid.js';
import type { ProcessFactory } from '../../gen/process.js';
import type { Ref } from '../../gen/ref.js';
import { ForwardedRequest } from './inspector.js';
import { mailboxPeek, HIDDEN_MESSAGES, traceLimits, TraceInspector, TraceStop } from './message_inspect.js';
import { MessageDownPID } from '../../gen/messages.js';
import {
  ConnectionListInspector,
  EventListInspector,
  filterKey,
  HeapInspector,
  INSPECT_MAX_ROWS,
  processFilter,
  ProcessPageInspector,
  ProcessRangeInspector,
} from './inspectors_v2.js';
import {
  ApplicationListInspector,
  ApplicationTreeInspector,
  ConnectionInspector,
  LogInspector,
  MetaInspector,
  MetaStateInspector,
  NetworkInspector,
  NodeInspector,
  ProcessInspector,
  ProcessListInspector,
  ProcessStateInspector,
} from './inspectors.js';

/** Levels of the default log inspector, and their letters in its name. */
const LOG_LETTERS: ReadonlyArray<readonly [LogLevel, string]> = [
  [LogLevel.Debug, 'd'],
  [LogLevel.Info, 'i'],
  [LogLevel.Warning, 'w'],
  [LogLevel.Error, 'e'],
  [LogLevel.Panic, 'p'],
];

/** Runs `fn`, returning its error (null when it succeeded): the `Error` field of a ResponseDo*. */
function attempt(fn: () => void): Error | null {
  try {
    fn();
    return null;
  } catch (e) {
    return toError(e);
  }
}

function num(v: unknown, dflt: number): number {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : dflt;
  return Number.isSafeInteger(n) ? n : dflt;
}

/** What each `RequestDo*` did, for the node's log. */
const ACTIONS: [abstract new (...a: never[]) => unknown, (r: never) => string][] = [
  [I.RequestDoSend, (r: I.RequestDoSend) => `send to ${String(r.pid)}`],
  [I.RequestDoSendMeta, (r: I.RequestDoSendMeta) => `send to ${String(r.meta)}`],
  [I.RequestDoSendExit, (r: I.RequestDoSendExit) => `exit ${String(r.pid)} (${r.reason?.message ?? ''})`],
  [I.RequestDoSendExitMeta, (r: I.RequestDoSendExitMeta) => `exit ${String(r.meta)} (${r.reason?.message ?? ''})`],
  [I.RequestDoKill, (r: I.RequestDoKill) => `kill ${String(r.pid)}`],
  [I.RequestDoSetLogLevel, (r: I.RequestDoSetLogLevel) => `node log level ${logLevelString(r.level)}`],
  [
    I.RequestDoSetLogLevelProcess,
    (r: I.RequestDoSetLogLevelProcess) => `log level of ${String(r.pid)} ${logLevelString(r.level)}`,
  ],
  [
    I.RequestDoSetLogLevelMeta,
    (r: I.RequestDoSetLogLevelMeta) => `log level of ${String(r.meta)} ${logLevelString(r.level)}`,
  ],
  [
    V.RequestDoApplicationStart,
    (r: V.RequestDoApplicationStart) => `start application ${r.application} ${r.mode || '(its mode)'}`,
  ],
  [
    V.RequestDoApplicationStop,
    (r: V.RequestDoApplicationStop) => `stop application ${r.application}${r.force ? ' (force)' : ''}`,
  ],
];

/**
 * The `system_inspect` process. Call it with a `RequestInspect*` or `RequestDo*` (locally or from
 * another node); anything else is answered with ErrUnsupported. Lives as long as the node.
 */
export class SystemInspect extends Actor {
  /** Running message traces (message_inspect.ts): `<traced PID> <asking PID>` → the trace process. */
  readonly #traces = new Map<string, PID>();
  /** Whether message contents are shown to the nodes that ask (`security.inspectMessages`). */
  #showMessages = true;

  override init(showMessages = true): void {
    this.#showMessages = showMessages;
  }

  override handleMessage(_from: PID, message: unknown): void {
    // A trace process ended (by itself, stopped, or its asker gone).
    if (!(message instanceof MessageDownPID)) return;
    for (const [key, pid] of this.#traces) if (pid.equals(message.pid)) this.#traces.delete(key);
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request instanceof I.RequestInspectNode) return this.forward('inspect_node', NodeInspector, [], from, ref);
    if (request instanceof I.RequestInspectNetwork)
      return this.forward('inspect_network', NetworkInspector, [], from, ref);
    if (request instanceof I.RequestInspectConnection)
      return this.forward(
        `inspect_connection_${request.remoteNode}`,
        ConnectionInspector,
        [request.remoteNode],
        from,
        ref,
      );
    if (request instanceof I.RequestInspectProcessList) {
      const start = Math.max(1000, num(request.start, 1000));
      let limit = num(request.limit, 1000);
      if (limit < 1) limit = 1000;
      const name = `inspect_process_list_${start}_${start + limit - 1}`;
      return this.forward(name, ProcessListInspector, [start, limit], from, ref);
    }
    if (request instanceof I.RequestInspectProcess)
      return this.forward(`inspect_process_${request.pid.toString()}`, ProcessInspector, [request.pid], from, ref);
    if (request instanceof I.RequestInspectProcessState) {
      if (request.pid.equals(this.pid)) {
        this.sendResponseError(from, ref, ErrIncorrect.with('unable to inspect the state of itself'));
        return undefined;
      }
      const name = `inspect_process_state_${request.pid.toString()}`;
      return this.forward(name, ProcessStateInspector, [request.pid], from, ref);
    }
    if (request instanceof I.RequestInspectMeta)
      return this.forward(`inspect_meta_${request.meta.toString()}`, MetaInspector, [request.meta], from, ref);
    if (request instanceof I.RequestInspectMetaState) {
      const name = `inspect_meta_state_${request.meta.toString()}`;
      return this.forward(name, MetaStateInspector, [request.meta], from, ref);
    }
    if (request instanceof I.RequestInspectLog) {
      const asked = new Set((request.levels ?? []).map((l) => num(l, 0)));
      const chosen = asked.size > 0 ? LOG_LETTERS.filter(([l]) => asked.has(l)) : LOG_LETTERS;
      const letters = chosen.map(([, c]) => c).join('');
      const levels = chosen.map(([l]) => l);
      if (letters === '') {
        this.sendResponseError(from, ref, ErrIncorrect.with('log levels (debug, info, warning, error, panic)'));
        return undefined;
      }
      return this.forward(`inspect_log_${letters}`, LogInspector, [letters, levels], from, ref);
    }
    if (request instanceof I.RequestInspectApplicationList)
      return this.forward('inspect_application_list', ApplicationListInspector, [], from, ref);
    if (request instanceof I.RequestInspectApplicationTree) {
      let limit = num(request.limit, 1000);
      if (limit < 1) limit = 1000;
      const name = `inspect_application_tree_${request.application}_${limit}`;
      return this.forward(name, ApplicationTreeInspector, [request.application, limit], from, ref);
    }
    return this.newer(from, ref, request);
  }

  /** The newer-core queries (and the ergo-ts process page). */
  private newer(from: PID, ref: Ref, r: unknown): unknown {
    if (r instanceof V.RequestInspectProcessRange) {
      const f = processFilter(r);
      let limit = num(r.limit, 0);
      if (limit < 1 || limit > INSPECT_MAX_ROWS) limit = INSPECT_MAX_ROWS;
      const key = filterKey([f.name, f.behavior, f.application, f.state, f.minMailbox, limit]);
      return this.forward(`inspect_process_range_${key}`, ProcessRangeInspector, [f, limit, key], from, ref);
    }
    if (r instanceof V.RequestInspectProcessPage) {
      const f = processFilter(r);
      const sort = ['pid', 'running', 'cpu', 'messages', 'mailbox', 'uptime'].includes(r.sort) ? r.sort : 'pid';
      const offset = Math.max(0, num(r.offset, 0));
      let limit = num(r.limit, 100);
      if (limit < 1) limit = 100;
      if (limit > INSPECT_MAX_ROWS) limit = INSPECT_MAX_ROWS;
      const after = sort === 'pid' ? Math.max(0, num(r.after, 0)) : 0;
      // A cursor names its own page: the offset plays no part then.
      const key = filterKey([f.name, f.behavior, f.application, f.state, f.minMailbox, sort, offset, limit, after]);
      const args = [f, sort, after > 0 ? 0 : offset, limit, key, after];
      return this.forward(`inspect_process_page_${key}`, ProcessPageInspector, args, from, ref);
    }
    if (r instanceof V.RequestInspectConnectionList) {
      let limit = num(r.limit, 100);
      if (limit === -1 || limit > INSPECT_MAX_ROWS) limit = INSPECT_MAX_ROWS;
      if (limit < 1) limit = 100;
      const key = filterKey([String(r.name ?? ''), limit]);
      return this.forward(`inspect_connection_list_${key}`, ConnectionListInspector, [r.name, limit, key], from, ref);
    }
    if (r instanceof V.RequestInspectEventList) {
      let limit = num(r.limit, 500);
      if (limit === -1 || limit > 100_000) limit = 100_000;
      if (limit < 1) limit = 500;
      const key = filterKey([r.timestamp, r.name, r.notify, r.buffered, r.open, r.minSubscribers, limit]);
      return this.forward(`inspect_event_list_${key}`, EventListInspector, [r, limit, key], from, ref);
    }
    if (r instanceof V.RequestInspectHeap) {
      let limit = num(r.limit, 100);
      if (limit < 1) limit = 100;
      const key = filterKey([String(r.name ?? ''), limit]);
      return this.forward(`inspect_heap_${key}`, HeapInspector, [r.name, limit, key], from, ref);
    }
    if (r instanceof V.RequestInspectMailboxPeek) {
      this.log.info('inspector action from %s: mailbox peek of %s', String(from), String(r.pid));
      return mailboxPeek(this.node, r, this.#showMessages);
    }
    if (r instanceof V.RequestInspectCrashes) {
      // Empty PID (node ''): every process's.
      const pid = r.pid.node === '' ? undefined : r.pid;
      return new V.ResponseInspectCrashes({
        crashes: this.node.recentCrashes({ ...(pid === undefined ? {} : { pid }), limit: num(r.limit, 0) }),
        total: this.node.recentCrashes().length,
      });
    }
    if (r instanceof V.RequestInspectMessageTrace) return this.trace(from, r);
    if (r instanceof V.RequestInspectMessageTraceStop) {
      const key = `${String(r.pid)} ${String(r.to.node === '' ? from : r.to)}`;
      const running = this.#traces.get(key);
      if (running !== undefined) this.stopTrace(running);
      return new V.ResponseInspectMessageTrace();
    }
    return this.command(from, ref, r);
  }

  private stopTrace(pid: PID): void {
    try {
      this.send(pid, new TraceStop());
    } catch {
      // it has ended meanwhile
    }
  }

  /** Starts a trace for `from` (replacing its trace of the same process); answers once it runs. */
  private trace(
    from: PID,
    r: V.RequestInspectMessageTrace,
  ): V.ResponseInspectMessageTrace | Promise<V.ResponseInspectMessageTrace> {
    if (!this.#showMessages) return new V.ResponseInspectMessageTrace({ error: new Error(HIDDEN_MESSAGES) });
    const limits = traceLimits(r);
    const to = r.to.node === '' ? from : r.to;
    this.log.info(
      'inspector action from %s: message trace of %s for %s (%d a second, %d records, %d s)',
      String(from),
      String(r.pid),
      String(to),
      limits.rate,
      limits.count,
      limits.seconds,
    );
    const key = `${String(r.pid)} ${String(to)}`;
    const old = this.#traces.get(key);
    if (old !== undefined) this.stopTrace(old);
    this.#traces.delete(key);
    return this.spawn(TraceInspector, {}, r.pid, limits, to).then(
      (pid) => {
        this.#traces.set(key, pid);
        this.monitorPID(pid);
        return new V.ResponseInspectMessageTrace();
      },
      (e: unknown) => new V.ResponseInspectMessageTrace({ error: toError(e) }),
    );
  }

  /** The `RequestDo*` commands. */
  private command(from: PID, ref: Ref, r: unknown): unknown {
    const node = this.node;
    // Every action an operator takes through the inspector (the Observer, MCP) is on the record.
    const action = ACTIONS.find(([type]) => r instanceof type);
    if (action !== undefined) this.log.info('inspector action from %s: %s', String(from), action[1](r as never));
    if (r instanceof I.RequestDoSend)
      return new I.ResponseDoSend({ error: attempt(() => this.sendWithPriority(r.pid, r.message, r.priority)) });
    if (r instanceof I.RequestDoSendMeta)
      return new I.ResponseDoSendMeta({ error: attempt(() => this.send(r.meta, r.message)) });
    if (r instanceof I.RequestDoSendExit)
      return new I.ResponseDoSendExit({
        error: attempt(() => this.sendExit(r.pid, r.reason ?? ErrIncorrect.with('exit reason'))),
      });
    if (r instanceof I.RequestDoSendExitMeta)
      // Go answers this one with ResponseDoSendExit too.
      return new I.ResponseDoSendExit({
        error: attempt(() => this.sendExitMeta(r.meta, r.reason ?? ErrIncorrect.with('exit reason'))),
      });
    if (r instanceof I.RequestDoKill) return new I.ResponseDoKill({ error: attempt(() => node.kill(r.pid)) });
    if (r instanceof I.RequestDoSetLogLevel)
      return new I.ResponseDoSetLogLevel({ error: attempt(() => node.log.setLevel(r.level)) });
    if (r instanceof I.RequestDoSetLogLevelProcess)
      return new I.ResponseDoSetLogLevel({ error: attempt(() => node.setLogLevelProcess(r.pid, r.level)) });
    if (r instanceof I.RequestDoSetLogLevelMeta)
      return new I.ResponseDoSetLogLevel({ error: attempt(() => node.setLogLevelMeta(r.meta, r.level)) });
    if (r instanceof V.RequestDoApplicationStart || r instanceof V.RequestDoApplicationStop) return this.startStop(r);
    this.log.error('unsupported request: %o', r);
    this.sendResponseError(from, ref, ErrUnsupported);
    return undefined;
  }

  /** Starts or stops an application; answers once it has (the node's own time limits apply). */
  private startStop(
    r: V.RequestDoApplicationStart | V.RequestDoApplicationStop,
  ): Promise<V.ResponseDoApplicationStart | V.ResponseDoApplicationStop> {
    const node = this.node;
    let done: Promise<void>;
    try {
      if (r instanceof V.RequestDoApplicationStop)
        done = r.force ? node.applicationStopForce(r.application) : node.applicationStop(r.application);
      else if (r.mode === '' || r.mode === undefined) done = node.applicationStart(r.application);
      else if (r.mode === 'temporary') done = node.applicationStartTemporary(r.application);
      else if (r.mode === 'transient') done = node.applicationStartTransient(r.application);
      else if (r.mode === 'permanent') done = node.applicationStartPermanent(r.application);
      else done = Promise.reject(ErrIncorrect.with('mode: temporary, transient or permanent'));
    } catch (e) {
      done = Promise.reject(toError(e));
    }
    const answer = (error: Error | null): V.ResponseDoApplicationStart | V.ResponseDoApplicationStop =>
      r instanceof V.RequestDoApplicationStop
        ? new V.ResponseDoApplicationStop({ error })
        : new V.ResponseDoApplicationStart({ error });
    return done.then(
      () => answer(null),
      (e: unknown) => answer(toError(e)),
    );
  }

  /**
   * Hands the request to inspector `name`, spawning it (linked to this process) first when it does
   * not run. The inspector answers; this call returns nothing itself.
   */
  private forward(
    name: string,
    factory: ProcessFactory,
    args: unknown[],
    from: PID,
    ref: Ref,
  ): undefined | Promise<undefined> {
    const fwd = new ForwardedRequest(from, ref);
    if (this.trySend(name, fwd)) return undefined;
    return this.spawnRegister(name as Atom, factory, { linkParent: true }, ...args).then(
      () => this.deliver(name, fwd),
      (e: unknown) => {
        if (isError(e, ErrTaken)) return this.deliver(name, fwd);
        this.sendResponseError(from, ref, toError(e));
        return undefined;
      },
    );
  }

  private deliver(name: string, fwd: ForwardedRequest): undefined {
    if (!this.trySend(name, fwd)) this.sendResponseError(fwd.from, fwd.ref, ErrProcessUnknown.with(name));
    return undefined;
  }

  private trySend(name: string, message: unknown): boolean {
    try {
      if (!this.node.isAlive()) return false;
      this.node.processPID(name);
    } catch {
      return false;
    }
    try {
      this.send(name, message);
      return true;
    } catch {
      return false;
    }
  }
}

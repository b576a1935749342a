// Helpers of the supervision suites (supervisor types and strategies, pools, applications, cron on
// a real node): quiet nodes, a Recorder every test process writes into (so tests await events
// instead of sleeping), a scriptable Worker child, a TestSup supervisor whose callbacks are
// recorded, `supExec` to run code inside a supervisor handler, and `inspectOf` to inspect a
// process from a helper actor.

import {
  Actor,
  Supervisor,
  SupervisorStrategy,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonPanic,
  TerminateReasonShutdown,
  startNode,
  unwrapReason,
  type Atom,
  type HandlerResult,
  type Node,
  type NodeOptions,
  type PID,
  type Ref,
  childSpec,
  type CheckedChildSpec,
  type SupervisorSpec,
} from '../src/index.js';

// --- promises --------------------------------------------------------------------------------

import { deferred, noUnhandled, rejectsWith, thrown, within, type Deferred } from './helpers.js';

export {
  deferred,
  within,
  noUnhandled as guardUnhandled,
  rejectsWith as rejectsCode,
  thrown as throwsCode,
  type Deferred,
};

let nodeSeq = 0;

export function supNode(options: NodeOptions = {}): Promise<Node> {
  const log = { ...options.log, defaultLogger: options.log?.defaultLogger ?? { disable: true } };
  return startNode(`sv${++nodeSeq}_${process.pid}@localhost`, { systemApp: false, ...options, log });
}

/** Runs `fn` with a fresh quiet node; the node is stopped (forced) afterwards whatever happens. */
export async function withNode<T>(fn: (node: Node) => Promise<T>, options: NodeOptions = {}): Promise<T> {
  const node = await supNode(options);
  try {
    return await fn(node);
  } finally {
    await node.stopForce();
  }
}

// --- recorder --------------------------------------------------------------------------------

export type Rec =
  | { ev: 'init'; tag: string; pid: PID; args: unknown[] }
  | { ev: 'terminate'; tag: string; pid: PID; reason: Error }
  | { ev: 'message'; tag: string; pid: PID; message: unknown }
  | { ev: 'childStart'; sup: string; name: string; pid: PID }
  | { ev: 'childTerminate'; sup: string; name: string; pid: PID; reason: Error }
  | { ev: 'supTerminate'; sup: string; pid: PID; reason: Error };

type Pred = (r: Rec) => boolean;

/** Everything the test processes did, in order. `until` awaits the n-th match. */
export class Recorder {
  readonly log: Rec[] = [];
  private waiters: { pred: Pred; n: number; d: Deferred<Rec[]> }[] = [];

  push(r: Rec): void {
    this.log.push(r);
    this.waiters = this.waiters.filter((w) => {
      const m = this.log.filter(w.pred);
      if (m.length >= w.n) {
        w.d.resolve(m);
        return false;
      }
      return true;
    });
  }

  /** Resolves with every matching record once at least `n` exist. */
  until(pred: Pred, n = 1, what = 'a record'): Promise<Rec[]> {
    const m = this.log.filter(pred);
    if (m.length >= n) return Promise.resolve(m);
    const d = deferred<Rec[]>();
    this.waiters.push({ pred, n, d });
    return within(d.promise, `${what} (#${n})`);
  }

  /** Index to slice later records from. */
  mark(): number {
    return this.log.length;
  }

  since(mark: number): Rec[] {
    return this.log.slice(mark);
  }

  /** Init/terminate records after `mark` as "init:tag" / "terminate:tag" strings. */
  lifecycle(mark = 0): string[] {
    return this.since(mark).flatMap((r) => (r.ev === 'init' || r.ev === 'terminate' ? [`${r.ev}:${r.tag}`] : []));
  }

  /** Supervisor callbacks after `mark` as "start:name" / "term:name". */
  callbacks(mark = 0, sup?: string): string[] {
    return this.since(mark).flatMap((r) =>
      r.ev === 'childStart' && (sup === undefined || r.sup === sup)
        ? [`start:${r.name}`]
        : r.ev === 'childTerminate' && (sup === undefined || r.sup === sup)
          ? [`term:${r.name}`]
          : [],
    );
  }

  /** PID of the n-th start (1-based) of the worker tagged `tag`. */
  async started(tag: string, n = 1): Promise<PID> {
    const m = await this.until((r) => r.ev === 'init' && r.tag === tag, n, `start of ${tag}`);
    return (m[n - 1] as { pid: PID }).pid;
  }

  /** Reason of the n-th termination of the worker tagged `tag` (as its terminate saw it). */
  async terminated(tag: string, n = 1): Promise<Error> {
    const m = await this.until((r) => r.ev === 'terminate' && r.tag === tag, n, `termination of ${tag}`);
    return (m[n - 1] as { reason: Error }).reason;
  }

  /** Reason a TestSup tagged `sup` terminated with. */
  async supTerminated(sup = 'sup'): Promise<Error> {
    const m = await this.until((r) => r.ev === 'supTerminate' && r.sup === sup, 1, `termination of supervisor ${sup}`);
    return (m[0] as { reason: Error }).reason;
  }

  /** The n-th handleChildTerminate of `name` on supervisor `sup`. */
  async childTerminate(name: string, n = 1, sup = 'sup'): Promise<{ pid: PID; reason: Error }> {
    const m = await this.until(
      (r) => r.ev === 'childTerminate' && r.name === name && r.sup === sup,
      n,
      `handleChildTerminate(${name})`,
    );
    return m[n - 1] as { pid: PID; reason: Error };
  }

  /** The n-th handleChildStart of `name` on supervisor `sup`. */
  async childStart(name: string, n = 1, sup = 'sup'): Promise<PID> {
    const m = await this.until(
      (r) => r.ev === 'childStart' && r.name === name && r.sup === sup,
      n,
      `handleChildStart(${name})`,
    );
    return (m[n - 1] as { pid: PID }).pid;
  }

  count(pred: Pred): number {
    return this.log.filter(pred).length;
  }

  inits(tag: string): number {
    return this.count((r) => r.ev === 'init' && r.tag === tag);
  }
}

// --- commands understood by Worker / TestSup -------------------------------------------------

/** The handler returns `reason` (a clean or abnormal self-stop). */
export class Quit {
  constructor(readonly reason: Error) {}
}
/** The handler throws (panic). */
export class Crash {
  constructor(readonly error: Error = new Error('crash')) {}
}
/** The handler awaits `until` (the process stays Running, its mail waiting). */
export class Block {
  constructor(
    readonly until: Promise<unknown>,
    readonly entered?: Deferred<void>,
  ) {}
}
/** Passed in a worker's args: the worker traps exits. */
export const TRAP_EXITS = Symbol('trap exits');

/** Passed in a worker's args: while `error` is set, init fails with it (restarts fail too). */
export class InitFail {
  constructor(public error: Error | null) {}
}

// --- Worker ----------------------------------------------------------------------------------

/**
 * A child process. `init(rec, tag, ...args)` records its start (with args); terminate records the
 * reason it saw. Messages: Quit / Crash / Block; anything else is recorded. Calls: 'whoami'
 * answers {tag, pid, args}; other requests are echoed.
 */
export class Worker extends Actor {
  rec!: Recorder;
  tag!: string;
  args!: unknown[];

  override init(rec: Recorder, tag: string, ...args: unknown[]): unknown {
    this.rec = rec;
    this.tag = tag;
    this.args = args;
    const fail = args.find((a): a is InitFail => a instanceof InitFail);
    if (fail?.error) return fail.error;
    if (args.includes(TRAP_EXITS)) this.setTrapExit(true);
    rec.push({ ev: 'init', tag, pid: this.pid, args });
    return undefined;
  }

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    this.rec.push({ ev: 'message', tag: this.tag, pid: this.pid, message });
    if (message instanceof Quit) return message.reason;
    if (message instanceof Crash) throw message.error;
    if (message instanceof Block) {
      message.entered?.resolve();
      return message.until.then(() => undefined);
    }
    return undefined;
  }

  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request === 'whoami') return { tag: this.tag, pid: this.pid, args: this.args };
    return request;
  }

  override terminate(reason: Error): void {
    this.rec.push({ ev: 'terminate', tag: this.tag, pid: this.pid, reason });
  }
}

/** A child spec of a Worker: args become `[rec, tag ?? name, ...args]`. */
export function workerSpec(
  rec: Recorder,
  name: string,
  o: { significant?: boolean; args?: unknown[]; tag?: string } = {},
): CheckedChildSpec {
  return childSpec({
    name,
    factory: Worker,
    args: [rec, o.tag ?? name, ...(o.args ?? [])],
    significant: o.significant,
  });
}

/** Child specs c0..c(n-1). */
export function workers(rec: Recorder, n: number, significant: number[] = []): CheckedChildSpec[] {
  return Array.from({ length: n }, (_, i) => workerSpec(rec, `c${i}`, { significant: significant.includes(i) }));
}

// --- TestSup ---------------------------------------------------------------------------------

/** Runs `fn` inside a TestSup handler (a call; see {@link supExec}). */
export class SupExec {
  constructor(readonly fn: (s: TestSup) => unknown) {}
}

export interface SupConfig {
  rec: Recorder;
  /** Tag used in records (default 'sup'). */
  tag?: string;
  spec: SupervisorSpec | ((s: TestSup) => SupervisorSpec | Promise<SupervisorSpec>);
  /** Result of handleChildStart / handleChildTerminate (after recording). */
  onChildStart?(s: TestSup, name: string, pid: PID): HandlerResult;
  onChildTerminate?(s: TestSup, name: string, pid: PID, reason: Error): HandlerResult;
  /** Replaces the default inspect answer when it returns a value. */
  inspect?(s: TestSup, items: string[]): Record<string, string> | Promise<Record<string, string>> | undefined;
}

/**
 * A supervisor whose callbacks are recorded: handleChildStart/Terminate, terminate, messages.
 * Messages Quit / Crash stop or panic it; SupExec calls run code inside it.
 */
export class TestSup extends Supervisor {
  cfg!: SupConfig;

  get tag(): string {
    return this.cfg.tag ?? 'sup';
  }

  override init(cfg: SupConfig): SupervisorSpec | Promise<SupervisorSpec> {
    this.cfg = cfg;
    return typeof cfg.spec === 'function' ? cfg.spec(this) : cfg.spec;
  }

  override handleChildStart(name: Atom, pid: PID): HandlerResult {
    this.cfg.rec.push({ ev: 'childStart', sup: this.tag, name, pid });
    return this.cfg.onChildStart?.(this, name, pid);
  }

  override handleChildTerminate(name: Atom, pid: PID, reason: Error): HandlerResult {
    this.cfg.rec.push({ ev: 'childTerminate', sup: this.tag, name, pid, reason });
    return this.cfg.onChildTerminate?.(this, name, pid, reason);
  }

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    this.cfg.rec.push({ ev: 'message', tag: this.tag, pid: this.pid, message });
    if (message instanceof Quit) return message.reason;
    if (message instanceof Crash) throw message.error;
    return undefined;
  }

  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request instanceof SupExec) return runWrapped(() => request.fn(this));
    return request; // a Stop request is returned as is: reply (if any) and stop
  }

  override handleInspect(from: PID, ...items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return this.cfg.inspect?.(this, items) ?? super.handleInspect(from, ...items);
  }

  override terminate(reason: Error): void {
    this.cfg.rec.push({ ev: 'supTerminate', sup: this.tag, pid: this.pid, reason });
  }
}

function runWrapped(fn: () => unknown): unknown {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    return { err: e };
  }
  if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
    return (r as Promise<unknown>).then(
      (v) => ({ ok: v }),
      (e: unknown) => ({ err: e }),
    );
  }
  return { ok: r };
}

/** Runs `fn` inside the TestSup `pid` (in a handler, state Running) and returns its result; rethrows its error. */
export async function supExec<T>(node: Node, pid: PID, fn: (s: TestSup) => T | Promise<T>): Promise<T> {
  const r = (await within(node.call(pid, new SupExec(fn)), 'supExec')) as { ok?: T; err?: unknown };
  if ('err' in r) throw r.err;
  return r.ok as T;
}

/** Spawns a TestSup (node child) and returns its PID. */
export function spawnSup(node: Node, cfg: SupConfig): Promise<PID> {
  return node.spawn(TestSup, {}, cfg);
}

/** Children as [name, pid|null] pairs, read inside the supervisor. */
export function childrenOf(
  node: Node,
  sup: PID,
): Promise<{ spec: string; name: string; pid: PID | null; significant: boolean; disabled: boolean }[]> {
  return supExec(node, sup, (s) => s.children());
}

// --- a helper actor to run code as a process (inspect, spawn children) -----------------------

/** Runs `fn` inside a Runner. */
export class RunExec {
  constructor(readonly fn: (a: Runner) => unknown) {}
}

/** A plain actor that runs RunExec calls; records messages it gets in `inbox`. */
export class Runner extends Actor {
  inbox: unknown[] = [];
  waiters: { pred: (m: unknown) => boolean; d: Deferred<unknown> }[] = [];

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    this.inbox.push(message);
    this.waiters = this.waiters.filter((w) => {
      if (w.pred(message)) {
        w.d.resolve(message);
        return false;
      }
      return true;
    });
    return undefined;
  }

  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request instanceof RunExec) return runWrapped(() => request.fn(this));
    return request;
  }
}

export async function runIn<T>(node: Node, pid: PID, fn: (a: Runner) => T | Promise<T>): Promise<T> {
  const r = (await within(node.call(pid, new RunExec(fn)), 'runIn')) as { ok?: T; err?: unknown };
  if ('err' in r) throw r.err;
  return r.ok as T;
}

const runners = new WeakMap<Node, Promise<PID>>();

/** Inspects `pid` from a helper process (the node API has no inspect). */
export async function inspectOf(node: Node, pid: PID, ...items: string[]): Promise<Record<string, string>> {
  let r = runners.get(node);
  if (r === undefined) {
    r = node.spawn(Runner, {});
    runners.set(node, r);
  }
  const runner = await r;
  return runIn(node, runner, (a) => a.inspect(pid, ...items));
}

// --- reasons ---------------------------------------------------------------------------------

/** The reason a link/monitor/supervisor saw: one level of exit wrapping removed. */
export function seen(reason: Error): Error {
  return unwrapReason(reason);
}

/** True while a process exists on the node. */
export function alive(node: Node, pid: PID): boolean {
  return node.processList().some((p) => p.equals(pid));
}

// --- exits -----------------------------------------------------------------------------------

export type ExitKind = 'normal' | 'shutdown' | 'crash' | 'kill';
export const EXIT_KINDS: ExitKind[] = ['normal', 'shutdown', 'crash', 'kill'];

/** The reason a supervisor sees for each way of ending a child. */
export const EXIT_REASON: Record<ExitKind, Error> = {
  normal: TerminateReasonNormal,
  shutdown: TerminateReasonShutdown,
  crash: TerminateReasonPanic,
  kill: TerminateReasonKill,
};

/**
 * Ends a Worker: normal = it returns TerminateReasonNormal; shutdown = exit signal with
 * TerminateReasonShutdown from the node; crash = its handler throws; kill = node.kill.
 */
export function exitChild(node: Node, pid: PID, kind: ExitKind): void {
  switch (kind) {
    case 'normal':
      node.send(pid, new Quit(TerminateReasonNormal));
      return;
    case 'shutdown':
      node.sendExit(pid, TerminateReasonShutdown);
      return;
    case 'crash':
      node.send(pid, new Crash());
      return;
    case 'kill':
      node.kill(pid);
      return;
  }
}

/** True when a strategy restarts a child that ended with `kind`. */
export function restarts(strategy: SupervisorStrategy, kind: ExitKind): boolean {
  if (strategy === SupervisorStrategy.Permanent) return true;
  if (strategy === SupervisorStrategy.Temporary) return false;
  return kind === 'crash' || kind === 'kill';
}

export const STRATEGIES: [string, SupervisorStrategy][] = [
  ['transient', SupervisorStrategy.Transient],
  ['temporary', SupervisorStrategy.Temporary],
  ['permanent', SupervisorStrategy.Permanent],
];

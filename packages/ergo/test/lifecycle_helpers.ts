// Helpers of the lifecycle suites (links, monitors, exits, events, logging, inspection,
// shutdown, scale): quiet nodes, a scriptable TestActor that records what it sees in an Inbox,
// `exec` to run code inside an actor (as that process, in state Running), deferreds, and a guard
// that fails the file when an unhandled rejection or uncaught exception escapes.

import {
  Actor,
  startNode,
  TerminateReasonKill,
  TerminateReasonPanic,
  TerminateReasonShutdown,
  type HandlerResult,
  type MessageEvent,
  type MessageLog,
  type Node,
  type NodeOptions,
  type PID,
  type ProcessOptions,
  type Ref,
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

// --- nodes -----------------------------------------------------------------------------------

let nodeSeq = 0;

/** A node with a unique name and a silent default logger (unless `log.defaultLogger` is given). */
export function testNode(options: NodeOptions = {}): Promise<Node> {
  const log = { ...options.log, defaultLogger: options.log?.defaultLogger ?? { disable: true } };
  return startNode(`lc${++nodeSeq}_${process.pid}@localhost`, { systemApp: false, ...options, log });
}

/** Lines written by a default logger with `output: capture.output`. */
export class Capture {
  readonly lines: string[] = [];
  readonly output = {
    write: (chunk: string): boolean => {
      for (const l of chunk.split('\n')) if (l !== '') this.lines.push(l);
      return true;
    },
  };
  text(): string {
    return this.lines.join('\n');
  }
}

export type Seen =
  | { kind: 'message'; from: PID; message: unknown }
  | { kind: 'event'; message: MessageEvent }
  | { kind: 'log'; message: MessageLog }
  | { kind: 'inspect'; from: PID; items: string[] }
  | { kind: 'terminate'; reason: Error };

type Pred = (s: Seen) => boolean;

/** Everything a TestActor (or several) saw, in order; `next` awaits the first unconsumed match. */
export class Inbox {
  readonly items: Seen[] = [];
  private readonly used = new Set<Seen>();
  private waiters: { pred: Pred; d: Deferred<Seen> }[] = [];

  push(s: Seen): void {
    this.items.push(s);
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.pred(s)) {
        this.used.add(s);
        this.waiters.splice(i, 1);
        w.d.resolve(s);
        return;
      }
    }
  }

  /** The first not-yet-consumed record matching `pred` (waits for it). */
  next(pred: Pred = () => true, what = 'an inbox record'): Promise<Seen> {
    for (const s of this.items) {
      if (!this.used.has(s) && pred(s)) {
        this.used.add(s);
        return Promise.resolve(s);
      }
    }
    const d = deferred<Seen>();
    this.waiters.push({ pred, d });
    return within(d.promise, what);
  }

  /** Next message that is an instance of `cls` (returns the message and its sender). */
  async message<T>(cls: abstract new (...a: never[]) => T, what?: string): Promise<{ message: T; from: PID }> {
    const s = await this.next((x) => x.kind === 'message' && x.message instanceof cls, what ?? `a ${cls.name}`);
    return s as unknown as { message: T; from: PID };
  }

  /** Next event delivered to handleEvent (optionally matching `pred`). */
  async event(pred: (m: MessageEvent) => boolean = () => true, what = 'an event'): Promise<MessageEvent> {
    const s = await this.next((x) => x.kind === 'event' && pred(x.message), what);
    return (s as { message: MessageEvent }).message;
  }

  /** The reason passed to terminate (waits for it). */
  async terminated(what = 'terminate'): Promise<Error> {
    const s = await this.next((x) => x.kind === 'terminate', what);
    return (s as { reason: Error }).reason;
  }

  /** Plain messages seen so far. */
  messages(): unknown[] {
    return this.items.flatMap((s) => (s.kind === 'message' ? [s.message] : []));
  }

  /** Records of one kind seen so far. */
  ofKind<K extends Seen['kind']>(kind: K): Extract<Seen, { kind: K }>[] {
    return this.items.filter((s) => s.kind === kind) as Extract<Seen, { kind: K }>[];
  }
}

// --- TestActor -------------------------------------------------------------------------------

/** Runs a function inside the actor (sent as a call request; see {@link exec}). */
export class Exec {
  constructor(readonly fn: (a: TestActor) => unknown) {}
}
/** Message: the handler throws `error` (a panic). */
export class Throw {
  constructor(readonly error: unknown = new Error('test panic')) {}
}
/** Message: the handler returns `reason` (the actor stops with it). */
export class Return {
  constructor(readonly reason: Error) {}
}
/** Message: the handler awaits `promise` (the actor stays Running until it settles). */
export class Hold {
  constructor(
    readonly promise: Promise<unknown>,
    readonly entered?: Deferred<void>,
  ) {}
}

/**
 * A promise that rejects with `error` on the next macrotask, for a Hold. It is marked handled at
 * once: a loaded node may reach the Hold after it has rejected, and the rejection must not count
 * as unhandled then (the actor awaiting it still gets it).
 */
export function rejectedSoon(error: Error): Promise<never> {
  const p = new Promise<never>((_, reject) => setImmediate(() => reject(error)));
  p.catch(() => undefined);
  return p;
}

/** Callbacks a test can plug into a TestActor. Returning a value replaces the default result. */
export interface Hooks {
  init?(a: TestActor): unknown;
  message?(a: TestActor, from: PID, message: unknown): HandlerResult | unknown;
  call?(a: TestActor, from: PID, ref: Ref, request: unknown): unknown;
  event?(a: TestActor, m: MessageEvent): HandlerResult;
  inspect?(a: TestActor, from: PID, items: string[]): Record<string, string> | Promise<Record<string, string>>;
  log?(a: TestActor, m: MessageLog): HandlerResult;
  terminate?(a: TestActor, reason: Error): void;
}

/**
 * A scriptable actor. Everything it sees goes to its Inbox; Exec requests run a function as the
 * process; Throw / Return / Hold messages panic, stop, or keep the handler busy.
 */
export class TestActor extends Actor {
  inbox!: Inbox;
  hooks!: Hooks;

  override init(inbox?: Inbox, hooks?: Hooks): unknown {
    this.inbox = inbox ?? new Inbox();
    this.hooks = hooks ?? {};
    return this.hooks.init?.(this);
  }

  override handleMessage(from: PID, message: unknown): HandlerResult {
    this.inbox.push({ kind: 'message', from, message });
    if (message instanceof Throw) throw message.error;
    if (message instanceof Return) return message.reason;
    if (message instanceof Hold) {
      message.entered?.resolve();
      return message.promise.then(() => undefined);
    }
    return this.hooks.message?.(this, from, message) as HandlerResult;
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request instanceof Exec) {
      let r: unknown;
      try {
        r = request.fn(this);
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
    if (this.hooks.call) return this.hooks.call(this, from, ref, request);
    return request;
  }

  override handleEvent(m: MessageEvent): HandlerResult {
    this.inbox.push({ kind: 'event', message: m });
    return this.hooks.event?.(this, m);
  }

  override handleInspect(from: PID, ...items: string[]): Record<string, string> | Promise<Record<string, string>> {
    this.inbox.push({ kind: 'inspect', from, items });
    return this.hooks.inspect?.(this, from, items) ?? { actor: 'test', items: items.join(',') };
  }

  override handleLog(m: MessageLog): HandlerResult {
    this.inbox.push({ kind: 'log', message: m });
    return this.hooks.log?.(this, m);
  }

  override terminate(reason: Error): void {
    this.inbox.push({ kind: 'terminate', reason });
    this.hooks.terminate?.(this, reason);
  }
}

/** Spawns a TestActor on the node (optionally registered); returns its PID and Inbox. */
export async function spawnTest(
  node: Node,
  opts: { hooks?: Hooks; options?: ProcessOptions; name?: string; inbox?: Inbox } = {},
): Promise<{ pid: PID; inbox: Inbox }> {
  const inbox = opts.inbox ?? new Inbox();
  const pid =
    opts.name !== undefined
      ? await node.spawnRegister(opts.name, TestActor, opts.options ?? {}, inbox, opts.hooks ?? {})
      : await node.spawn(TestActor, opts.options ?? {}, inbox, opts.hooks ?? {});
  return { pid, inbox };
}

/** Spawns a TestActor as a child of `parent` (from inside it); returns its PID and Inbox. */
export async function spawnChild(
  node: Node,
  parent: PID,
  opts: { hooks?: Hooks; options?: ProcessOptions; name?: string; inbox?: Inbox } = {},
): Promise<{ pid: PID; inbox: Inbox }> {
  const inbox = opts.inbox ?? new Inbox();
  const pid = await exec(node, parent, (a) =>
    opts.name !== undefined
      ? a.spawnRegister(opts.name, TestActor, opts.options ?? {}, inbox, opts.hooks ?? {})
      : a.spawn(TestActor, opts.options ?? {}, inbox, opts.hooks ?? {}),
  );
  return { pid, inbox };
}

/**
 * Runs `fn` inside the TestActor `pid` (as that process, state Running) and returns its result;
 * rethrows what `fn` throws. It travels as a normal-priority call, so it is also a barrier:
 * everything already in the actor's urgent and system queues has been handled when it runs.
 */
export async function exec<T>(node: Node, pid: PID, fn: (a: TestActor) => T | Promise<T>): Promise<T> {
  const r = (await node.call(pid, new Exec(fn))) as { ok?: T; err?: unknown };
  if ('err' in r) throw r.err;
  return r.ok as T;
}

// --- reasons (the §5.6/§5.7 matrix) ----------------------------------------------------------

/** A custom reason, used as "custom error" in the link/monitor matrices. */
export const CUSTOM_REASON = new Error('custom');

/** The reasons §5.6/§5.7 run every case with. */
export const REASONS: [string, Error][] = [
  ['kill', TerminateReasonKill],
  ['custom error', CUSTOM_REASON],
  ['shutdown', TerminateReasonShutdown],
  ['panic', TerminateReasonPanic],
];

/** Ends the target process with `reason`: node.kill, a panicking handler, or an exit signal. */
export function endTarget(node: Node, pid: PID, reason: Error): void {
  if (reason === TerminateReasonKill) node.kill(pid);
  else if (reason === TerminateReasonPanic) node.send(pid, new Throw());
  else node.sendExit(pid, reason);
}

let uniqSeq = 0;
/** A name unique within the test run. */
export const uniq = (p: string): string => `${p}_${++uniqSeq}`;

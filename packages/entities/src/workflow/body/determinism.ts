// The determinism guard (development mode): while a workflow body's own code runs, calls to the
// clock, randomness, timers and fetch are reported — a warning naming the call, the instance and
// the line, once per call site, or ERR_WORKFLOW_NONDETERMINISTIC thrown at the call — instead of
// being found only when a replay takes another path.
//
// Which code is the body's, in two tests. The context: the engine calls the body inside an
// AsyncLocalStorage context, its segment; Node carries it into the body's await continuations (a
// continuation runs in the context of its `await`, whatever resolved the promise) and into the
// callbacks the body registers (`then`, timers), while another instance's body, a handler of the
// entity, a timer set by other code each run in their own. The context object the body gets is a
// proxy whose methods (and those of the handles they give: a child's, an update's) run outside any
// segment, so what they start — journal writes, step attempts, compensations, outbox deliveries,
// signal waits, update replies — and the query handlers the engine calls later are not in it; the
// signal and update handlers and a condition's predicate the body registers are (BODY_CALLBACKS). But
// the context leaks further than the body's code: whatever the framework or a library starts while
// a segment is current (a continuation, a timer, a pool's socket opened lazily, the scheduler's
// next turn) runs in that segment too. So the caller: inside a live segment the stack is read
// (body_code.ts) and only a call whose nearest caller is neither Node's, a library's
// (node_modules) nor the framework's own code is the body's. The patched globals pass through to
// the originals unless both hold; they are installed while at least one guarded body runs and put
// back when none does.

import { AsyncLocalStorage } from 'node:async_hooks';

import type { Log } from 'ergo-ts';

import { bodyFrame } from './body_code.js';
import { inCallerFrame } from './handlers.js';
import {
  determinismGuardMode,
  ErrWorkflowNondeterministic,
  type DeterminismGuardMode,
} from '../model/determinism_mode.js';

export {
  DETERMINISM_GUARD_ENV,
  determinismGuardMode,
  ErrWorkflowNondeterministic,
  isDeterminismGuardMode,
  type DeterminismGuardMode,
} from '../model/determinism_mode.js';

/** A guarded function: where it lives, how the message names it and what to use instead. */
interface Guarded {
  readonly owner: () => object | undefined;
  readonly key: string;
  readonly call: string;
  readonly use: string;
}

const GUARDED: readonly Guarded[] = [
  { owner: () => Date, key: 'now', call: 'Date.now()', use: 'ctx.now()' },
  { owner: () => Math, key: 'random', call: 'Math.random()', use: 'ctx.random()' },
  { owner: () => globalThis.crypto, key: 'randomUUID', call: 'crypto.randomUUID()', use: 'ctx.uuid()' },
  {
    owner: () => globalThis.crypto,
    key: 'getRandomValues',
    call: 'crypto.getRandomValues()',
    use: 'ctx.random() or a step',
  },
  { owner: () => globalThis.performance, key: 'now', call: 'performance.now()', use: 'ctx.now()' },
  { owner: () => globalThis, key: 'setTimeout', call: 'setTimeout()', use: 'ctx.sleep(ms)' },
  { owner: () => globalThis, key: 'setInterval', call: 'setInterval()', use: 'ctx.sleep(ms) in a loop' },
  { owner: () => globalThis, key: 'setImmediate', call: 'setImmediate()', use: 'ctx.sleep(ms)' },
  { owner: () => globalThis, key: 'fetch', call: 'fetch()', use: 'a step: ctx.step(name, () => fetch(…))' },
];

/** The body of one run, while its own code may run. */
interface Segment {
  readonly workflow: string;
  readonly id: string;
  readonly mode: 'throw' | 'warn';
  readonly log: Log;
  /** False once the body settled: what it left behind (a timer's callback) is not reported then. */
  live: boolean;
}

/** Made at the first guarded body (on Node 22 an AsyncLocalStorage turns promise hooks on once used). */
let storage: AsyncLocalStorage<Segment | undefined> | undefined;

interface Installed {
  readonly owner: object;
  readonly key: string;
  /** The property as it was (undefined: inherited, e.g. `crypto.randomUUID` from its prototype). */
  readonly had: PropertyDescriptor | undefined;
  readonly fn: unknown;
}

let installed: Installed[] = [];
/** Guarded bodies not settled yet. */
let running = 0;

/** Call sites warned about (workflow, call, site), so a loop warns once; cleared when it grows past this. */
const warned = new Set<string>();
const MAX_WARNED = 1000;

/** Runs `fn` outside any segment: the engine's and the context's own work, a warning's logging. */
function outside<T>(fn: () => T): T {
  return storage === undefined ? fn() : storage.run(undefined, fn);
}

/** The `frame`th frame above `fn` as the stack prints it (source-mapped when Node maps stacks). */
function callSite(fn: (...args: never[]) => unknown, frame: number): string | undefined {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = frame + 1;
    Error.captureStackTrace(holder, fn);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const line = holder.stack?.split('\n').filter((l) => l.trimStart().startsWith('at '))[frame];
  return line?.trim().slice(3);
}

/**
 * Reports a call of `fn` in a live segment when the body's own code made it (body_code.ts): thrown
 * (`'throw'`), or logged once per workflow and call site.
 */
function report(
  seg: Segment,
  g: { readonly call: string; readonly use: string },
  fn: (...args: never[]) => unknown,
): void {
  const frame = bodyFrame(fn);
  if (frame === undefined) return; // the framework's, Node's or a library's
  const site = callSite(fn, frame);
  const message =
    `workflow ${seg.workflow}/${seg.id}: ${g.call} in the body${site === undefined ? '' : ` (at ${site})`}` +
    ` gives another result on replay: use ${g.use}`;
  if (seg.mode === 'throw') throw ErrWorkflowNondeterministic.with(message);
  const key = `${seg.workflow}\n${g.call}\n${site ?? ''}`;
  if (warned.has(key)) return;
  if (warned.size >= MAX_WARNED) warned.clear();
  warned.add(key);
  outside(() => seg.log.warning('determinism guard: %s', message));
}

/** `orig`, reporting a call made by a live segment first. */
function guardedFunction(orig: (...args: unknown[]) => unknown, g: Guarded): (...args: unknown[]) => unknown {
  const fn = function (this: unknown, ...args: unknown[]): unknown {
    const seg = storage?.getStore();
    if (seg?.live === true) report(seg, g, fn);
    return Reflect.apply(orig, this, args);
  };
  // What readers of the original find on it stays (setTimeout's util.promisify.custom).
  for (const k of Reflect.ownKeys(orig))
    if (k !== 'length' && k !== 'prototype') {
      const d = Object.getOwnPropertyDescriptor(orig, k);
      if (d !== undefined) Object.defineProperty(fn, k, d);
    }
  return fn;
}

function install(): void {
  for (const g of GUARDED) {
    const owner = g.owner();
    if (owner === undefined || owner === null) continue;
    const orig: unknown = Reflect.get(owner, g.key);
    if (typeof orig !== 'function') continue;
    const had = Object.getOwnPropertyDescriptor(owner, g.key);
    const fn = guardedFunction(orig as (...args: unknown[]) => unknown, g);
    try {
      Object.defineProperty(owner, g.key, {
        value: fn,
        writable: true,
        configurable: true,
        enumerable: had?.enumerable ?? false,
      });
    } catch {
      continue; // frozen by the application: left alone
    }
    installed.push({ owner, key: g.key, had, fn });
  }
}

function uninstall(): void {
  for (const i of installed) {
    // Replaced since (a fake clock installed over it): theirs stays, and ours, under it, passes through.
    if (Reflect.get(i.owner, i.key) !== i.fn) continue;
    if (i.had === undefined) Reflect.deleteProperty(i.owner, i.key);
    else Object.defineProperty(i.owner, i.key, i.had);
  }
  installed = [];
}

/** Methods of the context whose result (a promise) is an object with methods the body calls later. */
const HANDLE_METHODS: ReadonlySet<PropertyKey> = new Set(['startChild', 'update']);

/**
 * Methods of the context that take the body's own code to run later (handlers, a condition's
 * predicate): it runs in the body's segment, as the body does, though the engine calls it.
 */
const BODY_CALLBACKS: ReadonlySet<PropertyKey> = new Set(['onSignal', 'onUpdate', 'condition']);

/** `f` bound to the context current now, except the handler frame its caller runs it in (handlers.ts). */
function boundHere(f: (...v: unknown[]) => unknown): (...v: unknown[]) => unknown {
  const snap = AsyncLocalStorage.snapshot();
  return function (this: unknown, ...v: unknown[]): unknown {
    return inCallerFrame(snap, () => Reflect.apply(f, this, v));
  };
}

/** What a call through `ctx.entities` from the body should be instead. */
const ENTITIES_USE = 'ctx.call(), ctx.send() or ctx.startChild() (journaled), or a step';

const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !(v instanceof Promise);

/**
 * `target` seen through a proxy whose methods run outside any segment (`this` the target, so
 * private fields work), as do those of its `log`, of the handles {@link HANDLE_METHODS} give and
 * of its `entities`. A method of `entities` (named `reported`, and what it leads to: its
 * `workflows`, the handles they give) called by the body's own code is reported itself: it reaches
 * the outside world (and, run outside, what it starts leaves the segment: an entity's handler it
 * sets running is not taken for the body's).
 */
function outsideObject<T extends object>(target: T, reported?: string): T {
  const cache = new Map<PropertyKey, { readonly of: unknown; readonly as: unknown }>();
  const t = target;
  const proxy: T = new Proxy(shadowOf(target), {
    get(_shadow, prop) {
      const v: unknown = Reflect.get(t, prop, t);
      const hit = cache.get(prop);
      if (hit !== undefined && hit.of === v) return hit.as;
      const name = reported === undefined ? undefined : `${reported}.${String(prop)}`;
      let as: unknown;
      if (typeof v === 'function') {
        const f = v as (...args: unknown[]) => unknown;
        const handle = HANDLE_METHODS.has(prop) && reported === undefined;
        const call = name === undefined ? undefined : { call: `${name}()`, use: ENTITIES_USE };
        const bodyCode = BODY_CALLBACKS.has(prop) && reported === undefined;
        const wrapped = function (this: unknown, ...args: unknown[]): unknown {
          const seg = call === undefined ? undefined : storage?.getStore();
          if (seg?.live === true) report(seg, call!, wrapped);
          // Bound here, in the caller's segment: the engine calls them from outside it (in a
          // handler's frame, which the call keeps: handlers.ts).
          const a = bodyCode
            ? args.map((x) => (typeof x === 'function' ? boundHere(x as (...v: unknown[]) => unknown) : x))
            : args;
          const out = outside(() => Reflect.apply(f, this === proxy ? t : this, a));
          if (handle && out instanceof Promise) return out.then((h: unknown) => (isObject(h) ? outsideObject(h) : h));
          // A select's winner may be an update the body answers later: its handle, as ctx.update's.
          if (prop === 'select' && reported === undefined && out instanceof Promise)
            return out.then((r: { value?: unknown }) =>
              isObject(r?.value) && typeof (r.value as { reply?: unknown }).reply === 'function'
                ? { ...r, value: outsideObject(r.value) }
                : r,
            );
          return call !== undefined && isObject(out) ? outsideObject(out, `${name}()`) : out;
        };
        as = wrapped;
      } else if (isObject(v) && (name !== undefined || prop === 'log' || prop === 'entities'))
        as = outsideObject(v, name ?? (prop === 'entities' ? 'ctx.entities' : undefined));
      else return v;
      cache.set(prop, { of: v, as });
      return as;
    },
  });
  return proxy;
}

/**
 * What a proxy of `target` stands on. A proxy must give a non-configurable read-only property's
 * value as it is (an update's handle is frozen), so such a target is stood for by a copy of its
 * properties, configurable: the proxy reads the real one and still wraps its methods.
 */
function shadowOf<T extends object>(target: T): T {
  const keys = Reflect.ownKeys(target);
  if (keys.every((k) => Object.getOwnPropertyDescriptor(target, k)?.configurable !== false)) return target;
  const shadow = Object.create(Object.getPrototypeOf(target) as object | null) as T;
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(target, k);
    if (d !== undefined) Object.defineProperty(shadow, k, { ...d, configurable: true });
  }
  return shadow;
}

/** Where a guarded body runs, for its reports. */
export interface GuardedRun {
  readonly workflow: string;
  readonly id: string;
  /** The instance's log (warnings go there). */
  readonly log: Log;
  /** The workflow's `determinismGuard` option. */
  readonly mode: DeterminismGuardMode | undefined;
}

/**
 * @internal Calls `body(ctx, input)` as the engine does, under the determinism guard when its mode
 * (see {@link determinismGuardMode}) is not `'off'`: the globals are patched while it runs, the
 * body gets `ctx` through a proxy whose operations are not the body's code, and its own code is
 * reported when it calls a guarded function (see the top of this file).
 */
export function runBody(
  body: (ctx: any, input: any) => Promise<unknown>,
  ctx: object,
  input: unknown,
  run: GuardedRun,
): Promise<unknown> {
  const mode = determinismGuardMode(run.mode);
  if (mode === 'off') return body(ctx, input);
  storage ??= new AsyncLocalStorage<Segment | undefined>();
  const seg: Segment = { workflow: run.workflow, id: run.id, mode, log: run.log, live: true };
  if (running++ === 0) install();
  const end = (): void => {
    if (!seg.live) return;
    seg.live = false;
    if (--running === 0) uninstall();
  };
  let out: Promise<unknown>;
  try {
    out = storage.run(seg, () => body(outsideObject(ctx), input));
  } catch (err) {
    end();
    throw err;
  }
  // Not in the engine's chain: it goes on as unguarded, this only ends the segment (never rejects).
  void Promise.resolve(out).then(end, end);
  return out;
}

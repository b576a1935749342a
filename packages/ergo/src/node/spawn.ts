// Spawning: build the process (identity, env layers, options), run the behaviour's init, and only
// then put it in the process table. A spawn-time name is reserved before init so others can
// already send to it; messages sent meanwhile (self-sends included) wait and run right after.
// While init runs the process is in `node.initing`: Ergo 3.2 lets init link, monitor, call and
// register, so others may already watch it by PID; a failed init undoes all of it (failedInit).

import type { Atom } from '../gen/atom.js';
import { envName } from '../gen/env.js';
import { ErrIncorrect, ErrNodeTerminated, ErrProcessTerminated, ErrTaken, ErrTimeout, toError } from '../gen/errors.js';
import { ignorable, rejected } from '../gen/ignorable.js';
import { LogLevel, toLogLevel, type Log } from '../gen/log.js';
import { MessagePriority } from '../gen/priority.js';
import { Stop, type ProcessBehavior, type ProcessFactory } from '../gen/process.js';
import { PID } from '../gen/pid.js';
import type { ProcessOptions } from '../gen/options.js';
import { validateEnv, validateProcessOptions } from '../gen/validate.js';
import type { NodeImpl } from './node.js';
import { validateName } from './names.js';
import { ProcessImpl } from './process.js';
import { isGone, S_INIT, S_SLEEP } from './process_state.js';
import { isThenable } from '../lib/thenable.js';
import { failedInit, terminateAfterInit } from './termination.js';

/**
 * One spawn, fully resolved: who asks (parent, leader), what the process gets (env, log level,
 * application, name, args) and the options. A local spawn builds it with localSpawnRequest; a
 * remote spawn (the network Core) fills it from the wire, with `parent: null` and `parentPID`
 * the remote parent. spawnProcess takes ownership of `env`.
 */
export interface SpawnRequest {
  factory: ProcessFactory;
  options: ProcessOptions;
  /** Arguments of the behaviour's init. */
  args: unknown[];
  /** Name registered before init ('' = none). */
  register: Atom;
  /** The parent when it is a process of this node (null for the node, an application, a remote node). */
  parent: ProcessImpl | null;
  /** The parent's PID (the node's core PID for node spawns, a remote PID for remote spawns). */
  parentPID: PID;
  leader: PID;
  /** The whole env of the new process, every layer applied (null = empty). */
  env: Map<string, unknown> | null;
  /** The process' log level (resolved: never LogLevel.Default). */
  logLevel: LogLevel;
  /** The application the process belongs to ('' = none). */
  application: Atom;
  /** Called as the process enters the table (before anything else can end it). */
  onSpawned: ((p: ProcessImpl) => void) | null;
  /** The PID id to take, checked by the caller (reserved.ts); 0: the node's next id. */
  id?: number;
}

/** What a local spawn names; localSpawnRequest resolves the rest from the parent and the node. */
export interface LocalSpawn {
  factory: ProcessFactory;
  options?: ProcessOptions;
  args?: unknown[];
  register?: Atom | string;
  /** The spawning process (null/undefined: the node itself). */
  parent?: ProcessImpl | null;
  application?: Atom;
  /** Env layer between the node and the parent (the application's env). */
  applicationEnv?: Map<string, unknown> | null;
  /**
   * Parent and leader when `parent` is null and someone else asked: the requesting node's core
   * PID for members of a remotely started application (Ergo's rule). Default: this node's core.
   */
  parentPID?: PID;
  onSpawned?: (p: ProcessImpl) => void;
  /** See SpawnRequest.id. */
  id?: number;
}

/** The options of a spawn that gives none (shared: spawning only reads options). */
const NO_OPTIONS: ProcessOptions = Object.freeze({});

/**
 * Ergo 3.2 caps the init of a remotely spawned process and of an application member at 15 s
 * (milliseconds here): an async init still pending then fails the spawn with ErrTimeout.
 */
export const INIT_CAP_MS = 15_000;

/** An `initTimeout` under the cap: unset or 0 becomes the cap, a larger value is lowered to it. */
export function cappedInitTimeout(initTimeout: number | undefined): number {
  return initTimeout ? Math.min(initTimeout, INIT_CAP_MS) : INIT_CAP_MS;
}

/** Creates a behaviour from a class (has `processInit` on its prototype) or a factory function. */
export function instantiate(factory: ProcessFactory): ProcessBehavior {
  const proto = (factory as { prototype?: { processInit?: unknown } }).prototype;
  if (proto !== undefined && typeof proto.processInit !== 'function' && isClass(factory)) {
    // A class that does not extend a behaviour: calling it would be a TypeError.
    throw ErrIncorrect.with(`${factory.name || 'the class'} does not extend a process behaviour (e.g. Actor)`);
  }
  const b =
    proto !== undefined && typeof proto.processInit === 'function'
      ? new (factory as new () => ProcessBehavior)()
      : (factory as () => ProcessBehavior)();
  if (
    b === null ||
    typeof b !== 'object' ||
    typeof b.processInit !== 'function' ||
    typeof b.processRun !== 'function'
  ) {
    throw ErrIncorrect.with('factory must return a process behaviour (e.g. an Actor)');
  }
  return b;
}

/** True for a `class` (only checked on the rare path: a function whose prototype has no processInit). */
function isClass(f: ProcessFactory): boolean {
  return /^class\b/.test(Function.prototype.toString.call(f));
}

function copyEnvInto(
  dst: Map<string, unknown> | null,
  src: Iterable<[string, unknown]> | null | undefined,
  normalize: boolean,
): Map<string, unknown> | null {
  if (src === null || src === undefined) return dst;
  for (const [k, v] of src) {
    const key = normalize ? envName(k) : k;
    if (v === undefined || v === null) dst?.delete(key);
    else (dst ??= new Map()).set(key, v);
  }
  return dst;
}

/**
 * Resolves a local spawn: parent and leader PIDs, log level (the option, else the parent's, else
 * the node's) and the env layers node → application → leader → parent → options. The options
 * must have passed checkSpawnOptions.
 */
export function localSpawnRequest(node: NodeImpl, s: LocalSpawn): SpawnRequest {
  const options = s.options ?? NO_OPTIONS;
  const parent = s.parent ?? null;
  const parentPID = parent !== null ? parent.pid : (s.parentPID ?? node.pid);
  const leader = options.leader ?? (parent !== null ? parent.leader : parentPID);
  const own = toLogLevel(options.logLevel);
  const logLevel =
    own !== undefined && own !== LogLevel.Default ? own : parent !== null ? parent.logLevel : node.log.level();
  let env: Map<string, unknown> | null = null;
  if (node.envMap.size > 0) env = copyEnvInto(env, node.envMap, false);
  if (s.applicationEnv) env = copyEnvInto(env, s.applicationEnv, false);
  if (parent !== null) {
    if (!leader.equals(parent.pid) && leader.node === node.name) {
      const l = node.processes.get(leader.id);
      if (l !== undefined && l.envMap !== null) env = copyEnvInto(env, l.envMap, false);
    }
    if (parent.envMap !== null) env = copyEnvInto(env, parent.envMap, false);
  }
  if (options.env !== undefined) env = copyEnvInto(env, validateEnv(options.env, 'env'), true);
  return {
    factory: s.factory,
    options,
    args: s.args ?? [],
    register: (s.register ?? '') as Atom,
    parent,
    parentPID,
    leader,
    env,
    logLevel,
    application: s.application ?? (parent !== null ? parent.application : ('' as Atom)),
    onSpawned: s.onSpawned ?? null,
    id: s.id ?? 0,
  };
}

/**
 * Spawns a local process: checkSpawnOptions, localSpawnRequest, spawnProcess. Never throws:
 * failures reject (ErrNodeTerminated, ErrIncorrect, and spawnProcess' errors). With `log`, the
 * Promise is safe to ignore (see spawnProcess).
 */
export function spawnLocal(node: NodeImpl, s: LocalSpawn, log?: Log, what = 'spawn'): Promise<PID> {
  let req: SpawnRequest;
  try {
    node.checkRunning();
    if (s.options !== undefined) checkSpawnOptions(s.options);
    req = localSpawnRequest(node, s);
  } catch (e) {
    return failed(e, log, what);
  }
  return spawnProcess(node, req, log, what);
}

/**
 * A failed spawn's Promise: marked handled (gen/ignorable.ts) when the caller hands it out
 * (`log` given), a plain rejection for internal callers, who await it.
 */
function failed(err: unknown, log: Log | undefined, what: string): Promise<never> {
  return log === undefined ? Promise.reject(err as Error) : rejected(err, log, what);
}

/**
 * Checks spawn options before anything reads them. Throws ErrIncorrect. Every spawn path calls it
 * once: spawnLocal before it resolves the request, a remote spawn (the network Core) before it
 * fills one. Each option has one validator (gen/validate.ts), shared with its setter.
 */
export function checkSpawnOptions(options: ProcessOptions): void {
  validateProcessOptions(options);
}

/**
 * Spawns the process a request describes (its options already checked by checkSpawnOptions):
 * init runs before the process enters the table. Rejects with ErrNodeTerminated, ErrIncorrect
 * (bad factory), ErrTaken (name), init's error (returned, thrown or rejected; a thrown non-Error
 * is wrapped by toError: ERR_THROWN_VALUE), or ErrTimeout (`initTimeout`). Never throws.
 *
 * With `log` the Promise is safe to ignore: a failure is marked handled (logged at debug as
 * `what`). Only the paths that can reject are marked: a spawn whose init returned at once resolves
 * with an already fulfilled Promise, which needs no handler (a `then` per spawn is a derived
 * Promise, a closure and a microtask: a quarter of the spawn row's time went there).
 */
export function spawnProcess(node: NodeImpl, req: SpawnRequest, log?: Log, what = 'spawn'): Promise<PID> {
  const r = spawnProcessNow(node, req, log, what);
  return r instanceof PID ? Promise.resolve(r) : r;
}

/**
 * {@link spawnProcess} without a Promise for a spawn whose init returned at once: the PID itself
 * then (a remote spawn answers it in the same turn, with no Promise, closure or microtask per
 * request); a Promise when init is async or the spawn failed. Never throws.
 */
export function spawnProcessNow(node: NodeImpl, req: SpawnRequest, log?: Log, what = 'spawn'): PID | Promise<PID> {
  let p: ProcessImpl | undefined;
  let r: unknown;
  const { factory, options, register } = req;
  try {
    node.checkRunning();
    if (typeof factory !== 'function') throw ErrIncorrect.with('factory must be a class or a function');
    if (register !== '') {
      validateName(register);
      if (node.names.has(register)) throw ErrTaken.with(`name '${register}'`);
    }

    p = new ProcessImpl(
      node,
      new PID(node.name, req.id ? req.id : ++node.nextID, node.creation),
      req.parentPID,
      req.leader,
      options.mailboxSize ?? node.mailboxSize,
      req.logLevel,
    );
    p.mb.highWater = Math.max(0, options.mailboxHighWater ?? node.mailboxHighWater);
    p.application = req.application;
    p.envMap = req.env;

    p.priority = options.sendPriority ?? MessagePriority.Normal;
    p.important = options.importantDelivery === true;
    if (options.fallback?.enable)
      p.fallback = { enable: true, name: options.fallback.name, tag: options.fallback.tag ?? '' };
    if (options.compression !== undefined) p.compressionCfg = { ...p.compression(), ...options.compression };
    p.behaviorObj = instantiate(factory);

    if (register !== '') {
      node.names.set(register, p);
      p.name = register;
    }
    node.initing.set(p.pid.id, p);
    r = p.behaviorObj.processInit(p, req.args);
  } catch (e) {
    // Anything init throws is wrapped like a handler's panic (a non-Error becomes an ErgoError
    // with the value as its cause); validation errors are ErgoErrors already.
    const err = toError(e);
    if (p !== undefined) {
      logInitFailure(p, err);
      failedInit(node, p, err);
    }
    return failed(err, log, what);
  }
  if (isThenable(r)) {
    const pending = awaitInit(node, p, r, req);
    return log === undefined ? pending : ignorable(pending, log, what);
  }
  return finishInit(node, p, r, req, log, what);
}

function logInitFailure(p: ProcessImpl, e: unknown): void {
  const err = toError(e);
  p.nodeImpl.log.panic('init of %s (%s) failed: %s', p.pid.toString(), p.behaviorName(), err.stack ?? err.message);
}

function awaitInit(node: NodeImpl, p: ProcessImpl, r: PromiseLike<unknown>, req: SpawnRequest): Promise<PID> {
  const options = req.options;
  return new Promise<PID>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let done = false;
    // Gives up on the init (timeout, node stopping): the spawn fails now, whatever init does later.
    const abort = (err: Error): void => {
      if (done) return;
      done = true;
      if (timer !== null) clearTimeout(timer);
      node.pendingInits.delete(p);
      failedInit(node, p, err);
      reject(err);
    };
    node.pendingInits.set(p, abort);
    if (options.initTimeout !== undefined && options.initTimeout > 0) {
      timer = setTimeout(
        () => abort(ErrTimeout.with(`init of ${p.pid} did not finish in ${options.initTimeout} ms`)),
        options.initTimeout,
      );
      // Not unref'd: the awaited spawn must settle (ErrTimeout) even when nothing else keeps the
      // process alive; the timer is cleared as soon as init settles.
    }
    const settle = (ok: boolean, v: unknown): void => {
      if (done) return;
      done = true;
      if (timer !== null) clearTimeout(timer);
      node.pendingInits.delete(p);
      if (!ok) {
        const err = toError(v);
        logInitFailure(p, err);
        failedInit(node, p, err);
        reject(err);
        return;
      }
      const f = finishInit(node, p, v, req);
      if (f instanceof PID) resolve(f);
      else f.then(resolve, reject);
    };
    try {
      r.then(
        (v) => settle(true, v),
        (e) => settle(false, e),
      );
    } catch (e) {
      settle(false, e);
    }
  });
}

function finishInit(
  node: NodeImpl,
  p: ProcessImpl,
  r: unknown,
  req: SpawnRequest,
  log?: Log,
  what = 'spawn',
): PID | Promise<PID> {
  const { options, parent } = req;
  let err: Error | undefined;
  if (r instanceof Error) err = r;
  else if (r instanceof Stop) err = r.reason;
  else if (p.st !== S_INIT) err = ErrProcessTerminated.with(`${p.pid} was terminated during init`);
  else if (node.stopping) err = ErrNodeTerminated.with(node.name);
  else if (options.linkParent && parent !== null && isGone(parent.st))
    err = ErrProcessTerminated.with(`parent ${parent.pid} ended during init`);
  if (err !== undefined) {
    const initSucceeded = !(r instanceof Error || r instanceof Stop) && p.st === S_INIT;
    failedInit(node, p, err);
    // Init itself succeeded (and may have opened things): the behaviour gets its terminate.
    if (initSucceeded) terminateAfterInit(node, p, err);
    return failed(err, log, what);
  }
  if (parent !== null) {
    // Either side may have linked already, in init (Ergo 3.2) or to the child still in init.
    if (options.linkParent && !node.targets.has(true, p, parent)) node.targets.add(true, p, parent.pid, parent);
    // A parent that ended meanwhile (LinkChild alone does not fail the spawn) cannot be told.
    if (options.linkChild && !isGone(parent.st) && !node.targets.has(true, parent, p))
      node.targets.add(true, parent, p.pid, p);
  }
  p.st = S_SLEEP;
  node.initing.delete(p.pid.id);
  node.processes.set(p.pid.id, p);
  // Remote spawn with linkParent: the child links to its parent on the requesting node.
  if (parent === null && options.linkParent && req.parentPID.node !== node.name) {
    try {
      node.router.remote.watchRemote(p, req.parentPID, true);
    } catch (e) {
      node.log.warning(
        '%s could not link to its remote parent %s: %s',
        p.pid.toString(),
        req.parentPID.toString(),
        toError(e).message,
      );
    }
  }
  node.processSpawned(p);
  if (p.mb.size > 0) node.scheduler.enqueue(p);
  req.onSpawned?.(p);
  return p.pid;
}

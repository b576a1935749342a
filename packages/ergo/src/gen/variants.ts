// The thin forms of Ergo's call and spawn, written once for every implementer of the Node and
// Process contracts (the engine's node handle and process, the test kit's TestNode and
// TestProcess). The call variants (callWithTimeout, callWithPriority, callImportant, callPID,
// callProcessID, callAlias) are `call` with one option set; the typed ones (CallPID,
// CallProcessID, CallAlias) share one rule: the target must be of the named kind (ErrIncorrect
// otherwise) and a timeout in ms is optional. The spawn forms (spawn, spawnRegister) are one
// spawn that registers the child under a name or not. A class gets them on its prototype and
// takes their types from the contract: the engine's classes merge `Pick<Node | Process, ...>`
// into their type; the test kit's public classes declare each member as the contract's
// (`declare spawn: Node['spawn']`), since a merged interface would turn every member of their
// reference pages into an inherited one.

import type { Atom } from './atom.js';
import { ErrIncorrect } from './errors.js';
import type { CallOptions, ProcessOptions } from './options.js';
import { PID } from './pid.js';
import type { MessagePriority } from './priority.js';
import type { ProcessFactory, SendTarget } from './process.js';
import { ProcessID } from './processid.js';
import { Alias } from './ref.js';

/** Anything with Ergo's `call`. */
export interface Caller {
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown>;
  /** Where the failure of an ignored call is logged (at debug). */
  readonly log?: { debug(format: string, ...args: unknown[]): void };
}

/**
 * Calls `to` through `caller` after checking it is an instance of `kind`. Never throws: a wrong
 * target rejects with ErrIncorrect naming `method` and `kindName`.
 */
export function typedCall(
  caller: Caller,
  method: string,
  kind: abstract new (...args: never[]) => unknown,
  kindName: string,
  to: unknown,
  request: unknown,
  timeoutMs: number | undefined,
): Promise<unknown> {
  if (!(to instanceof kind)) {
    const p = Promise.reject(ErrIncorrect.with(`${method}: the target must be a ${kindName}`));
    // Every Promise the framework returns is safe to ignore: handled before it is handed out.
    p.then(undefined, (e: unknown) => caller.log?.debug('%s failed: %s', method, String(e)));
    return p;
  }
  return caller.call(to as SendTarget, request, timeoutMs === undefined ? undefined : { timeout: timeoutMs });
}

/** The names of the call variants {@link installCallVariants} defines. */
export type CallVariantName =
  'callWithTimeout' | 'callWithPriority' | 'callImportant' | 'callPID' | 'callProcessID' | 'callAlias';

/**
 * Defines the call variants (callWithTimeout, callWithPriority, callImportant, callPID,
 * callProcessID, callAlias) on a class's prototype, each a thin form of its `call`. The class
 * takes their types from the contract it implements (see the module comment).
 */
export function installCallVariants(proto: Caller): void {
  const variants: { [K in CallVariantName]: (this: Caller, ...args: never[]) => Promise<unknown> } = {
    callWithTimeout(to: SendTarget, request: unknown, timeoutMs: number) {
      return this.call(to, request, { timeout: timeoutMs });
    },
    callWithPriority(to: SendTarget, request: unknown, priority: MessagePriority) {
      return this.call(to, request, { priority });
    },
    callImportant(to: SendTarget, request: unknown) {
      return this.call(to, request, { important: true });
    },
    callPID(to: PID, request: unknown, timeoutMs?: number) {
      return typedCall(this, 'callPID', PID, 'PID', to, request, timeoutMs);
    },
    callProcessID(to: ProcessID, request: unknown, timeoutMs?: number) {
      return typedCall(this, 'callProcessID', ProcessID, 'ProcessID', to, request, timeoutMs);
    },
    callAlias(to: Alias, request: unknown, timeoutMs?: number) {
      return typedCall(this, 'callAlias', Alias, 'Alias', to, request, timeoutMs);
    },
  };
  defineMethods(proto, variants);
}

/** The names of the spawn forms {@link installSpawnForms} defines. */
export type SpawnFormName = 'spawn' | 'spawnRegister';

/**
 * The one spawn behind the spawn forms: `self` spawns `factory` with `options` and `args`,
 * registering the child under `name` unless it is '' (`op` names the form, for errors and
 * records). Never throws: a failure is a rejected Promise.
 */
export type SpawnNamed<S> = (
  self: S,
  op: SpawnFormName,
  name: Atom | string,
  factory: ProcessFactory,
  options: ProcessOptions | undefined,
  args: unknown[],
) => Promise<PID>;

/**
 * Defines `spawn(factory, options?, ...args)` and `spawnRegister(name, factory, options?,
 * ...args)` on a class's prototype, both forms of `spawnNamed` (a class passes a function that
 * can reach its private members, from a static block). The class takes their types from the
 * contract it implements (see the module comment).
 */
export function installSpawnForms<S extends object>(proto: S, spawnNamed: SpawnNamed<S>): void {
  defineMethods(proto, {
    spawn(this: S, factory: ProcessFactory, options?: ProcessOptions, ...args: unknown[]) {
      return spawnNamed(this, 'spawn', '', factory, options, args);
    },
    spawnRegister(this: S, name: Atom | string, factory: ProcessFactory, options?: ProcessOptions, ...args: unknown[]) {
      return spawnNamed(this, 'spawnRegister', name, factory, options, args);
    },
  });
}

/** Plain methods, as a class body makes them: not enumerable, writable, configurable. */
function defineMethods(proto: object, methods: Record<string, unknown>): void {
  for (const [name, fn] of Object.entries(methods))
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false });
}

// Ergo 3.2's call variants, written once for the engine's implementers of `call` (node handle,
// process); the test kit's public TestNode and TestProcess keep theirs in their class bodies, where
// TypeDoc documents them as implementations of Node and Process (a merged interface would turn
// every member of their reference pages into an inherited one). The typed ones (CallPID, CallProcessID, CallAlias) share one
// rule: the target must be of the named kind (ErrIncorrect otherwise) and a timeout in ms is
// optional; the others are `call` with one option set.

import { ErrIncorrect } from './errors.js';
import type { CallOptions } from './options.js';
import { PID } from './pid.js';
import type { MessagePriority } from './priority.js';
import type { SendTarget } from './process.js';
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
 * merges `Pick<Node | Process, CallVariantName>` into its own type, so the signatures and their
 * docs stay those of the interface it implements.
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
  // Plain methods, as a class body makes them: not enumerable, writable, configurable.
  for (const [name, fn] of Object.entries(variants))
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true, enumerable: false });
}

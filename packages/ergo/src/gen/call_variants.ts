// Ergo 3.2's typed call variants (CallPID, CallProcessID, CallAlias) share one rule: the target
// must be of the named kind (ErrIncorrect otherwise) and a timeout in ms is optional. Every
// implementer of `call` (node handle, process, the test kit) forwards to this one function.

import { ErrIncorrect } from './errors.js';
import type { CallOptions } from './options.js';
import type { SendTarget } from './process.js';

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

// Ergo 3.2's typed call variants (CallPID, CallProcessID, CallAlias) share one rule: the target
// must be of the named kind (ErrIncorrect otherwise) and a timeout in ms is optional. Every
// implementer of `call` (node handle, process, the test kit) forwards to this one function.

import { ErrIncorrect } from './errors.js';
import type { CallOptions } from './options.js';
import type { SendTarget } from './process.js';

/** Anything with Ergo's `call`. */
export interface Caller {
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown>;
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
  if (!(to instanceof kind)) return Promise.reject(ErrIncorrect.with(`${method}: the target must be a ${kindName}`));
  return caller.call(to as SendTarget, request, timeoutMs === undefined ? undefined : { timeout: timeoutMs });
}

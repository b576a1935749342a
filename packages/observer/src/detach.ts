// Work that runs on while nobody awaits it: a session's call to another node, the hub's event
// monitor, a mux command, a trace being stopped. It goes through the core's detach() (its failure,
// or a handler's throw, logged once as `observer: <what> failed`): none of it can reach
// unhandledRejection, which would end the node's OS process. eslint.config.js forbids the bare
// shape in this package (a `.then(`, `.catch(` or `.finally(` whose result nobody keeps, or a
// `void` Promise).

import { detach as detachWork, type DetachHandlers, type Log } from 'ergo-ts';

export type { DetachHandlers };

/**
 * Runs `work` without awaiting it, as the core's `detach`, its failures logged as
 * `observer: <what> failed`. The Promise chain it makes cannot reject.
 */
export function detach<T>(
  work: Promise<T> | (() => Promise<T>),
  what: string,
  log: Pick<Log, 'warning'> | undefined,
  handlers: DetachHandlers<T> = {},
): void {
  detachWork(work, `observer: ${what}`, log, handlers);
}

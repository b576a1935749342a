// What a tool answers is JSON text: inspect messages are class instances holding PIDs, refs,
// events, atoms, bigints and Maps. The core's walk (`toJSONSafe`, the one the Observer uses too)
// turns them into JSON-safe values, identifiers in Ergo's printed forms; printed PIDs are read
// back against the node a tool addresses.

import { toJSONSafe } from 'ergo-ts';

export { parsePrintedPID as parsePID } from 'ergo-ts';

/**
 * A JSON-safe copy of `value`: identifiers (PID, ProcessID, Ref, Alias, Event) as their printed
 * forms, bigints as numbers (strings beyond 2^53), Maps as objects, Sets as arrays, bytes as
 * base64, Errors as their message, Dates as ISO strings, class instances as their own fields.
 * Functions and symbols are left out.
 */
export function toJSONValue(value: unknown, depth = 0): unknown {
  return toJSONSafe(value, undefined, depth);
}

/** `JSON.stringify(toJSONValue(value), null, 1)`: compact, still readable by a model. */
export function toJSONText(value: unknown): string {
  return JSON.stringify(toJSONValue(value), null, 1);
}

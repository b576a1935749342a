// The JSON the browser receives: inspect messages are plain objects and class instances holding
// PIDs, refs, events, atoms, bigints and Maps. The core's walk (`toJSONSafe`, the one the MCP
// tools use too) turns them into JSON-safe values, the way Go's Observer marshals them
// (identifiers in their printed forms); the printed forms are parsed back against the node a
// session observes. The Observer lets a value's own toJSON come first, as JSON.stringify does.

import { toJSONSafe, type JSONSafeOptions } from 'ergo-ts';

export { printedNodeCRC as nodeCRC, parsePrintedPID as parsePID, parsePrintedAlias as parseAlias } from 'ergo-ts';

const OWN_TO_JSON_FIRST: JSONSafeOptions = { ownToJSONFirst: true };

/**
 * Returns a JSON-safe copy of `value`: identifiers (PID, ProcessID, Ref, Alias, Event) as their
 * printed forms, bigints as numbers (strings beyond 2^53), Maps as objects, Sets as arrays, bytes
 * as base64, Errors as their message, Dates as ISO strings, class instances as their own fields.
 * Functions and symbols are left out. A value's own `toJSON` comes first (a Node Buffer is its
 * `{ type, data }`).
 */
export function toJSONValue(value: unknown, depth = 0): unknown {
  return toJSONSafe(value, OWN_TO_JSON_FIRST, depth);
}

/** `JSON.stringify(toJSONValue(value))`. */
export function toJSONString(value: unknown): string {
  return JSON.stringify(toJSONValue(value));
}

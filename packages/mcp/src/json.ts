// What a tool answers is JSON text: inspect messages are class instances holding PIDs, refs,
// events, atoms, bigints and Maps. One walk turns them into JSON-safe values (identifiers in
// Ergo's printed forms, as the Observer shows them), and printed PIDs are read back against the
// node a tool addresses.

import { Alias, PID, ProcessID, type Atom } from 'ergo-ts';

/** Deepest nesting converted; anything deeper becomes '…' (a guard against cycles). */
export const MAX_JSON_DEPTH = 32;

/**
 * A JSON-safe copy of `value`: identifiers (PID, ProcessID, Ref, Alias, Event) as their printed
 * forms, bigints as numbers (strings beyond 2^53), Maps as objects, Sets as arrays, bytes as
 * base64, Errors as their message, Dates as ISO strings, class instances as their own fields.
 * Functions and symbols are left out.
 */
export function toJSONValue(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString();
    case 'function':
    case 'symbol':
      return null;
    case 'object':
    case 'undefined': // returned above
      break;
  }
  if (depth >= MAX_JSON_DEPTH) return '…';
  const o = value as object;
  if (o instanceof Date) return o.toISOString();
  if (o instanceof Error) return o.message;
  if (o instanceof Uint8Array) return Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64');
  // Identifiers print themselves (`<CRC.0.1001>`, `Alias#<…>`); PID, Ref and Event via toJSON.
  if (o instanceof Alias || o instanceof ProcessID) return String(o);
  if (Array.isArray(o)) return o.map((v) => toJSONValue(v, depth + 1));
  if (o instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of o) out[typeof k === 'string' ? k : String(k)] = toJSONValue(v, depth + 1);
    return out;
  }
  if (o instanceof Set) return [...o].map((v) => toJSONValue(v, depth + 1));
  if (typeof (o as { toJSON?: unknown }).toJSON === 'function')
    return toJSONValue((o as { toJSON(): unknown }).toJSON(), depth + 1);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (typeof v === 'function' || typeof v === 'symbol' || v === undefined) continue;
    out[k] = toJSONValue(v, depth + 1);
  }
  return out;
}

/** `JSON.stringify(toJSONValue(value), null, 1)`: compact, still readable by a model. */
export function toJSONText(value: unknown): string {
  return JSON.stringify(toJSONValue(value), null, 1);
}

/** The 8 hex digits Ergo prints for a node name, read from a PID's printed form. */
export function nodeCRC(node: Atom): string {
  return new PID(node, 0, 0).toString().slice(1, 9);
}

const PID_FORM = /^<([0-9A-F]{8})\.(\d+)\.(\d+)>$/;

/**
 * Reads Ergo's printed PID (`<CRC.hi.lo>`) of a process on `node` (incarnation `creation`).
 * Returns null for anything else, or when the CRC names another node.
 */
export function parsePID(text: string, node: Atom, creation: number): PID | null {
  const m = PID_FORM.exec(text.trim());
  if (m === null || m[1] !== nodeCRC(node)) return null;
  const id = Number(m[2]) * 0x100000000 + Number(m[3]);
  return Number.isSafeInteger(id) ? new PID(node, id, creation) : null;
}

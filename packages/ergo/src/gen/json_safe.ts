// Framework values as JSON, and back. Inspect messages, events and state hold class instances
// with PIDs, refs, events, atoms, bigints and Maps, which JSON.stringify either rejects (bigint)
// or flattens into nothing useful (Map, PID's private fields). One walk turns any of them into
// JSON-safe values, identifiers in Ergo's printed forms as Go's Observer marshals them; the
// parsers read a printed PID or alias back against the node it names. The Observer's browser
// API and the MCP tools both speak through these, so the two print every value alike.

import { crc32Hex } from '../lib/crc32.js';
import type { Atom } from './atom.js';
import { PID } from './pid.js';
import { Alias } from './ref.js';

/** Deepest nesting {@link toJSONSafe} converts; anything deeper becomes the string '…' (a guard against cycles). */
export const JSON_SAFE_MAX_DEPTH = 32;

/** How {@link toJSONSafe} treats a value that has a `toJSON` method of its own. */
export interface JSONSafeOptions {
  /**
   * Whether an object's own `toJSON` comes before the walk's forms of errors, bytes, arrays, Maps
   * and Sets, as `JSON.stringify` has it (a Node Buffer then becomes `{ type: 'Buffer', data: […] }`,
   * not base64). Default false: those forms win, and `toJSON` serves every other object (PID, Ref,
   * Alias, Event and ProcessID print themselves through it). Dates are ISO strings either way.
   */
  ownToJSONFirst?: boolean;
}

/**
 * A JSON-safe copy of `value`: identifiers (PID, ProcessID, Ref, Alias, Event) as their printed
 * forms, bigints as numbers (strings beyond 2^53), non-finite numbers as strings, Maps as objects
 * (keys as strings), Sets as arrays, bytes as base64, Errors as their message, Dates as ISO
 * strings, class instances as their own enumerable fields; functions, symbols and undefined
 * fields are left out (null where a value must stand). Pure: it never throws on a value of the
 * framework's and never changes `value`; nesting deeper than {@link JSON_SAFE_MAX_DEPTH} is cut.
 * @param depth the nesting level `value` stands at (a caller walking part of a larger value).
 */
export function toJSONSafe(value: unknown, options?: JSONSafeOptions, depth = 0): unknown {
  return walk(value, options?.ownToJSONFirst === true, depth);
}

function walk(value: unknown, ownToJSONFirst: boolean, depth: number): unknown {
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
  if (depth >= JSON_SAFE_MAX_DEPTH) return '…';
  const o = value as object;
  if (o instanceof Date) return o.toISOString();
  if (ownToJSONFirst && hasToJSON(o)) return walk(o.toJSON(), ownToJSONFirst, depth + 1);
  if (o instanceof Error) return o.message;
  if (o instanceof Uint8Array) return base64(o);
  if (Array.isArray(o)) return o.map((v) => walk(v, ownToJSONFirst, depth + 1));
  if (o instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of o) out[typeof k === 'string' ? k : String(k)] = walk(v, ownToJSONFirst, depth + 1);
    return out;
  }
  if (o instanceof Set) return [...o].map((v) => walk(v, ownToJSONFirst, depth + 1));
  // Identifiers print themselves (`<CRC.0.1001>`, `Alias#<…>`) through their toJSON.
  if (hasToJSON(o)) return walk(o.toJSON(), ownToJSONFirst, depth + 1);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (typeof v === 'function' || typeof v === 'symbol' || v === undefined) continue;
    out[k] = walk(v, ownToJSONFirst, depth + 1);
  }
  return out;
}

function hasToJSON(o: object): o is { toJSON(): unknown } {
  return typeof (o as { toJSON?: unknown }).toJSON === 'function';
}

/** The 8 hex digits Ergo prints for a node name (its CRC-32), as in `<90A29F11.0.1001>`. */
export function printedNodeCRC(node: Atom): string {
  return crc32Hex(node);
}

const PID_FORM = /^<([0-9A-F]{8})\.(\d+)\.(\d+)>$/;
const ALIAS_FORM = /^Alias#<([0-9A-F]{8})\.(\d+)\.(\d+)\.(\d+)>$/;

/**
 * Reads Ergo's printed PID (`<CRC.hi.lo>`, white space around it ignored) of a process on `node`,
 * incarnation `creation` (the printed form does not carry it). Returns null for anything else: not
 * a string, another form, an id beyond 2^53, or a CRC that names another node.
 */
export function parsePrintedPID(text: unknown, node: Atom, creation: number): PID | null {
  if (typeof text !== 'string') return null;
  const m = PID_FORM.exec(text.trim());
  if (m === null || m[1] !== printedNodeCRC(node)) return null;
  const id = Number(m[2]) * 0x100000000 + Number(m[3]);
  return Number.isSafeInteger(id) ? new PID(node, id, creation) : null;
}

/**
 * Reads Ergo's printed alias (`Alias#<CRC.a.b.c>`) on `node`, incarnation `creation`. Returns null
 * for anything else, or when the CRC names another node.
 */
export function parsePrintedAlias(text: unknown, node: Atom, creation: number): Alias | null {
  if (typeof text !== 'string') return null;
  const m = ALIAS_FORM.exec(text.trim());
  if (m === null || m[1] !== printedNodeCRC(node)) return null;
  const ids = [Number(m[2]), Number(m[3]), Number(m[4])] as const;
  if (!ids.every((n) => Number.isSafeInteger(n))) return null;
  return new Alias(node, creation, [ids[0], ids[1], ids[2]]);
}

/** Node's Buffer where there is one (the browser has none). */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** Standard base64 of `bytes`: Node's Buffer, or btoa in a browser (same text). */
function base64(bytes: Uint8Array): string {
  if (NodeBuffer !== undefined)
    return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, Math.min(i + 0x8000, bytes.length)));
  return btoa(binary);
}

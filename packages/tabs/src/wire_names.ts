// The names a tab frame decoder meets (wire.ts): node and event names, kept as one copy of each
// however many frames carry them, so what a decoded frame leaves behind (a tab's subscription, a
// PID it was handed) shares the copy; and found again by their bytes, so a name met before costs
// no string to build (every routed frame names two or three nodes). Events likewise: one object
// per node and name, whose key the engine computes once.

import { Event } from 'ergo-ts';

/** Decoded names kept as the one copy of their text (bounded: a full table just stops adding). */
const atoms = new Map<string, string>();
const MAX_ATOMS = 4096;
/**
 * The names found by their bytes: slots (a power of two; a slot holds the last name hashed to it)
 * of SLOT_BYTES each in one buffer, made at the first name, so learning one allocates nothing.
 * Longer names are not kept there.
 */
const NAME_SLOTS = 1024;
const SLOT_BYTES = 96;
let slotBytes: Uint8Array | null = null;
const slotLength = new Uint8Array(NAME_SLOTS);
const slotText: string[] = new Array<string>(NAME_SLOTS).fill('');

function slotOf(b: Uint8Array, at: number, n: number): number {
  let h = n;
  for (let i = at; i < at + n; i++) h = Math.imul(h, 31) + b[i]!;
  return (h ^ (h >>> 15)) & (NAME_SLOTS - 1);
}

/** The name of the `n` bytes at `at` when they were decoded before (undefined: not in its slot). */
export function knownName(b: Uint8Array, at: number, n: number): string | undefined {
  if (n > SLOT_BYTES || slotBytes === null) return undefined;
  const slot = slotOf(b, at, n);
  if (slotLength[slot] !== n || n === 0) return undefined;
  const k = slotBytes;
  const from = slot * SLOT_BYTES;
  for (let i = 0; i < n; i++) if (k[from + i] !== b[at + i]) return undefined;
  return slotText[slot];
}

/** `s`, the text of the `n` bytes at `at`, as the one copy of that name, now found by its bytes. */
export function learnName(b: Uint8Array, at: number, n: number, s: string): string {
  const known = atoms.get(s);
  if (known !== undefined) s = known;
  else if (atoms.size < MAX_ATOMS) atoms.set(s, s);
  if (n > SLOT_BYTES) return s;
  const slot = slotOf(b, at, n);
  const k = (slotBytes ??= new Uint8Array(NAME_SLOTS * SLOT_BYTES));
  const from = slot * SLOT_BYTES;
  for (let i = 0; i < n; i++) k[from + i] = b[at + i]!;
  slotLength[slot] = n;
  slotText[slot] = s;
  return s;
}

/** Events decoded before, by node and name: one object each, whose key the engine computes once. */
const events = new Map<string, Map<string, Event>>();
let eventCount = 0;

export function eventOf(node: string, name: string): Event {
  let byName = events.get(node);
  const known = byName?.get(name);
  if (known !== undefined) return known;
  const e = new Event(name, node);
  // Bounded as the names are: past it, events are made afresh.
  if (eventCount < MAX_ATOMS) {
    if (byName === undefined) events.set(node, (byName = new Map()));
    byName.set(name, e);
    eventCount++;
  }
  return e;
}

// What one operation queued for a node being dialled will cost on the wire, estimated before it
// can be encoded (the encoder's caches belong to the connection that does not exist yet). The
// dial queue bounds its bytes with it, so a peer that is paused, declared down or reconnecting
// costs the sender at most the peer's buffer limit (plus one operation), as a live connection
// does. The estimate counts what dominates memory — binaries, strings, numbers, and the
// structure around them — and stops walking a huge value after a fixed number of parts (then it
// counts what it saw: cheap, never slower than the encoding it stands for).

/** Bytes counted for an operation's header (PIDs, options, the packet frame). */
export const OPERATION_OVERHEAD = 64;

/** Parts of one value walked at most. */
const MAX_PARTS = 4096;

/**
 * Estimated encoded size of the values of one operation: `OPERATION_OVERHEAD` plus each value's
 * binaries (byteLength), strings (their length in code units), numbers (9), and a few bytes of
 * framing per element.
 */
export function estimateOperation(values: readonly unknown[]): number {
  const budget = { parts: MAX_PARTS };
  let n = OPERATION_OVERHEAD;
  for (const v of values) n += estimateValue(v, budget, 0);
  return n;
}

function estimateValue(v: unknown, budget: { parts: number }, depth: number): number {
  if (--budget.parts < 0) return 0;
  switch (typeof v) {
    case 'string':
      return 2 + v.length;
    case 'number':
    case 'bigint':
      return 9;
    case 'boolean':
    case 'undefined':
      return 1;
    case 'object':
      break;
    case 'function':
    case 'symbol':
      return 1;
  }
  if (v === null) return 1;
  if (ArrayBuffer.isView(v)) return 5 + v.byteLength;
  if (v instanceof ArrayBuffer) return 5 + v.byteLength;
  // Deep nesting is refused by the encoder anyway: no need to follow it here.
  if (depth > 64) return 0;
  let n = 5;
  if (Array.isArray(v)) {
    for (const x of v) {
      n += estimateValue(x, budget, depth + 1);
      if (budget.parts < 0) break;
    }
    return n;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) {
      n += estimateValue(k, budget, depth + 1) + estimateValue(x, budget, depth + 1);
      if (budget.parts < 0) break;
    }
    return n;
  }
  for (const k in v) {
    n += 2 + k.length + estimateValue((v as Record<string, unknown>)[k], budget, depth + 1);
    if (budget.parts < 0) break;
  }
  return n;
}

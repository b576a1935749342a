// About how many bytes a value takes once stored: the workflow engine refuses a step result, an
// input or an output over its kind's `maxValueBytes` before writing it (a journal is written whole
// with each entry, so one large value makes every later write of the instance large). A walk, not
// an encoding: it stops counting once past the cap, so a huge value costs little to refuse.

/** About how many bytes `v` takes as stored (JSON-like; binary as base64), counted up to `cap`. */
export function approximateBytes(v: unknown, cap = Number.MAX_SAFE_INTEGER): number {
  let total = 0;
  const seen = new Set<object>();
  const walk = (x: unknown): void => {
    if (total > cap) return;
    switch (typeof x) {
      case 'string':
        total += x.length + 2;
        return;
      case 'number':
      case 'boolean':
        total += 8;
        return;
      case 'bigint':
        total += x.toString().length + 8;
        return;
      case 'undefined':
        total += 4;
        return;
      case 'object': {
        if (x === null) {
          total += 4;
          return;
        }
        if (seen.has(x)) return;
        seen.add(x);
        if (ArrayBuffer.isView(x)) {
          total += Math.ceil((x.byteLength * 4) / 3) + 16;
          return;
        }
        if (x instanceof Date) {
          total += 32;
          return;
        }
        if (x instanceof Map) {
          total += 16;
          for (const [k, val] of x) {
            walk(k);
            walk(val);
          }
          return;
        }
        if (x instanceof Set || Array.isArray(x)) {
          total += 2;
          for (const item of x as Iterable<unknown>) {
            total += 1;
            walk(item);
          }
          return;
        }
        total += 2;
        for (const k of Object.keys(x)) {
          total += k.length + 4;
          walk((x as Record<string, unknown>)[k]);
        }
        return;
      }
      case 'function':
      case 'symbol':
        total += 8;
    }
  };
  walk(v);
  return total;
}

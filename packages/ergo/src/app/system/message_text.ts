// A message as a short line of text for the mailbox peek and the message trace (the Observer's
// and system_inspect's). Messages are
// arbitrary values (class instances, Maps, bytes, PIDs, cycles, huge arrays): the walk stops as
// soon as the text is long enough, so a million-element array costs no more than a short one
// (the trace renders on the traced process' own path). The browser shows the text as text.

/** Characters of a message's text at most (then '…'). */
export const MESSAGE_TEXT_MAX = 400;

/** Nesting shown at most; deeper values print as '…'. */
const MAX_DEPTH = 6;

/** Thrown to end the walk once the text is long enough. */
const FULL = Symbol('full');

class TextOut {
  text = '';
  constructor(readonly max: number) {}
  add(s: string): void {
    this.text += s;
    if (this.text.length > this.max) throw FULL;
  }
}

function className(o: object): string {
  const c = (o as { constructor?: { name?: unknown } }).constructor;
  return typeof c === 'function' && typeof c.name === 'string' ? c.name : '';
}

/** Identifiers (PID, Ref, Alias, ProcessID, Event) print their Ergo forms through their own toString. */
function ownToString(o: object): boolean {
  const f = (o as { toString?: unknown }).toString;
  return typeof f === 'function' && f !== Object.prototype.toString && f !== Array.prototype.toString;
}

function walk(v: unknown, out: TextOut, depth: number, seen: Set<object>): void {
  switch (typeof v) {
    case 'string':
      out.add(JSON.stringify(v.length > out.max ? v.slice(0, out.max + 1) : v));
      return;
    case 'number':
    case 'boolean':
      out.add(String(v));
      return;
    case 'bigint':
      out.add(`${v}n`);
      return;
    case 'undefined':
      out.add('undefined');
      return;
    case 'symbol':
      out.add(v.toString());
      return;
    case 'function':
      out.add(`[function ${v.name || 'anonymous'}]`);
      return;
    case 'object':
      break;
  }
  if (v === null) {
    out.add('null');
    return;
  }
  const o = v as object;
  if (depth >= MAX_DEPTH || seen.has(o)) {
    out.add('…');
    return;
  }
  if (o instanceof Error) {
    out.add(`${o.name}(${JSON.stringify(o.message)})`);
    return;
  }
  if (o instanceof Date) {
    out.add(Number.isNaN(o.getTime()) ? 'Invalid Date' : o.toISOString());
    return;
  }
  if (ArrayBuffer.isView(o)) {
    out.add(`<${className(o)} ${o.byteLength} bytes>`);
    return;
  }
  seen.add(o);
  if (Array.isArray(o)) {
    out.add('[');
    for (let i = 0; i < o.length; i++) {
      if (i > 0) out.add(', ');
      walk(o[i], out, depth + 1, seen);
    }
    out.add(']');
  } else if (o instanceof Map) {
    out.add(`Map(${o.size}) {`);
    let first = true;
    for (const [k, x] of o) {
      out.add(first ? ' ' : ', ');
      first = false;
      walk(k, out, depth + 1, seen);
      out.add(' => ');
      walk(x, out, depth + 1, seen);
    }
    out.add(' }');
  } else if (o instanceof Set) {
    out.add(`Set(${o.size}) [`);
    let first = true;
    for (const x of o) {
      if (!first) out.add(', ');
      first = false;
      walk(x, out, depth + 1, seen);
    }
    out.add(']');
  } else if (ownToString(o) && !(Symbol.iterator in o)) {
    out.add(String(o));
  } else {
    const name = className(o);
    out.add(name === '' || name === 'Object' ? '{' : `${name} {`);
    let first = true;
    for (const k of Object.keys(o)) {
      out.add(first ? ' ' : ', ');
      first = false;
      out.add(/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
      out.add(': ');
      walk((o as Record<string, unknown>)[k], out, depth + 1, seen);
    }
    out.add(first ? '}' : ' }');
  }
  seen.delete(o);
}

/**
 * `value` as one line of at most `max` characters (then '…'): strings quoted, identifiers in
 * their Ergo forms, class instances named. Never throws (a getter that throws, a proxy: the text
 * says the value could not be shown).
 */
export function messageText(value: unknown, max = MESSAGE_TEXT_MAX): string {
  const out = new TextOut(max);
  try {
    walk(value, out, 0, new Set());
  } catch (err) {
    if (err !== FULL) return `<not printable: ${err instanceof Error ? err.message : String(err)}>`.slice(0, max);
    return `${out.text.slice(0, max)}…`;
  }
  return out.text;
}

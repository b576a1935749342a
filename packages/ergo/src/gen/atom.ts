// Atom: the string type of node, process and event names. At run time an atom is a plain JS
// string (so it compares by value and keys maps directly); the brand only documents intent.
// Where a value must travel as an EDF atom inside an `any` slot, wrap it (see net/edf).

import { crc32Hex } from '../lib/crc32.js';

declare const atomBrand: unique symbol;

/** A name: node names (`name@host`), registered process names, event names. At most 255 bytes. */
export type Atom = string & { readonly [atomBrand]?: true };

/** Maximum length of an atom in UTF-8 bytes (Ergo cannot send longer ones). */
export const ATOM_MAX_BYTES = 255;

/** Marks a string as an Atom. No copy is made. */
export function atom(name: string): Atom {
  return name as Atom;
}

/** The host part of a node name (`"a@localhost"` → `"localhost"`), or `""` without one `@`. */
export function atomHost(name: Atom): string {
  const parts = name.split('@');
  return parts.length === 2 ? parts[1]! : '';
}

/** Ergo's printed checksum of a name: 8 upper-case hex digits of CRC-32 (Ergo's table). */
export function atomCRC32(name: Atom): string {
  return crc32Hex(name);
}

/** Ergo's printed form of an atom: the name in single quotes. */
export function atomString(name: Atom): string {
  return `'${name}'`;
}

/** UTF-8 length of a string, without allocating for ASCII-only input. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

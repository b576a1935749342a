// Ref and Alias: node-unique references. A Ref correlates a call with its reply (and carries the
// call's deadline); an Alias is an extra address of a process and the identity of meta processes.
//
// The two are separate classes on purpose, sharing their logic through the functions below: a
// subclass whose base class holds a private field costs V8 about 20 ns more to construct, and
// every call makes a Ref.

import { crc32Hex } from '../lib/crc32.js';
import type { Atom } from './atom.js';

/** The three 64-bit words of a reference, as numbers (they fit: Ergo keeps them small). */
export type RefID = readonly [number, number, number];

/** What Ref and Alias share. */
interface RefFields {
  readonly node: Atom;
  readonly creation: number;
  readonly id: RefID;
}

function sameFields(a: RefFields, b: RefFields): boolean {
  return (
    a.node === b.node && a.creation === b.creation && a.id[0] === b.id[0] && a.id[1] === b.id[1] && a.id[2] === b.id[2]
  );
}

/** Joined into one flat string, as PID.key (a template keeps a tree of cons strings). */
function keyOf(prefix: string, r: RefFields): string {
  return [prefix + r.node, r.creation, `${r.id[0]}.${r.id[1]}.${r.id[2]}`].join('\u0000');
}

function stringOf(prefix: string, r: RefFields): string {
  return `${prefix}#<${crc32Hex(r.node)}.${r.id[0]}.${r.id[1]}.${r.id[2]}>`;
}

/**
 * Reference `{node, creation, id[3]}`, printed `Ref#<CRC.id0.id1.id2>`. `id[2]` holds a deadline
 * (Unix seconds) when the ref was made with one: every call ref carries now + timeout.
 */
export class Ref<T = unknown> {
  /** Phantom: the payload type of the event this token publishes (`unknown`: untyped). Never set. */
  declare readonly '~payload'?: T;
  #key: string | undefined;
  constructor(
    readonly node: Atom,
    readonly creation: number,
    readonly id: RefID,
  ) {}

  /** True if `other` has the same class, node, creation and ids. */
  equals(other: unknown): boolean {
    if (other === this) return true;
    return other instanceof Ref && other.constructor === this.constructor && sameFields(this, other);
  }

  /** A string unique to this value, suitable as a Map key (cached). */
  get key(): string {
    return (this.#key ??= keyOf('Ref', this));
  }

  toString(): string {
    return stringOf('Ref', this);
  }

  toJSON(): string {
    return this.toString();
  }

  /** The deadline (Unix seconds) stored in `id[2]`, or 0 when none was set. */
  deadline(): number {
    return this.id[2];
  }

  /** False once the deadline has passed; true when there is no deadline. */
  isAlive(nowSeconds = Math.floor(Date.now() / 1000)): boolean {
    const d = this.id[2];
    return d === 0 || nowSeconds <= d;
  }
}

/** An extra address of a process (or the identity of a meta process), printed `Alias#<...>`. */
export class Alias<P = unknown> {
  /** Phantom: the protocol the owning process speaks (`unknown`: untyped). Never set at run time. */
  declare readonly '~protocol'?: P;
  #key: string | undefined;
  constructor(
    readonly node: Atom,
    readonly creation: number,
    readonly id: RefID,
  ) {}

  /** True if `other` has the same class, node, creation and ids. */
  equals(other: unknown): boolean {
    if (other === this) return true;
    return other instanceof Alias && other.constructor === this.constructor && sameFields(this, other);
  }

  /** A string unique to this value, suitable as a Map key (cached). */
  get key(): string {
    return (this.#key ??= keyOf('Alias', this));
  }

  toString(): string {
    return stringOf('Alias', this);
  }

  toJSON(): string {
    return this.toString();
  }
}

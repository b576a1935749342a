// Ref and Alias: node-unique references. A Ref correlates a call with its reply (and carries the
// call's deadline); an Alias is an extra address of a process and the identity of meta processes.

import { crc32Hex } from '../lib/crc32.js';
import type { Atom } from './atom.js';

/** The three 64-bit words of a reference, as numbers (they fit: Ergo keeps them small). */
export type RefID = readonly [number, number, number];

abstract class RefShape {
  #key: string | undefined;
  constructor(
    readonly node: Atom,
    readonly creation: number,
    readonly id: RefID,
  ) {}

  protected abstract get prefix(): string;

  /** True if `other` has the same class, node, creation and ids. */
  equals(other: unknown): boolean {
    if (other === this) return true;
    if (!(other instanceof RefShape) || other.constructor !== this.constructor) return false;
    return (
      other.node === this.node &&
      other.creation === this.creation &&
      other.id[0] === this.id[0] &&
      other.id[1] === this.id[1] &&
      other.id[2] === this.id[2]
    );
  }

  /** A string unique to this value, suitable as a Map key (cached). */
  get key(): string {
    return (this.#key ??= `${this.prefix}${this.node}\u0000${this.creation}\u0000${this.id[0]}.${this.id[1]}.${this.id[2]}`);
  }

  toString(): string {
    return `${this.prefix}#<${crc32Hex(this.node)}.${this.id[0]}.${this.id[1]}.${this.id[2]}>`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/**
 * Reference `{node, creation, id[3]}`, printed `Ref#<CRC.id0.id1.id2>`. `id[2]` holds a deadline
 * (Unix seconds) when the ref was made with one: every call ref carries now + timeout.
 */
export class Ref extends RefShape {
  protected get prefix(): string {
    return 'Ref';
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
export class Alias extends RefShape {
  protected get prefix(): string {
    return 'Alias';
  }
}

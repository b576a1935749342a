// ProcessID: address a process by its registered name on a node.

import { crc32Hex } from '../lib/crc32.js';
import type { Atom } from './atom.js';

/**
 * `{name, node}`: the process registered under `name` on `node`. An empty `node` means the
 * local node. Printed `<CRC32(node).name>`.
 */
export class ProcessID<P = unknown> {
  /** Phantom: the protocol the named process speaks (`unknown`: untyped). Never set at run time. */
  declare readonly '~protocol'?: P;
  constructor(
    readonly name: Atom,
    readonly node: Atom = '' as Atom,
  ) {}

  /** True if `other` is a ProcessID with the same name and node. */
  equals(other: unknown): boolean {
    return other instanceof ProcessID && other.name === this.name && other.node === this.node;
  }

  /** A string unique to this value, suitable as a Map key. */
  get key(): string {
    return `N${this.node}\u0000${this.name}`;
  }

  toString(): string {
    return `<${crc32Hex(this.node)}.${this.name}>`;
  }

  toJSON(): string {
    return this.toString();
  }
}

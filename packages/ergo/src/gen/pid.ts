// PID: the address of one incarnation of one process. Compared by value; printed the way Ergo
// prints it so logs from ergo-ts and Go nodes line up.

import { crc32Hex } from '../lib/crc32.js';
import type { Atom } from './atom.js';

/**
 * Process identifier `{node, id, creation}`. `creation` is the start time (Unix seconds) of the
 * node incarnation that spawned it; the node's own core PID has id 1, spawned processes count
 * up from 1001. Immutable; compare with {@link PID.equals}, key maps with {@link PID.key}.
 */
export class PID<P = unknown> {
  /** Phantom: the protocol this process speaks (`unknown`: untyped). Never set at run time. */
  declare readonly '~protocol'?: P;
  #key: string | undefined;
  constructor(
    readonly node: Atom,
    readonly id: number,
    readonly creation: number,
  ) {}

  /** True if `other` is a PID with the same node, id and creation. */
  equals(other: unknown): boolean {
    return (
      other === this ||
      (other instanceof PID && other.id === this.id && other.node === this.node && other.creation === this.creation)
    );
  }

  /**
   * A string unique to this value, suitable as a Map key (cached). Joined, not a template: a
   * template makes a tree of cons strings (~0.3 KiB kept per key, each node and number apart);
   * `join` makes one flat string (~0.1 KiB), and hashes faster.
   */
  get key(): string {
    return (this.#key ??= ['P' + this.node, this.id, this.creation].join('\u0000'));
  }

  /** Ergo's form: `<CRC32(node).hi32.lo32>`, e.g. `<90A29F11.0.1001>`. */
  toString(): string {
    const hi = Math.floor(this.id / 0x100000000) | 0;
    const lo = this.id | 0;
    return `<${crc32Hex(this.node)}.${hi}.${lo}>`;
  }

  toJSON(): string {
    return this.toString();
  }
}

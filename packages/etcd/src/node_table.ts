// The routes of the cluster's other nodes as this registrar's watch has seen them, so that a dial
// resolves (and `nodes()` answers) without asking etcd. Without it every first dial was a read on etcd: a full mesh of N
// nodes sent N² of them at once (9,900 at 100 nodes), and a 3-member etcd sharing two cores with
// the nodes answered 353 of them too late (issue 49). A name the table does not hold is still
// asked of etcd (the watch may lag a node that has just registered), so the table only ever
// saves reads; it never answers "no such node".
//
// Consistency: the watch starts before the snapshot is read, so the snapshot (read at revision R)
// and the watch's events overlap. Every entry keeps the revision of the change that made it, and
// a change applies only when it is newer than what is held: an event the snapshot already holds
// (revision ≤ R) cannot undo it, and a snapshot that arrives late cannot overwrite a newer put or
// bring back a node whose delete the watch already delivered (a delete is held as a tombstone
// until the snapshot is in).

import type { Atom, Route } from 'ergo-ts';

/** A node's routes at `revision`, or (routes null) its delete, held until a snapshot is loaded. */
interface Entry {
  routes: readonly Route[] | null;
  revision: number;
}

/** One node of a snapshot: its name, its routes and the revision of its key's last change. */
export interface NodeTableRow {
  name: Atom;
  routes: readonly Route[];
  revision: number;
}

/**
 * The other nodes' routes, fed by the registrar's watch and by a snapshot of the node path.
 * Lifecycle: empty and unanswering → `apply` (watch events, from the watch's start) and `load`
 * (the snapshot read once the watch is up) in any order → answers `routes()` and `names()` → `invalidate()`
 * when the watch restarts (events may have been missed) → unanswering until the next `load`.
 */
export class NodeTable {
  #entries = new Map<Atom, Entry>();
  /** The revision of the loaded snapshot; -1 while none is (the table answers nothing). */
  #loadedAt = -1;

  /** Whether a snapshot is loaded (the table answers). */
  get ready(): boolean {
    return this.#loadedAt >= 0;
  }

  /** Nodes known (tombstones excluded). */
  get size(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.routes !== null) n++;
    return n;
  }

  /**
   * A change the watch delivered: node `name` put with `routes` (null: deleted, or its key no
   * longer holds usable routes) at etcd revision `revision`. Older than what is held: ignored.
   */
  apply(name: Atom, routes: readonly Route[] | null, revision: number): void {
    if (!Number.isSafeInteger(revision)) return;
    if (this.#loadedAt >= 0) {
      // The snapshot holds every change up to its revision; after it the watch's order is etcd's.
      if (revision <= this.#loadedAt) return;
      if (routes === null) this.#entries.delete(name);
      else this.#entries.set(name, { routes, revision });
      return;
    }
    const held = this.#entries.get(name);
    if (held !== undefined && held.revision >= revision) return;
    this.#entries.set(name, { routes, revision });
  }

  /**
   * The snapshot of the node path read at etcd revision `revision`: it replaces what is held,
   * except the changes the watch delivered with a later revision (a put stays, a delete removes).
   */
  load(rows: Iterable<NodeTableRow>, revision: number): void {
    if (!Number.isSafeInteger(revision) || revision < 0) return;
    const next = new Map<Atom, Entry>();
    for (const r of rows) next.set(r.name, { routes: r.routes, revision: r.revision });
    for (const [name, e] of this.#entries) {
      if (e.revision <= revision) continue;
      if (e.routes === null) next.delete(name);
      else next.set(name, e);
    }
    this.#entries = next;
    this.#loadedAt = revision;
  }

  /** The watch restarted and may have missed changes: answer nothing until the next `load`. */
  invalidate(): void {
    this.#loadedAt = -1;
  }

  /** The nodes held (tombstones excluded), or undefined when no snapshot is loaded. */
  names(): Atom[] | undefined {
    if (this.#loadedAt < 0) return undefined;
    const out: Atom[] = [];
    for (const [name, e] of this.#entries) if (e.routes !== null) out.push(name);
    return out;
  }

  /** `name`'s routes (copies), or undefined when not held or no snapshot is loaded. */
  routes(name: Atom): Route[] | undefined {
    if (this.#loadedAt < 0) return undefined;
    const e = this.#entries.get(name);
    if (e === undefined || e.routes === null) return undefined;
    return e.routes.map((r) => ({
      ...r,
      handshakeVersion: { ...r.handshakeVersion },
      protoVersion: { ...r.protoVersion },
    }));
  }
}

// How a draining node hands its entities off (`Entities.drain`, runtime.ts): it tells the other
// members it leaves, lets the activations under way finish, asks every activation to hand off
// (handle what it was sent, save, stop, release its lease), stops those still running after the
// hand-off bound, waits for every lease release, and releases its shard leases last.

import type { Log } from 'ergo-ts';

import type { Activations } from './activations.js';
import type { Leases } from './leases.js';

/** What {@link drainActivations} needs of its runtime. */
export interface DrainParts {
  readonly log: Log;
  /** How long the activations may take to hand off, in ms (`handOffTimeoutMs`). */
  readonly handOffMs: number;
  readonly activations: Activations;
  readonly leases: Leases;
  /** Tells the other members this node leaves. */
  tellLeaving(): void;
  /** The activations under way now. */
  activating(): Iterable<Promise<unknown>>;
  /** The lease releases not settled yet (the set grows and shrinks while the drain waits). */
  readonly releases: ReadonlySet<Promise<void>>;
}

/** @internal The drain of one runtime (see the file's comment). */
export async function drainActivations(p: DrainParts): Promise<void> {
  p.tellLeaving();
  // Activations under way finish first (then they are active, and hand off as the others).
  await Promise.allSettled([...p.activating()]);
  const empty = p.activations.whenEmpty();
  p.activations.handOffWhere(() => true);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), p.handOffMs);
  });
  if ((await Promise.race([empty, late])) === 'late') {
    p.log.warning(
      'entities: %d activations did not hand off in %d ms; stopping them',
      p.activations.count(),
      p.handOffMs,
    );
    p.activations.exitAll();
    await empty;
  }
  clearTimeout(timer);
  while (p.releases.size > 0) await Promise.allSettled([...p.releases]);
  // Shard leases last: every activation under them has ended.
  await p.leases.releaseShards();
}

// How a draining node hands its entities off (`Entities.drain`, runtime.ts): it tells the other
// members it leaves, lets the activations under way finish, asks every activation to hand off
// (handle what it was sent, save, stop, release its lease), stops those still running after the
// hand-off bound, waits for every lease release, and releases its shard leases last.
//
// Every wait is bounded (stop_budget.ts): a drain ends by its budget's end whatever the store and
// the activations do. Past the hand-off phase the activations still running get their shutdown
// exits; at the abandon point the runtime's store calls still waiting are refused, what still runs
// is killed, and the drain stops waiting: what did not hand off is left to its lease.

import type { Log } from 'ergo-ts';

import type { Activations } from './activations.js';
import type { Leases } from './leases.js';
import { StopBudget } from './stop_budget.js';

/** What {@link drainActivations} needs of its runtime. */
export interface DrainParts {
  readonly log: Log;
  /** The phases of this drain (stop_budget.ts). */
  readonly budget: StopBudget;
  readonly activations: Activations;
  readonly leases: Leases;
  /** Tells the other members this node leaves. */
  tellLeaving(): void;
  /** The activations under way now. */
  activating(): Iterable<Promise<unknown>>;
  /** The lease releases not settled yet (the set grows and shrinks while the drain waits). */
  readonly releases: ReadonlySet<Promise<void>>;
  /**
   * The abandon point passed with work still waiting: refuses the runtime's store calls still
   * waiting and kills the activations still running (runtime.ts). Idempotent.
   */
  abandon(why: string): void;
}

/** @internal The drain of one runtime (see the file's comment). */
export async function drainActivations(p: DrainParts): Promise<void> {
  const b = p.budget;
  p.tellLeaving();
  // Activations under way finish first (then they are active, and hand off as the others); one
  // whose store does not answer is not waited for past the hand-off phase.
  if ((await StopBudget.until(Promise.allSettled([...p.activating()]), b.handOffEnd)) === 'late')
    p.log.warning('entities: activations under way did not finish within the hand-off time; stopping without them');
  const empty = p.activations.whenEmpty();
  p.activations.handOffWhere(() => true);
  if ((await StopBudget.until(empty, b.handOffEnd)) === 'late') {
    p.log.warning(
      'entities: %d activations did not hand off in %d ms; stopping them',
      p.activations.count(),
      b.elapsed(),
    );
    p.activations.exitAll();
    if ((await StopBudget.until(empty, b.abandonAt)) === 'late') {
      const left = p.activations.count();
      abandon(p, `${left} activations still running after ${b.elapsed()} ms`);
      // Their handlers return once their store calls are refused; a handler waiting on anything
      // else was killed: it ends within the node's kill grace, not waited for here.
      await StopBudget.until(empty, b.end);
    }
  }
  if ((await StopBudget.until(settledReleases(p.releases), b.abandonAt)) === 'late') {
    abandon(p, `${p.releases.size} lease releases still waiting after ${b.elapsed()} ms`);
    await StopBudget.until(settledReleases(p.releases), b.end);
  }
  // Shard leases last: every activation under them has ended (or was abandoned to its lease).
  if ((await StopBudget.until(p.leases.releaseShards(), b.abandonAt)) === 'late')
    abandon(p, `shard lease releases still waiting after ${b.elapsed()} ms`);
}

/** Settles once no release is left (the set grows while hand-offs end). */
async function settledReleases(releases: ReadonlySet<Promise<void>>): Promise<void> {
  while (releases.size > 0) await Promise.allSettled([...releases]);
}

function abandon(p: DrainParts, why: string): void {
  p.log.warning(
    'entities: stopping: %s; abandoning them (the store calls still waiting are refused, what still runs is killed): what did not hand off is left to its lease',
    why,
  );
  p.abandon(why);
}

// The event-sourced rows of the entities suite (suites/entities.ts runs them on each store):
//
// - events persisted/s, one entity: sequential deposits to one ledger (net/entities_kind.ts), each
//   persisting one event before its reply (one store write each; every 100th carries a snapshot);
// - events persisted/s, many entities: the same with WINDOW deposits in flight over KEYS ledgers;
// - activation with 1,000 events and a snapshot: keys whose journal holds 1,000 events, the latest
//   snapshot at event 950 (written through the store beforehand, not timed), activated one at a
//   time by a call: the lease, the snapshot, and the 50 events after it folded.
//
// Effect Cluster has no event-sourced entities: these rows have no peer column.

import { BenchLedger } from '../net/entities_kind.js';
import { entity, type Entities, type EntityStore } from '@ergo-ts/entities';

import { rate, reportSamples, runRounds } from './measure.js';
import type { Report, SuiteContext } from './types.js';

/** What the rows need of the suite's set-up (one node, one store, the bench kinds). */
export interface JournalSetup {
  store: EntityStore;
  entities: Entities;
}

/** Where the rows go and how the suite's other rows are shaped. */
export interface JournalRows {
  group: string;
  label: string;
  window: number;
  keys: number;
  timeout: number;
}

/** Events in a seeded journal, and the version its latest snapshot is at. */
const SEEDED = 1000;
const SNAPSHOT_AT = 950;
/** Seeded keys activated per round. */
const SEEDED_PER_ROUND = 3;

/** Writes a ledger journal of {@link SEEDED} events with its latest snapshot at {@link SNAPSHOT_AT}. */
async function seed(store: EntityStore, key: string): Promise<void> {
  const id = { kind: BenchLedger.name, key };
  const lease = await store.acquire({ ...id, owner: 'bench-seed', ttlMs: 600_000 });
  if (!lease.acquired) throw new Error(`seed ${key}: lease held by ${lease.holder}`);
  const events = (n: number) => Array.from({ length: n }, () => ({ deposited: 1 }));
  const meta = (n: number) => Array.from({ length: n }, () => ({ type: 'deposited', schemaVersion: 1 }));
  await store.write({
    ...id,
    token: lease.token,
    expectedVersion: 0,
    events: events(SNAPSHOT_AT),
    eventMeta: meta(SNAPSHOT_AT),
    state: SNAPSHOT_AT,
  });
  const tail = SEEDED - SNAPSHOT_AT;
  await store.write({
    ...id,
    token: lease.token,
    expectedVersion: SNAPSHOT_AT,
    events: events(tail),
    eventMeta: meta(tail),
  });
  await store.release(id, lease.token);
}

/** Measures and reports the event-sourced rows on the setup's store. */
export async function measureJournal(report: Report, ctx: SuiteContext, s: JournalSetup, r: JournalRows) {
  const n = ctx.quick ? 200 : 1000;
  const one = entity(BenchLedger, 'es-one');
  await s.entities.call(one, 'balance');
  const single = await runRounds(ctx, async () => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await s.entities.call(one, { deposit: 1 });
    return rate(n, performance.now() - t0);
  });
  reportSamples(
    report,
    {
      group: r.group,
      name: `events persisted, one entity (${r.label})`,
      unit: 'events/s',
      note: `${n} sequential deposits, one event each, stored before the reply; a snapshot every 100 events`,
    },
    single,
  );

  const total = ctx.quick ? 1000 : 4000;
  const many = await runRounds(ctx, async () => {
    const t0 = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        await s.entities.call(entity(BenchLedger, `es-many${i % r.keys}`), { deposit: 1 }, { timeout: r.timeout });
      }
    };
    await Promise.all(Array.from({ length: r.window }, lane));
    return rate(total, performance.now() - t0);
  });
  reportSamples(
    report,
    {
      group: r.group,
      name: `events persisted, ${r.keys} entities (${r.label})`,
      unit: 'events/s',
      note: `${total} deposits per round, ${r.window} in flight over ${r.keys} ledgers, one event each`,
    },
    many,
  );

  let seeded = 0;
  const acts = await runRounds(ctx, async () => {
    const keys = Array.from({ length: SEEDED_PER_ROUND }, () => `es-1k-${++seeded}`);
    await Promise.all(keys.map((k) => seed(s.store, k)));
    const t0 = performance.now();
    for (const k of keys) {
      const balance = await s.entities.call(entity(BenchLedger, k), 'balance');
      if (balance !== SEEDED) throw new Error(`ledger ${k}: balance ${balance}, want ${SEEDED}`);
    }
    return rate(keys.length, performance.now() - t0);
  });
  reportSamples(
    report,
    {
      group: r.group,
      name: `activation with ${SEEDED} events and a snapshot (${r.label})`,
      unit: 'activations/s',
      note: `${SEEDED_PER_ROUND} keys per round, one at a time: the lease, the snapshot at event ${SNAPSHOT_AT}, ${SEEDED - SNAPSHOT_AT} events folded`,
    },
    acts,
  );
}

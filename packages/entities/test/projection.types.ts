// Compile-time checks of the projection API (this file is type-checked by the build, never run):
// a projection takes exactly one of `store` and `cluster`; a handler sees the kind's events; the
// exactly-once mode takes a pg pool and a batch handler with a transaction, and neither mixes
// with the at-least-once mode's options.

import type { Node } from 'ergo-ts';
import type pg from 'pg';

import { startExactlyOnceProjection, startProjection, type Entities, type EntityStore } from '../src/index.js';
import { Tally } from './projection_kinds.js';

export async function typed(node: Node, store: EntityStore, entities: Entities, pool: pg.Pool): Promise<void> {
  await startProjection(node, { name: 'a', store, kind: Tally, handler: (e) => e.event.n + 1 });
  await startProjection(node, { name: 'a', cluster: entities, kind: Tally, handler: (e) => e.event.type === 'added' });
  // @ts-expect-error an event field the kind does not have
  await startProjection(node, { name: 'a', store, kind: Tally, handler: (e) => e.event.qty });
  // @ts-expect-error both store and cluster
  await startProjection(node, { name: 'a', store, cluster: entities, kind: Tally, handler: () => 1 });
  // @ts-expect-error neither store nor cluster
  await startProjection(node, { name: 'a', kind: Tally, handler: () => 1 });
  // @ts-expect-error a batch handler belongs to the exactly-once mode
  await startProjection(node, { name: 'a', store, kind: Tally, handler: () => 1, handleBatch: async () => 1 });

  await startExactlyOnceProjection(node, {
    name: 'b',
    cluster: entities,
    kind: Tally,
    pool,
    handleBatch: async (events, tx) => {
      for (const e of events) await tx.query('INSERT INTO t VALUES ($1)', [e.event.n]);
    },
  });
  // @ts-expect-error no pool
  await startExactlyOnceProjection(node, { name: 'b', cluster: entities, kind: Tally, handleBatch: async () => 1 });
  await startExactlyOnceProjection(node, {
    name: 'b',
    cluster: entities,
    kind: Tally,
    pool,
    // @ts-expect-error the batch handler gets events, not one event
    handleBatch: async (e) => e.event.n,
  });
  // @ts-expect-error a per-event handler belongs to the at-least-once mode
  await startExactlyOnceProjection(node, { name: 'b', cluster: entities, kind: Tally, pool, handler: () => 1 });
  await startExactlyOnceProjection(node, {
    name: 'b',
    cluster: entities,
    kind: Tally,
    pool,
    // @ts-expect-error the batch handler must return a Promise (it runs inside the transaction)
    handleBatch: () => 1,
  });
}

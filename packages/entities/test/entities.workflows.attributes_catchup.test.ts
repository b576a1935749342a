// A run's search attributes around its catch-up with the journal (workflow/model/attributes.ts):
// what a replay sets is kept until the run catches up, then written once; a value set after the
// catch-up is written at once, even while later journal entries are still being replayed (an
// operation past the journal can come before the last replayed one). The fault checker once saw
// `taken` 1 on an instance that had taken 2 updates: the second value, set by the replay after an
// early catch-up, was kept for a catch-up that never came. The record is the run's host's: here a
// plain object the commits apply to, in order, as the commit queue does.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { RunAttributes, type AttributeHost } from '../src/workflow/model/attributes.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';

/** A host whose commits apply to one record in order; `commits` counts them. */
function hostOf(initial: Record<string, number>): AttributeHost & { rec: WorkflowRecord; commits: number } {
  const h = {
    rec: { attributes: initial } as unknown as WorkflowRecord,
    commits: 0,
    spec: { name: 'wf-attr', attributes: { taken: 'number' } } as const,
    commit(mutate: (rec: WorkflowRecord) => WorkflowRecord): Promise<void> {
      h.commits++;
      h.rec = mutate(h.rec);
      return Promise.resolve();
    },
  };
  return h;
}

test('values a replay sets are written once at its catch-up, not before', async () => {
  const h = hostOf({ taken: 0 });
  const a = new RunAttributes(h.rec.attributes);
  await a.set(h, { taken: 1 }, false, undefined, true);
  assert.equal(h.commits, 0, 'nothing written while replaying');
  a.caughtUp(h);
  assert.equal(h.rec.attributes?.['taken'], 1);
  assert.equal(h.commits, 1);
});

test('a value set after the catch-up is written even while journal entries are still replayed', async () => {
  const h = hostOf({ taken: 1 });
  const a = new RunAttributes(h.rec.attributes);
  await a.set(h, { taken: 1 }, false, undefined, true); // the first update's, replayed
  a.caughtUp(h); // an operation past the journal came first (nothing to write: 1 is stored)
  await a.set(h, { taken: 2 }, false, undefined, true); // the second update's, its step still replayed
  assert.equal(h.rec.attributes?.['taken'], 2, 'the value set after the catch-up is written');
});

test('a replay that never catches up writes nothing', async () => {
  const h = hostOf({ taken: 3 });
  const a = new RunAttributes(h.rec.attributes);
  await a.set(h, { taken: 1 }, false, undefined, true);
  assert.equal(h.commits, 0);
  assert.equal(h.rec.attributes?.['taken'], 3);
});

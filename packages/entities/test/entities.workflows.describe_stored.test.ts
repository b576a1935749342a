// `workflows.describeStored(kind, id)`: an instance read from its record in the store, without
// asking its owner — the same history `describe()` gives while a member runs it, and an answer once
// every member stopped (the store outlives them), as Temporal's server answers a history read with
// no worker running. On a real runtime over SQLite.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';

import { defineWorkflow, SqliteStore, startEntities } from '../src/index.js';

const WfStored = defineWorkflow('wfstored', async (ctx) => {
  await ctx.step('first', () => 1);
  await ctx.sleep(3_600_000);
  return 'done';
});

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-stored-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

test('describeStored reads the record without its owner: the same history while it runs, an answer once no member runs', async (t) => {
  const store = SqliteStore.open(join(dir, 'stored.db'), { synchronous: 'normal' });
  const node = await startNode(`wfstored${process.pid}@localhost`, { log: { level: 'error' } });
  const entities = await startEntities(node, { store, kinds: [WfStored], reminders: { pollMs: 50 } });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  const h = await entities.workflows.start(WfStored, 's1', undefined);
  await eventually(async () => (await h.describe()).timers.length === 1, 'the sleep is journaled');
  const live = await h.describe();
  const stored = await entities.workflows.describeStored(WfStored, 's1');
  assert.deepEqual(stored.history, live.history, 'the same journal');
  assert.equal(stored.status, 'running');
  assert.equal(live.active, true);
  assert.equal(stored.active, false, 'the owner was not asked');

  await entities.stop();
  await assert.rejects(h.describe(), 'the owner is gone');
  // The stopped runtime's client still reads the store: by the kind, or by its name.
  const after = await entities.workflows.describeStored('wfstored', 's1');
  assert.deepEqual(
    after.history.map((e) => `${e.t} ${e.n}`),
    ['step first', 'sleep '],
  );
  assert.equal(after.timers.length, 1, 'the sleep still pending');
  await assert.rejects(entities.workflows.describeStored(WfStored, 'never'), code('ERR_WORKFLOW_NOT_FOUND'));
  await assert.rejects(entities.workflows.describeStored(42 as never, 's1'), code('ERR_WORKFLOW_INCORRECT'));
});

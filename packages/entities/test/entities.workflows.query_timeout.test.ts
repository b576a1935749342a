// A query handler that never settles (issue 79): the caller waited its whole call timeout and
// got ERR_ENTITY_UNAVAILABLE saying the owner node was "paused, overloaded or cut off". The
// instance now answers ERR_WORKFLOW_TIMEOUT naming the query and its handler before the caller's
// wait ends; the instance goes on (its other query answers, it takes a signal).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { schema, startNode } from 'ergo-ts';

import { MemoryStore, defineWorkflow, startEntities } from '../src/index.js';

const watch = new UnhandledWatch('workflow query timeout');
test.before(() => watch.start());
test.after(() => watch.stop());

const Stuck = defineWorkflow(
  'wf-query-stuck',
  async (ctx) => {
    // Typed as synchronous; JavaScript (or a cast) can still hand back a Promise that never settles.
    ctx.onQuery('never', (() => new Promise<string>(() => undefined)) as unknown as () => string);
    ctx.onQuery('state', () => 'waiting');
    return (await ctx.signal('go')).v;
  },
  {
    signals: { go: schema.object({ v: schema.number() }) },
    queries: { never: schema.string(), state: schema.string() },
  },
);

test('a query whose handler never settles: ERR_WORKFLOW_TIMEOUT naming it, not a paused owner', async (t) => {
  const node = await startNode(`wfquerystuck_${process.pid}@localhost`, { log: { level: 'error' } });
  const entities = await startEntities(node, { store: new MemoryStore(), kinds: [Stuck] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
  });
  const h = await entities.workflows.start(Stuck, 'q1', undefined);
  await assert.rejects(h.query('never', undefined, { timeout: 1500 }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_WORKFLOW_TIMEOUT', err.message);
    assert.match(err.message, /query never of wf-query-stuck\/q1: its handler did not settle within \d+ ms/);
    assert.doesNotMatch(err.message, /paused/);
    return true;
  });
  // Without a timeout of its own: the default call timeout's wait, answered within it.
  await assert.rejects(h.query('never'), { code: 'ERR_WORKFLOW_TIMEOUT' });
  assert.equal(await h.query('state'), 'waiting');
  assert.equal(await h.signal('go', { v: 3 }), 'accepted');
  assert.equal(await h.result(), 3);
});

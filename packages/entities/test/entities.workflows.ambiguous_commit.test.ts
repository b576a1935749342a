// A workflow step's journal write whose PostgreSQL connection dies mid-commit (store/ambiguous_commit.ts),
// on a real server through a TCP proxy that drops the connection (pg_drop_proxy.ts): before the
// write reaches the server (it did not land) and right after the server committed it (it landed,
// the reply never came). Either way the store decides the write, the instance goes on in the same
// activation, and no step runs twice for that reason: before the fix, the unsent write ended the
// activation and the next one ran the step again. No server here: the file skips with the reason.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch, postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';

import { PostgresStore, defineWorkflow, startEntities } from '../src/index.js';
import { DropProxy, type DropMode } from './pg_drop_proxy.js';

/** How many times each instance's `charge` step ran. */
const charges = new Map<string, number>();

const Pay = defineWorkflow('ambiguous-pay', async (ctx, _input: null) => {
  const id = ctx.id;
  // Its result is the marker the proxy drops the journal write by.
  const charged = await ctx.step('charge', () => {
    charges.set(id, (charges.get(id) ?? 0) + 1);
    return `charged-${id}`;
  });
  await ctx.step('ship', () => 'shipped');
  return charged;
});

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('a workflow step whose journal write’s outcome is unknown', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  const proxy = await DropProxy.start({ host: server.host, port: server.port });
  const watch = new UnhandledWatch('a workflow step whose journal write’s outcome is unknown');
  before(() => watch.start());
  after(async () => {
    await proxy.close();
    await server.stop();
    watch.stop();
  });

  for (const mode of ['before', 'after'] as DropMode[]) {
    test(`the step's journal write dropped ${mode} the server's COMMIT: decided, the instance completes, the step ran once`, async (t) => {
      const store = await PostgresStore.open(proxy.through(server.url), { tablePrefix: `wfamb_${mode}_` });
      t.after(() => store.close());
      const node = await startNode(`wfamb_${mode}_${process.pid}@localhost`, { log: { level: 'error' } });
      t.after(() => node.stop());
      const entities = await startEntities(node, { store, kinds: [Pay] });
      t.after(() => entities.stop());
      const id = `order-${mode}`;
      const dropped = proxy.arm(`charged-${id}`, mode);
      const h = await entities.workflows.start(Pay, id, null);
      await dropped;
      assert.equal(await h.result(), `charged-${id}`);
      assert.equal(charges.get(id), 1, 'the step ran once');
      const d = await h.describe();
      assert.equal(d.runs, 1, 'one body run: the activation did not end');
    });
  }
}

// One member of the durable order cluster in a child OS process, driven by durable_order.test.ts
// over IPC. Environment: ORDER_NAME (node name), ORDER_REGISTRAR (the embedded registrar's port),
// ORDER_MEMBERS (comma-separated node names), ORDER_DB (the SQLite file every member shares: they
// run on one host). It reports `{ kind: 'ready' }` and
// answers `{ id, cmd, key, ... }` with `{ id, ok }` or `{ id, err, code }`.

import { startNode } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import { SqliteStore, entity, startEntities } from '@ergo-ts/entities';

import { orderKind } from './durable_order.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`durable_order_node: ${k} is not set`);
  return v;
};

const store = SqliteStore.open(env('ORDER_DB'));
const node = await startNode(env('ORDER_NAME'), {
  log: { level: 'warning' },
  network: {
    cookie: 'durable-order',
    acceptors: [{ port: 0 }],
    registrar: createEmbeddedRegistrar({ port: Number(env('ORDER_REGISTRAR')), retryInterval: 200 }),
  },
});
const Order = orderKind(0);
const entities = await startEntities(node, {
  store,
  kinds: [Order],
  members: env('ORDER_MEMBERS').split(','),
  leaseTtlMs: 1500,
  renewIntervalMs: 300,
  probeIntervalMs: 100,
  reminders: { pollMs: 200 },
});

interface Command {
  id: number;
  cmd: 'place' | 'pay' | 'ship' | 'status' | 'members' | 'stop';
  key?: string;
  value?: string;
  msgId?: string;
}

async function run(c: Command): Promise<unknown> {
  const to = entity(Order, c.key ?? '-');
  switch (c.cmd) {
    case 'place':
      return entities.sendDurable(to, { place: Number(c.value) }, c.msgId!, { timeout: 20_000 });
    case 'pay':
      return entities.sendDurable(to, { pay: c.value! }, c.msgId!, { timeout: 20_000 });
    case 'ship':
      return entities.sendDurable(to, { ship: c.value! }, c.msgId!, { timeout: 20_000 });
    case 'status':
      return entities.call(to, 'status', { timeout: 20_000 });
    case 'members':
      return entities.members();
    case 'stop':
      await entities.stop();
      await node.stop();
      await store.close();
      setImmediate(() => process.disconnect());
      return 'stopped';
  }
}

process.on('message', (c: Command) => {
  run(c).then(
    (ok) => process.connected && process.send!({ id: c.id, ok }),
    (e: unknown) =>
      process.connected &&
      process.send!({ id: c.id, err: String((e as Error)?.message ?? e), code: (e as { code?: unknown })?.code }),
  );
});
process.send!({ kind: 'ready' });

// A node with the entities runtime in a child OS process, driven over IPC by the distributed
// tests (entities.dist.test.ts). Environment: ENT_NAME (node name), ENT_REGISTRAR (the embedded
// registrar's port), ENT_MEMBERS (comma-separated node names), ENT_DB (the SQLite file, shared by
// every node of the test: they run on one host; or a postgres:// URL, with ENT_PREFIX its tables), ENT_LEASE_MS, ENT_RENEW_MS, ENT_PASSIVATE_MS.
// It reports `{ kind: 'ready' }`, then every runtime event as `{ kind: 'event', event }`, and
// answers `{ id, cmd, ... }` with `{ id, ok }` or `{ id, err, code }`.

import diagnostics from 'node:diagnostics_channel';

import { ProcessID, startNode, type Atom } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { ENTITIES_CHANNEL, entity, startEntities } from '../src/index.js';
import { counterKind } from './counter.js';
import { openStore } from './dist_helpers.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`entity_node: ${k} is not set`);
  return v;
};

const send = (m: unknown): void => {
  if (process.connected) process.send!(m);
};

diagnostics.subscribe(ENTITIES_CHANNEL, (event) => send({ kind: 'event', event }));

const store = await openStore(env('ENT_DB'), process.env.ENT_PREFIX || undefined);
const node = await startNode(env('ENT_NAME'), {
  log: { level: 'warning' },
  network: {
    cookie: 'entities-dist',
    acceptors: [{ port: 0 }],
    registrar: createEmbeddedRegistrar({ port: Number(env('ENT_REGISTRAR')), retryInterval: 200 }),
  },
});
const kind = counterKind(Number(env('ENT_PASSIVATE_MS')));
const entities = await startEntities(node, {
  store,
  kinds: [kind],
  members: env('ENT_MEMBERS').split(','),
  leaseTtlMs: Number(env('ENT_LEASE_MS')),
  renewIntervalMs: Number(env('ENT_RENEW_MS')),
  probeIntervalMs: 100,
});

interface Command {
  id: number;
  cmd: 'call' | 'durable' | 'members' | 'local' | 'stop';
  key?: string;
  req?: unknown;
  msgId?: string;
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'call':
      return entities.call(entity(kind, c.key!), c.req as 'get', { timeout: 20_000 });
    case 'durable':
      return entities.sendDurable(entity(kind, c.key!), c.req as { add: number }, c.msgId!, { timeout: 20_000 });
    case 'members':
      return entities.members();
    case 'local':
      // Straight to this node's activation, bypassing routing (what a stale owner still serves).
      return node.call(new ProcessID(`~entity/counter/${c.key!}` as Atom, node.name), c.req, { timeout: 10_000 });
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
    (ok) => send({ id: c.id, ok }),
    (e: unknown) => send({ id: c.id, err: String((e as Error)?.message ?? e), code: (e as { code?: unknown })?.code }),
  );
});
send({ kind: 'ready' });

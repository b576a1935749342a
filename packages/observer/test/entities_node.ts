// A node running @ergo-ts/entities in a child OS process, for the Observer's entities browser
// test (entities.test.ts): an `account` kind whose state is { owner, balance, note }, a SQLite
// store shared by the test's nodes (one host), the embedded registrar on the test's port.
// Environment: ENT_NAME, ENT_REGISTRAR (port), ENT_MEMBERS (comma-separated), ENT_DB (SQLite
// file), ENT_COOKIE, ENT_STATE ('false': inspectState false). It reports `{ kind: 'ready' }`
// and answers `{ id, cmd: 'set' | 'members' | 'stop', key?, balance? }` with `{ id, ok }` or
// `{ id, err }`.

import { defineProtocol, schema, startNode, type Atom } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import { Entity, SqliteStore, defineEntity, entity, startEntities } from '@ergo-ts/entities';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`entities_node: ${k} is not set`);
  return v;
};

const send = (m: unknown): void => {
  if (process.connected) process.send!(m);
};

/** The protocol of the test's accounts. */
export const AccountProtocol = defineProtocol('account', {
  messages: { note: schema.object({ note: schema.string() }) },
  calls: {
    set: { request: schema.object({ balance: schema.integer() }), reply: schema.number() },
    get: { request: schema.literal('get'), reply: schema.number() },
  },
});

/** An account's state: what the Observer's entity page shows. */
export interface AccountState {
  owner: string;
  balance: number;
  note: string;
}

class AccountEntity extends Entity<typeof AccountProtocol, AccountState> {
  override handleMessage(m: { note: string }): void {
    this.state = { ...this.state, note: m.note };
  }
  override handleCall(req: 'get' | { balance: number }): number {
    if (req === 'get') return this.state.balance;
    this.state = { ...this.state, balance: req.balance };
    return req.balance;
  }
}

const Account = defineEntity('account', {
  protocol: AccountProtocol,
  entity: AccountEntity,
  initialState: (key: string): AccountState => ({ owner: key, balance: 0, note: '<img src=x onerror=alert(1)>' }),
  passivateAfterMs: 0,
});

const store = SqliteStore.open(env('ENT_DB'));
const node = await startNode(env('ENT_NAME') as Atom, {
  log: { level: 'warning' },
  network: {
    cookie: env('ENT_COOKIE'),
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEmbeddedRegistrar({ port: Number(env('ENT_REGISTRAR')), retryInterval: 200 }),
  },
});
const entities = await startEntities(node, {
  store,
  kinds: [Account],
  members: env('ENT_MEMBERS').split(','),
  shards: 32,
  probeIntervalMs: 100,
  inspectState: process.env.ENT_STATE !== 'false',
});

interface Command {
  id: number;
  cmd: 'set' | 'members' | 'stop';
  key?: string;
  balance?: number;
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'set':
      return entities.call(entity(Account, c.key!), { balance: c.balance! }, { timeout: 20_000 });
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
    (ok) => send({ id: c.id, ok }),
    (e: unknown) => send({ id: c.id, err: String((e as Error)?.message ?? e) }),
  );
});
send({ kind: 'ready' });

// A node running @ergo-ts/entities in a child OS process, for the Observer's entities browser
// test (entities.test.ts): an `account` kind whose state is { owner, balance, note } and which
// schedules reminders on command, an event-sourced `ledger` kind (deposits as events), a SQLite
// store shared by the test's nodes (one host), the embedded registrar on the test's port.
// Environment: ENT_NAME, ENT_REGISTRAR (port), ENT_MEMBERS (comma-separated), ENT_DB (SQLite
// file), ENT_COOKIE, ENT_STATE ('false': inspectState false). It reports `{ kind: 'ready' }`
// and runs a projection of the ledger (`ledger-totals`, started with the cluster: one member runs it)
// and answers `{ id, cmd: 'set' | 'remind' | 'deposit' | 'members' | 'projection' | 'stop', key?, balance?,
// name?, everyMs?, amount? }` with `{ id, ok }` or `{ id, err }`.

import { defineProtocol, schema, startNode, type Atom } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import {
  EventSourcedEntity,
  ReminderEntity,
  SqliteStore,
  defineEntity,
  defineEventSourcedEntity,
  entity,
  startEntities,
  startProjection,
} from '@ergo-ts/entities';

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
    remind: { request: schema.object({ remind: schema.string(), everyMs: schema.integer() }), reply: schema.boolean() },
  },
});

/** The account's reminders: a periodic ping with no payload to speak of. */
const AccountReminders = { ping: schema.object({ n: schema.integer() }) };

/** An account's state: what the Observer's entity page shows. */
export interface AccountState {
  owner: string;
  balance: number;
  note: string;
}

class AccountEntity extends ReminderEntity<typeof AccountProtocol, AccountState, typeof AccountReminders> {
  override handleMessage(m: { note: string }): void {
    this.state = { ...this.state, note: m.note };
  }
  override async handleCall(
    req: 'get' | { balance: number } | { remind: string; everyMs: number },
  ): Promise<number | boolean> {
    if (req === 'get') return this.state.balance;
    if ('remind' in req) {
      await this.remind(req.remind as 'ping', { everyMs: req.everyMs }, { n: 1 });
      return true;
    }
    this.state = { ...this.state, balance: req.balance };
    return req.balance;
  }
  override handleReminder(): void {}
}

const Account = defineEntity('account', {
  protocol: AccountProtocol,
  entity: AccountEntity,
  initialState: (key: string): AccountState => ({ owner: key, balance: 0, note: '<img src=x onerror=alert(1)>' }),
  passivateAfterMs: 0,
  reminders: AccountReminders,
});

const LedgerProtocol = defineProtocol('ledger', {
  messages: {},
  calls: { deposit: { request: schema.object({ deposit: schema.integer() }), reply: schema.number() } },
});
const LedgerEvents = {
  deposited: schema.object({ type: schema.literal('deposited'), amount: schema.integer() }),
};

class LedgerEntity extends EventSourcedEntity<typeof LedgerProtocol, { total: number }, typeof LedgerEvents> {
  override async handleCall(req: { deposit: number }): Promise<number> {
    await this.persist({ type: 'deposited', amount: req.deposit });
    return this.state.total;
  }
}

const Ledger = defineEventSourcedEntity('ledger', {
  protocol: LedgerProtocol,
  events: LedgerEvents,
  entity: LedgerEntity,
  initialState: () => ({ total: 0 }),
  applyEvent: (state, event) => ({ total: state.total + event.amount }),
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
  kinds: [Account, Ledger],
  members: env('ENT_MEMBERS').split(','),
  shards: 32,
  probeIntervalMs: 100,
  inspectState: process.env.ENT_STATE !== 'false',
});
// The ledger's projection, started on every member: one runs it, the other stands by.
const projection = await startProjection(node, {
  name: 'ledger-totals',
  cluster: entities,
  kind: Ledger,
  pollIntervalMs: 50,
  standbyIntervalMs: 100,
  handler: () => undefined,
});

interface Command {
  id: number;
  cmd: 'set' | 'remind' | 'deposit' | 'members' | 'projection' | 'stop';
  key?: string;
  balance?: number;
  name?: string;
  everyMs?: number;
  amount?: number;
}

async function run(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'set':
      return entities.call(entity(Account, c.key!), { balance: c.balance! }, { timeout: 20_000 });
    case 'remind':
      return entities.call(entity(Account, c.key!), { remind: c.name!, everyMs: c.everyMs! }, { timeout: 20_000 });
    case 'deposit':
      return entities.call(entity(Ledger, c.key!), { deposit: c.amount! }, { timeout: 20_000 });
    case 'members':
      return entities.members();
    case 'projection':
      return projection.stats();
    case 'stop':
      await projection.stop();
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

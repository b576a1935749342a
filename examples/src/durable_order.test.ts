// The durable order (durable_order.ts). On one node: paid and shipped, a shipment before the
// payment postponed until paid, no payment cancelling the order never before its timeout, and a
// restart mid-timeout keeping the remaining time. Across separate OS processes sharing one SQLite
// file (durable_order_node.ts): the owner of an order is killed (-9) at each step of its life, and
// each order still finishes exactly once, its payment timeout honoured.

import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startNode } from 'ergo-ts';
import { ENTITIES_DEFAULTS, SqliteStore, entity, ownerOfShard, shardOf, startEntities } from '@ergo-ts/entities';
import { IpcCommands, eventually, freeTcpUdpPort, ipcMessage, isKind } from '@ergo-ts/test-support';

import { orderKind, type OrderData, type OrderState } from './durable_order.js';

const dir = mkdtempSync(join(tmpdir(), 'durable-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Status = { state: OrderState; data: OrderData };

test('durable order on one node: paid and shipped, a shipment postponed until paid, cancelled at its timeout', async (t) => {
  const path = join(dir, 'one.db');
  const WINDOW = 600;
  const start = async (name: string) => {
    const store = SqliteStore.open(path);
    const node = await startNode(`${name}_${process.pid}@localhost`, { log: { level: 'warning' } });
    const Order = orderKind(50);
    const entities = await startEntities(node, { store, kinds: [Order], reminders: { pollMs: 100 } });
    const stop = async () => {
      await entities.stop();
      await node.stop();
      await store.close();
    };
    return { entities, Order, stop };
  };
  const first = await start('order1');
  let stopped = false;
  t.after(async () => {
    if (!stopped) await first.stop();
  });
  const { entities, Order } = first;
  const status = (key: string) => entities.call(entity(Order, key), 'status') as Promise<Status>;

  const place = (key: string, windowMs: number) =>
    entities.sendDurable(entity(Order, key), { place: windowMs }, `${key}-place`);
  for (const key of ['o1', 'o2']) assert.equal(await place(key, 600_000), 'accepted');
  assert.equal(await entities.sendDurable(entity(Order, 'o1'), { pay: 'card-1' }, 'o1-pay'), 'accepted');
  assert.equal(await entities.sendDurable(entity(Order, 'o1'), { ship: 'track-1' }, 'o1-ship'), 'accepted');
  // Shipped before paid: kept until the payment came.
  assert.equal(await entities.sendDurable(entity(Order, 'o2'), { ship: 'track-2' }, 'o2-ship'), 'accepted');
  assert.equal((await status('o2')).state, 'new');
  assert.equal(await entities.sendDurable(entity(Order, 'o2'), { pay: 'card-2' }, 'o2-pay'), 'accepted');
  // Never paid: cancelled by its state timeout, a durable reminder; o4 is restarted mid-timeout.
  for (const key of ['o3', 'o4']) assert.equal(await place(key, WINDOW), 'accepted');
  const o3 = await status('o3');
  const o4 = await status('o4');
  await first.stop();
  stopped = true;
  const second = await start('order2');
  t.after(() => second.stop());
  const status2 = (key: string) => second.entities.call(entity(second.Order, key), 'status') as Promise<Status>;
  for (const key of ['o1', 'o2'])
    assert.deepEqual(
      (
        await eventually(
          async () => ((await status2(key)).state === 'shipped' ? status2(key) : undefined),
          `${key} shipped`,
        )
      ).data.history,
      ['new', 'paid', 'shipped'],
    );
  for (const [key, created] of [
    ['o3', o3],
    ['o4', o4],
  ] as const) {
    const s = await eventually(async () => {
      const x = await status2(key);
      return x.state === 'cancelled' ? x : undefined;
    }, `${key} cancelled`);
    assert.deepEqual(s.data.history, ['new', 'cancelled']);
    assert.equal(s.data.placedAt, created.data.placedAt);
    assert.ok(s.data.cancelledAt! - s.data.placedAt >= WINDOW, `${key}: never before its payment window ended`);
  }
  // A payment after the cancellation is recorded, the state stays.
  await second.entities.sendDurable(entity(second.Order, 'o3'), { pay: 'card-3' }, 'o3-pay');
  const o3after = await status2('o3');
  assert.equal(o3after.state, 'cancelled');
  assert.deepEqual(o3after.data.late, ['card-3']);
});

// ---- across OS processes ------------------------------------------------------------------------

const FIXTURE = fileURLToPath(new URL('./durable_order_node.js', import.meta.url));

class OrderNode {
  readonly commands: IpcCommands;
  constructor(
    readonly name: string,
    readonly proc: ReturnType<typeof fork>,
  ) {
    this.commands = new IpcCommands(proc, name);
  }
  static async start(name: string, env: Record<string, string>): Promise<OrderNode> {
    const proc = fork(FIXTURE, [], {
      env: { ...process.env, ...env, ORDER_NAME: name },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const n = new OrderNode(name, proc);
    await ipcMessage(proc, isKind('ready'), `${name} ready`);
    return n;
  }
  cmd(cmd: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    return this.commands.value(cmd, fields);
  }
  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.commands.exited;
  }
  async stop(): Promise<void> {
    if (!this.commands.running) return;
    try {
      await this.cmd('stop');
      await this.commands.exited;
    } catch {
      await this.kill();
    }
  }
}

test('durable order across processes: the owner killed (-9) at each step; each order finishes exactly once, its timeout honoured', async (t) => {
  // The orders that are paid get a window no kill sequence outlasts; 'never' a short one.
  const LONG = 3_600_000;
  const WINDOW = 3000;
  const names = Array.from({ length: 8 }, (_, i) => `ord${i}_${process.pid}@localhost`);
  const env = {
    ORDER_REGISTRAR: String(await freeTcpUdpPort()),
    ORDER_MEMBERS: names.join(','),
    ORDER_DB: join(dir, 'dist.db'),
  };
  const live: OrderNode[] = [];
  t.after(async () => {
    for (const n of live) await n.stop();
  });
  let next = 0;
  const startOne = async () => {
    const n = await OrderNode.start(names[next++]!, env);
    live.push(n);
    return n;
  };
  const settle = async () => {
    const want = live
      .filter((n) => n.commands.running)
      .map((n) => n.name)
      .sort();
    for (const n of live.filter((x) => x.commands.running))
      await eventually(
        async () => JSON.stringify(await n.cmd('members')) === JSON.stringify(want),
        `${n.name} sees ${want.length}`,
      );
  };
  const running = () => live.filter((n) => n.commands.running);
  const ownerOf = (key: string): OrderNode => {
    const members = running()
      .map((n) => n.name)
      .sort();
    const owner = ownerOfShard(shardOf(key, ENTITIES_DEFAULTS.shards), members)!;
    return running().find((n) => n.name === owner)!;
  };
  /** kill -9 of the node owning `key`, and (unless `replace` is false) a new member in its place. */
  const killOwner = async (key: string, replace = true) => {
    await ownerOf(key).kill();
    if (replace) await startOne();
    await settle();
  };
  const via = () => running()[0]!;
  const status = async (key: string) => (await via().cmd('status', { key })) as Status;
  const send = async (cmd: 'place' | 'pay' | 'ship', key: string, value: string) => {
    const r = await via().cmd(cmd, { key, value, msgId: `${key}-${cmd}` });
    assert.ok(r === 'accepted' || r === 'duplicate', String(r));
  };

  for (let i = 0; i < 3; i++) await startOne();
  await settle();
  // Placed (each payment window a state timeout, kept as a durable reminder).
  await send('place', 'paid', String(LONG));
  await send('place', 'early', String(LONG));
  const created = new Map<string, Status>();
  for (const key of ['paid', 'early']) created.set(key, await status(key));
  await killOwner('paid');
  // Step: the shipment of 'early' before its payment (postponed), then both payments.
  await send('ship', 'early', 'track-e');
  await send('pay', 'paid', 'card-p');
  await killOwner('early');
  await send('pay', 'early', 'card-e');
  await killOwner('paid');
  // Step: the shipment of 'paid'; then 'never' is placed and its owner dies while its window runs.
  await send('ship', 'paid', 'track-p');
  await send('place', 'never', String(WINDOW));
  created.set('never', await status('never'));
  // The last kill: the two members left finish every order (each node is an OS process whose
  // start costs CPU, and no step after it needs a third).
  await killOwner('never', false);
  // Sent again after the kills (a client retrying): duplicates, applied once.
  await send('pay', 'paid', 'card-p');
  await send('ship', 'early', 'track-e');

  for (const key of ['paid', 'early']) {
    const s = await eventually(
      async () => {
        const x = await status(key);
        return x.state === 'shipped' ? x : undefined;
      },
      `${key} shipped`,
      { timeoutMs: 60_000 },
    );
    assert.deepEqual(s.data.history, ['new', 'paid', 'shipped'], key);
    assert.equal(s.data.placedAt, created.get(key)!.data.placedAt, `${key} was placed once`);
  }
  const never = await eventually(
    async () => {
      const x = await status('never');
      return x.state === 'cancelled' ? x : undefined;
    },
    'never cancelled',
    { timeoutMs: 90_000 },
  );
  assert.deepEqual(never.data.history, ['new', 'cancelled']);
  assert.equal(never.data.placedAt, created.get('never')!.data.placedAt);
  assert.ok(never.data.cancelledAt! - never.data.placedAt >= WINDOW, 'the payment window honoured: never early');
});

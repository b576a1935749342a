// The node option `simulateRemote`: every local message, call request and reply, event and exit
// reason goes through EDF, so a process receives exactly what it would from another node, and a
// message that could not cross the network fails at send time with the codec's error.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  Actor,
  ErrTimeout,
  Event,
  MessageExitPID,
  startNode,
  type MessageEvent,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import { EdfError, Go, registerType } from '../src/net/index.js';

class Order {
  id = 0;
  item = '';
}
registerType({ name: '#example.com/simulate/node/Order', class: Order, fields: { id: Go.int64, item: Go.string } });

type Seen = { kind: string; value: unknown };

class Recorder extends Actor {
  seen!: (s: Seen) => void;
  override init(seen: (s: Seen) => void): void {
    this.seen = seen;
    this.setTrapExit(true);
  }
  override async handleMessage(_from: PID, m: unknown): Promise<void> {
    if (m instanceof MessageExitPID) this.seen({ kind: 'exit', value: m.reason });
    else if (m === 'subscribe')
      this.seen({ kind: 'history', value: await this.monitorEvent(new Event('sim', this.node.name)) });
    else this.seen({ kind: 'message', value: m });
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    this.seen({ kind: 'request', value: req });
    return req instanceof Order ? Object.assign(new Order(), { id: req.id + 1, item: req.item }) : { echoed: req };
  }
  override handleEvent(m: MessageEvent): void {
    this.seen({ kind: 'event', value: m.message });
  }
}

async function withNode(fn: (node: Node, next: () => Promise<Seen>, pid: PID) => Promise<void>): Promise<void> {
  const node = await startNode('simulate@localhost', {
    simulateRemote: true,
    log: { defaultLogger: { disable: true } },
  });
  const queue: Seen[] = [];
  const waiters: ((s: Seen) => void)[] = [];
  const seen = (s: Seen): void => {
    const w = waiters.shift();
    if (w) w(s);
    else queue.push(s);
  };
  const next = (): Promise<Seen> =>
    queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r));
  try {
    const pid = await node.spawn(Recorder, {}, seen);
    await fn(node, next, pid);
  } finally {
    await node.stopForce();
  }
}

test('messages arrive as a remote receiver would see them (plain objects as Maps, copies not references)', async () => {
  await withNode(async (node, next, pid) => {
    const sent = { n: 1, tags: ['a'] };
    node.send(pid, sent);
    const got = await next();
    assert.equal(got.kind, 'message');
    assert.deepEqual(
      got.value,
      new Map<string, unknown>([
        ['n', 1],
        ['tags', ['a']],
      ]),
    );
    node.send(pid, Object.assign(new Order(), { id: 7, item: 'tea' }));
    const order = (await next()).value;
    assert.ok(order instanceof Order, 'a registered type arrives as its class');
    assert.deepEqual(order, Object.assign(new Order(), { id: 7, item: 'tea' }));
  });
});

test('call requests and replies cross EDF both ways', async () => {
  await withNode(async (node, next, pid) => {
    const reply = await node.call(pid, Object.assign(new Order(), { id: 1, item: 'x' }));
    assert.ok((await next()).value instanceof Order);
    assert.ok(reply instanceof Order && reply.id === 2);
    const plain = await node.call(pid, 'hi');
    assert.deepEqual(plain, new Map([['echoed', 'hi']]));
  });
});

test('a message that cannot cross the network fails at send time with the path', async () => {
  await withNode(async (node, _next, pid) => {
    class Unregistered {}
    assert.throws(
      () => node.send(pid, { deep: [new Unregistered()] }),
      (e: unknown) => e instanceof EdfError && e.code === 'ERR_EDF_UNREGISTERED' && /deep/.test(e.message),
    );
    await assert.rejects(
      node.call(pid, () => 1),
      { code: 'ERR_EDF_UNREGISTERED' },
    );
  });
});

test('events and exit reasons go through EDF too (framework errors keep their identity)', async () => {
  await withNode(async (node, next, pid) => {
    const token = node.registerEvent('sim', { buffer: 1 });
    node.sendEvent('sim', token, { before: true });
    node.send(pid, 'subscribe');
    const history = (await next()).value as MessageEvent[];
    assert.deepEqual(history[0]!.message, new Map([['before', true]]));
    node.sendEvent('sim', token, [1, 2]);
    assert.deepEqual((await next()).value, [1, 2]);
    class Sender extends Actor {
      override handleMessage(_f: PID, to: unknown): void {
        this.sendExit(to as PID, ErrTimeout);
      }
    }
    node.send(await node.spawn(Sender), pid);
    const exit = await next();
    assert.equal(exit.kind, 'exit');
    assert.equal(exit.value, ErrTimeout, 'a framework error decodes to the very sentinel');
  });
});

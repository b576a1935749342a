// The etcd registrar against a real etcd, nodes in this process: config priorities and the
// update event, application routes (events, resolution by weight, a remote start on the chosen
// node), a name already held (ErrTaken), and an etcd cluster of three that keeps serving with a
// member killed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, serverPort } from '@ergo-ts/test-support';
import { Actor, ApplicationMode, startNode, type Atom, type MessageEvent, type Node } from 'ergo-ts';
import { Etcd3 } from 'etcd3';
import {
  createEtcdRegistrar,
  EventApplicationLoaded,
  EventApplicationStarted,
  EventApplicationStopped,
  EventConfigUpdate,
  EventNodeJoined,
  EventNodeLeft,
  type EtcdRegistrarOptions,
} from '../src/index.js';
import { etcdMissing, healthy, members, startCluster, stopCluster, stopMember, type Member } from './etcd_helpers.js';

const skip = etcdMissing();

/** Collects what the registrar's event delivers. */
/** Bound of each wait for an event (no bound of its own before: the suite's 60 s applied). */
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

const seen = new Map<string, unknown[]>();
class Watcher extends Actor {
  override async init(): Promise<void> {
    await this.monitorEvent(this.node.network().registrar().event());
  }
  override handleEvent(m: MessageEvent): void {
    const list = seen.get(this.node.name) ?? [];
    list.push(m.message);
    seen.set(this.node.name, list);
  }
}

/** The first message `node`'s watcher saw that matches `pred` (waited for: events come from etcd's watch). */
function seenOn<T>(node: string, pred: (m: unknown) => m is T): Promise<T> {
  // The predicate's source names the awaited event in a failure.
  return eventually(() => (seen.get(node) ?? []).find(pred), `${node} to see ${String(pred)}`, WAIT);
}

async function etcdNode(name: string, opts: EtcdRegistrarOptions): Promise<Node> {
  const node = await startNode(name, {
    log: { level: 'warning' as never },
    network: {
      cookie: 'etcd-secret',
      acceptors: [{ host: '127.0.0.1', port: 0 }],
      registrar: createEtcdRegistrar({ leaseTTL: 2, requestTimeout: 3000, dialTimeout: 3000, ...opts }),
    },
  });
  await node.spawn(Watcher, {});
  return node;
}

class Worker extends Actor {}
const app = (weight: number) => ({
  load: () => ({ name: 'web', weight, group: [{ factory: () => new Worker() }] }),
});

describe('etcd registrar, one etcd', { skip: skip ?? false, timeout: 60_000 }, () => {
  let etcd: Member[] = [];
  let kv: Etcd3;
  let endpoints: string[];
  before(async () => {
    etcd = await members(1);
    await startCluster(etcd);
    endpoints = [etcd[0]!.endpoint];
    kv = new Etcd3({ hosts: `http://${endpoints[0]}` });
  });
  after(async () => {
    kv.close();
    await stopCluster(etcd);
  });

  test('config: the four levels by priority, typed values, one update event per effective change', async () => {
    const name = 'cfg@127.0.0.1';
    await kv.put('services/ergo/config/global/pool.size').value('int:1');
    await kv.put('services/ergo/config/global/ratio').value('float:0.5');
    await kv.put('services/ergo/cluster/c1/config/*/pool.size').value('int:2');
    await kv.put(`services/ergo/cluster/c1/config/${name}/pool.size`).value('int:3');
    await kv.put(`services/ergo/config/c1/${name}/pool.size`).value('int:4');
    await kv.put('services/ergo/cluster/c1/config/other@127.0.0.1/pool.size').value('int:99');
    await kv.put('services/ergo/cluster/c1/config/*/debug').value('bool:true');
    // Shapes that are not levels: ignored (a 3-part key below the cluster path, a node key below the global one).
    await kv.put(`services/ergo/cluster/c1/config/c1/${name}/pool.size`).value('int:100');
    await kv.put(`services/ergo/config/${name}/pool.size`).value('int:101');
    const node = await etcdNode(name, { cluster: 'c1', endpoints });
    try {
      const reg = node.network().registrar();
      assert.equal(await reg.configItem('pool.size'), 4);
      assert.deepEqual(
        await reg.config('pool.size', 'ratio', 'debug', 'missing'),
        new Map<string, unknown>([
          ['pool.size', 4],
          ['ratio', 0.5],
          ['debug', true],
        ]),
      );
      await assert.rejects(reg.configItem('missing'), { code: 'ERR_UNKNOWN' });
      // Peel the levels off from the top: each delete reveals the next one, with an event.
      const expect = async (v: unknown): Promise<void> => {
        await seenOn(
          name,
          (m): m is EventConfigUpdate => m instanceof EventConfigUpdate && m.item === 'pool.size' && m.value === v,
        );
        if (v === null) await assert.rejects(reg.configItem('pool.size'), { code: 'ERR_UNKNOWN' });
        else assert.equal(await reg.configItem('pool.size'), v);
      };
      await kv.delete().key(`services/ergo/config/c1/${name}/pool.size`);
      await expect(3);
      await kv.delete().key(`services/ergo/cluster/c1/config/${name}/pool.size`);
      await expect(2);
      await kv.delete().key('services/ergo/cluster/c1/config/*/pool.size');
      await expect(1);
      await kv.delete().key('services/ergo/config/global/pool.size');
      await expect(null);
      // Another node's item and a change hidden by a higher level send nothing.
      await kv.put('services/ergo/cluster/c1/config/*/ratio').value('float:0.25');
      await seenOn(name, (m): m is EventConfigUpdate => m instanceof EventConfigUpdate && m.item === 'ratio');
      await kv.put('services/ergo/config/global/ratio').value('float:0.75');
      await kv.put('services/ergo/cluster/c1/config/other@127.0.0.1/ratio').value('float:9');
      await kv.put('services/ergo/cluster/c1/config/*/marker').value('m');
      await seenOn(name, (m): m is EventConfigUpdate => m instanceof EventConfigUpdate && m.item === 'marker');
      const ratio = (seen.get(name) ?? []).filter((m) => m instanceof EventConfigUpdate && m.item === 'ratio');
      assert.deepEqual(ratio, [new EventConfigUpdate('ratio', 0.25)]);
    } finally {
      await node.stop();
    }
  });

  test('application routes: events, resolution by weight, start on the chosen node; a taken name', async () => {
    const [a, b, c] = await Promise.all(
      ['a@127.0.0.1', 'b@127.0.0.1', 'c@127.0.0.1'].map((n) => etcdNode(n, { cluster: 'apps', endpoints })),
    );
    try {
      await a.applicationLoad(app(5));
      await b.applicationLoad(app(10));
      a.network().enableApplicationStart('web', c.name);
      b.network().enableApplicationStart('web', c.name);
      // Both routes: each node publishes its own after applicationLoad has resolved, over its own
      // etcd connection, so b's put may land before a's.
      for (const [from, weight] of [
        [a.name, 5],
        [b.name, 10],
      ] as const)
        await seenOn(
          c.name,
          (m): m is EventApplicationLoaded =>
            m instanceof EventApplicationLoaded && m.name === 'web' && m.node === from && m.weight === weight,
        );
      const routes = await c
        .network()
        .registrar()
        .resolver()
        .resolveApplication('web' as Atom);
      assert.deepEqual(
        routes.map((r) => [r.node, r.weight, r.state]),
        [
          [b.name, 10, 1],
          [a.name, 5, 1],
        ],
      );
      // Start it where the weight is highest. (Each node's system_app has routes too: every
      // wait names the application, or b's own system_app start, published late on a loaded
      // machine, would pass for web's.)
      const remote = await c.network().getNode(routes[0]!.node);
      await remote.applicationStartPermanent('web');
      const started = await seenOn(
        c.name,
        (m): m is EventApplicationStarted =>
          m instanceof EventApplicationStarted && m.name === 'web' && m.node === b.name,
      );
      assert.equal(started.mode, ApplicationMode.Permanent);
      assert.equal(
        (
          await c
            .network()
            .registrar()
            .resolver()
            .resolveApplication('web' as Atom)
        )[0]!.state,
        2,
      );
      await b.applicationStop('web');
      b.applicationUnload('web');
      await seenOn(
        c.name,
        (m): m is EventApplicationStopped =>
          m instanceof EventApplicationStopped && m.name === 'web' && m.node === b.name,
      );
      // A second node with a live name is refused once its restart wait has passed; the first one
      // is untouched.
      await assert.rejects(etcdNode(a.name, { cluster: 'apps', endpoints, restartWait: 1000 }), {
        code: 'ERR_TAKEN',
        message: /still after waiting 1000 ms/,
      });
      // restartWait 0: refused at once.
      await assert.rejects(etcdNode(a.name, { cluster: 'apps', endpoints, restartWait: 0 }), {
        code: 'ERR_TAKEN',
        message: /\(lease \w+\)$/,
      });
      assert.deepEqual((await c.network().registrar().nodes()).sort(), [a.name, b.name]);
      // A graceful stop revokes the lease: the node leaves at once.
      await a.stop();
      await seenOn(c.name, (m): m is EventNodeLeft => m instanceof EventNodeLeft && m.name === a.name);
      await seenOn(
        c.name,
        (m): m is EventApplicationStopped =>
          m instanceof EventApplicationStopped && m.name === 'web' && m.node === a.name,
      );
    } finally {
      await Promise.all([a, b, c].map((n) => n.stop()));
    }
  });
});

describe('etcd registrar, a cluster of three etcd members', { skip: skip ?? false, timeout: 60_000 }, () => {
  let etcd: Member[] = [];
  before(async () => {
    etcd = await members(3);
    await startCluster(etcd);
  });
  after(() => stopCluster(etcd));

  test('one member killed: registration, resolution, events and connections go on', async () => {
    const endpoints = etcd.map((m) => m.endpoint);
    const x = await etcdNode('x@127.0.0.1', { cluster: 'three', endpoints });
    try {
      await stopMember(etcd[0]!, 'SIGKILL');
      // When the member killed was the leader, the other two elect a new one first (about 2 s
      // here, longer on a loaded machine). A registration asked meanwhile waits for it: here its
      // first request ran out its requestTimeout (3 s) before a retry got through; a slower
      // election fails the node's start. The test is about a cluster that lost a member, not
      // about a registration racing the election.
      await Promise.all(etcd.slice(1).map(healthy));
      const y = await etcdNode('y@127.0.0.1', { cluster: 'three', endpoints });
      try {
        await seenOn(x.name, (m): m is EventNodeJoined => m instanceof EventNodeJoined && m.name === y.name);
        assert.deepEqual(await y.network().registrar().nodes(), [x.name]);
        assert.equal((await y.network().registrar().resolver().resolve(x.name)).length, 1);
        await y.network().getNode(x.name);
      } finally {
        await y.stop();
      }
      await seenOn(x.name, (m): m is EventNodeLeft => m instanceof EventNodeLeft && m.name === 'y@127.0.0.1');
    } finally {
      await x.stop();
    }
  });
});

describe('etcd registrar without etcd', () => {
  test('bad options are refused with ERR_INCORRECT before anything connects', () => {
    assert.throws(() => createEtcdRegistrar({ cluster: 'a/b' }), { code: 'ERR_INCORRECT' });
    assert.throws(() => createEtcdRegistrar({ endpoints: [] }), { code: 'ERR_INCORRECT' });
    assert.throws(() => createEtcdRegistrar({ leaseTTL: 0 }), { code: 'ERR_INCORRECT' });
    assert.throws(() => createEtcdRegistrar({ requestTimeout: 1.5 }), { code: 'ERR_INCORRECT' });
    assert.throws(() => createEtcdRegistrar({ restartWait: -1 }), { code: 'ERR_INCORRECT' });
    createEtcdRegistrar({ restartWait: 0 }).terminate();
    const r = createEtcdRegistrar();
    assert.throws(() => r.event(), { code: 'ERR_NOT_ALLOWED' });
    assert.equal(r.info().supportEvent, true);
    assert.deepEqual(r.version(), { name: 'ETCD Client', release: 'R1', license: 'MIT' });
  });

  test('etcd unreachable at start: the node does not start (ERR_NO_CONNECTION), nothing escapes', async () => {
    const port = await serverPort(); // nothing listens there
    await assert.rejects(
      startNode('lonely@127.0.0.1', {
        log: { defaultLogger: { disable: true } },
        network: {
          cookie: 'x',
          acceptors: [{ host: '127.0.0.1', port: 0 }],
          registrar: createEtcdRegistrar({ endpoints: [`127.0.0.1:${port}`], dialTimeout: 500, requestTimeout: 500 }),
        },
      }),
      { code: 'ERR_NO_CONNECTION' },
    );
  });
});

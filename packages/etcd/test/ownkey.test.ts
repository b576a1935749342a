// Issue 37: the etcd registrar keeps its own key and ignores keys it cannot use, against a real
// etcd. A node's key overwritten without a lease, then etcd killed and started again on the same
// data dir and port: the node puts its key back on its lease (seen as a watch event) and a new
// node resolves it and connects. A key held by another live lease is not taken over, and is
// taken back once that lease ends. Garbage under the node path (bad base64, a value of another
// type, empty values, names that are not node names) never shows in nodes() or resolve and is
// logged once per key however many times it is written or listed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { Actor, ProcessID, startNode, type Atom, type MessageEvent, type Node, type PID, type Ref } from 'ergo-ts';
import { Etcd3, type IKeyValue } from 'etcd3';
import {
  clusterPaths,
  createEtcdRegistrar,
  decodeRoutes,
  encodeApplicationRoute,
  encodeRoutes,
  EventNodeJoined,
} from '../src/index.js';
import {
  etcdMissing,
  healthy,
  members,
  startCluster,
  startMember,
  stopCluster,
  stopMember,
  type Member,
} from './etcd_helpers.js';

const skip = etcdMissing();
const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

/** Log lines of each node (warning and above), by node name. */
const logs = new Map<string, string[]>();
/** Registrar event messages each node's watcher got. */
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

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return [this.node.name, request];
  }
}

async function etcdNode(name: string, cluster: string, endpoints: string[]): Promise<Node> {
  const lines: string[] = [];
  logs.set(name, lines);
  const node = await startNode(name, {
    log: { level: 'warning', defaultLogger: { output: { write: (s: string) => void lines.push(s) } } },
    network: {
      cookie: 'etcd-secret',
      acceptors: [{ host: '127.0.0.1', port: 0 }],
      registrar: createEtcdRegistrar({
        cluster,
        endpoints,
        leaseTTL: 2,
        retryInterval: 300,
        retryIntervalMax: 1000,
        requestTimeout: 3000,
        dialTimeout: 3000,
      }),
    },
  });
  await node.spawn(Watcher, {});
  await node.spawnRegister('echo', Echo, {});
  return node;
}

/** Puts of `key` from revision `from` on, as a watch of a fresh client delivers them. */
async function putsOf(endpoint: string, key: string, from: string): Promise<{ kvs: IKeyValue[]; close(): void }> {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  const kvs: IKeyValue[] = [];
  const w = await client.watch().key(key).startRevision(from).create();
  w.on('put', (kv) => kvs.push(kv));
  return {
    kvs,
    close: () => {
      void w.cancel().catch(() => undefined);
      client.close();
    },
  };
}

/** A put that carries the node's own routes on a lease: the node took its key back. */
function isRetake(kv: IKeyValue): boolean {
  if (kv.lease === '0') return false;
  try {
    return decodeRoutes(kv.value).length > 0;
  } catch {
    return false;
  }
}

describe('etcd registrar: its own key and keys it cannot use', { skip: skip ?? false, timeout: 120_000 }, () => {
  let etcd: Member[] = [];
  let endpoints: string[];
  let kv: Etcd3;
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

  test('key overwritten without a lease, etcd restarted: the node takes its key back, a new node connects', async () => {
    const a = await etcdNode('own@127.0.0.1', 'restart', endpoints);
    let b: Node | null = null;
    try {
      const key = clusterPaths('restart').nodes + a.name;
      const put = await kv.put(key).value('not a route').exec(); // no lease
      // etcd killed right after the write: the node may see it before or after the restart.
      await stopMember(etcd[0]!, 'SIGKILL');
      startMember(etcd[0]!, etcd);
      await healthy(etcd[0]!);
      const watch = await putsOf(endpoints[0]!, key, String(BigInt(put.header.revision) + 1n));
      try {
        await eventually(() => watch.kvs.some(isRetake), `${a.name} to put its key back on a lease`, WAIT);
      } finally {
        watch.close();
      }
      const now = (await kv.get(key).exec()).kvs[0]!;
      assert.notEqual(now.lease, '0');
      b = await etcdNode('newcomer@127.0.0.1', 'restart', endpoints);
      assert.deepEqual(await b.network().registrar().nodes(), [a.name]);
      assert.deepEqual(await b.call(new ProcessID('echo' as Atom, a.name), 'hi'), [a.name, 'hi']);
    } finally {
      await b?.stop();
      await a.stop();
    }
  });

  test('a key on another live lease is left alone (logged once), and taken back when that lease ends', async () => {
    const a = await etcdNode('held@127.0.0.1', 'held', endpoints);
    try {
      const key = clusterPaths('held').nodes + a.name;
      const foreign = kv.lease(60, { autoKeepAlive: false });
      const id = await foreign.grant();
      const value = encodeRoutes([]);
      await kv.put(key).value(value).lease(id);
      const lines = logs.get(a.name)!;
      await eventually(() => lines.some((l) => l.includes(`held by lease ${id}`)), 'the foreign lease logged', WAIT);
      // Written again on the same lease: still not taken, still logged once.
      const again = await kv.put(key).value(value).lease(id).exec();
      const watch = await putsOf(endpoints[0]!, key, String(BigInt(again.header.revision) + 1n));
      try {
        assert.equal((await kv.get(key).exec()).kvs[0]!.lease, id);
        await foreign.revoke(); // etcd deletes the key with the lease
        await eventually(() => watch.kvs.some(isRetake), `${a.name} to take its key back`, WAIT);
      } finally {
        watch.close();
      }
      assert.notEqual((await kv.get(key).exec()).kvs[0]!.lease, id);
      assert.equal(lines.filter((l) => l.includes(`held by lease ${id}`)).length, 1, lines.join(''));
    } finally {
      await a.stop();
    }
  });

  test('garbage under the node path never shows in nodes() or resolve, and is logged once per key', async () => {
    const paths = clusterPaths('junk');
    const good = encodeRoutes([]);
    const garbage: [string, string][] = [
      [paths.nodes + 'b64@127.0.0.1', '!!not base64!!'],
      [paths.nodes + 'empty@127.0.0.1', ''],
      [paths.nodes + 'random@127.0.0.1', Buffer.from([0xff, 0x01, 0x02, 0x03]).toString('base64')],
      [
        paths.nodes + 'shape@127.0.0.1',
        encodeApplicationRoute({ node: 'shape@127.0.0.1' as Atom, name: 'x' as Atom, weight: 1, mode: 1, state: 1 }),
      ],
      [paths.nodes + '', good],
      [paths.nodes + 'noat', good],
      [paths.nodes + 'deep/er@127.0.0.1', good],
    ];
    // Half before the node starts (read by nodes()), half after (seen by its watch too).
    for (const [k, v] of garbage.slice(0, 3)) await kv.put(k).value(v);
    const x = await etcdNode('x@127.0.0.1', 'junk', endpoints);
    const y = await etcdNode('y@127.0.0.1', 'junk', endpoints);
    let z: Node | null = null;
    try {
      for (let round = 0; round < 3; round++) for (const [k, v] of garbage) await kv.put(k).value(v);
      // A node joining after the garbage: once x has seen it, its watch has seen every write before.
      z = await etcdNode('z@127.0.0.1', 'junk', endpoints);
      await eventually(
        () => (seen.get(x.name) ?? []).some((m) => m instanceof EventNodeJoined && m.name === z!.name),
        'x to see z join',
        WAIT,
      );
      for (let i = 0; i < 3; i++) assert.deepEqual((await x.network().registrar().nodes()).sort(), [y.name, z.name]);
      const joined = (seen.get(x.name) ?? []).filter((m) => m instanceof EventNodeJoined).map((m) => m.name);
      assert.deepEqual(joined.sort(), [y.name, z.name]);
      for (const [k] of garbage) {
        const name = k.slice(paths.nodes.length) as Atom;
        await assert.rejects(x.network().registrar().resolver().resolve(name), { code: 'ERR_NO_ROUTE' }, k);
      }
      assert.equal((await x.network().registrar().resolver().resolve(y.name)).length, 1);
      const lines = logs.get(x.name)!;
      for (const [k] of garbage) {
        const n = lines.filter((l) => l.includes(`ignoring ${k}:`)).length;
        assert.equal(n, 1, `${k} logged ${n} times:\n${lines.join('')}`);
      }
    } finally {
      await z?.stop();
      await y.stop();
      await x.stop();
      for (const [k] of garbage) await kv.delete().key(k);
    }
  });
});

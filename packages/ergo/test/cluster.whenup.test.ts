// `whenUp(n)` means connected (docs/cores.md "Connected at start"): once it resolves on a node,
// that node's network has a connection to every other node up, so a burst of sends right after
// it goes out on the connections — none waits behind a dial (or is refused: ERR_DIAL_QUEUE_FULL).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { eventually } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom } from '../src/index.js';
import { startCluster, type ClusterOptions } from '../src/cluster/index.js';
import { BURST } from './cluster_app_whenup.js';

const APP = new URL('./cluster_app_whenup.js', import.meta.url);
const COOKIE = 'cluster-whenup';
const NODE = { network: { registrar: null, cookie: COOKIE }, log: { level: 'warning' as const } };

async function check(options: Partial<ClusterOptions>): Promise<void> {
  const cluster = await startCluster({ module: APP, node: NODE, signals: false, nodes: 3, ...options });
  const ext = await startNode(`whenup${process.pid}@localhost`, {
    network: { registrar: null, cookie: COOKIE, acceptors: [{ port: 0 }] },
    log: { level: 'warning' },
  });
  try {
    const names = cluster.nodes().map((n) => n.name);
    for (const n of cluster.nodes()) {
      const i = n.acceptor.lastIndexOf(':');
      ext
        .network()
        .addRoute(
          n.name,
          { route: { host: n.acceptor.slice(0, i), port: Number(n.acceptor.slice(i + 1)), tls: false } },
          0,
        );
    }
    for (const n of names) {
      const report = (await eventually(
        () => ext.call(new ProcessID('probe' as Atom, n as Atom), 'report', { timeout: 10_000 }),
        `${n} reports after whenUp`,
        { timeoutMs: 30_000, intervalMs: 50 },
      )) as { connected: string[]; sent: number; refused: Record<string, number> };
      // (this test's driver node may be connected too: only the cluster's nodes are compared)
      assert.deepEqual(
        report.connected.filter((x) => names.includes(x)),
        names.filter((x) => x !== n).sort(),
        `${n}: connected to every other node`,
      );
      assert.deepEqual(report.refused, {}, `${n}: no send refused`);
      assert.equal(report.sent, BURST * (names.length - 1));
    }
    for (const n of names) {
      await eventually(
        async () =>
          (await ext.call(new ProcessID('sink' as Atom, n as Atom), 'count', { timeout: 10_000 })) ===
          BURST * (names.length - 1),
        `${n}'s sink got every message`,
        { timeoutMs: 30_000, intervalMs: 50 },
      );
    }
  } finally {
    await ext.stop();
    await cluster.stop();
  }
}

test('cluster (threads, in-host): after whenUp(size) every node is connected to every other; 20,000 sends each go out', async () => {
  await check({});
});

test('cluster (child processes, TCP): after whenUp(size) every node is connected; 20,000 sends each go out', async () => {
  await check({ mode: 'process', nodes: 2 });
});

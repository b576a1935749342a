// How long a dead member's key takes to answer again on a survivor, across network-namespace test
// hosts (three entity nodes, each in a host of its own, the PostgreSQL store in a fourth; the
// safety checker's nodes, faults_node.ts): from kill -9 of the key's owner, and from the start of
// a silent cut isolating it (from the other nodes and the store), until a durable send to the key
// through another node is accepted, with the default lease (leaseTtlMs 10 s) — once with
// `takeOverFromDeadMembers` (the default) and once without it (the lease waited out, the path
// before). The fault nodes' peerStallTimeout is 1500 ms: a silently cut peer is declared down
// 1.5–2.25 s after its last byte. The figures are printed (bench/README.md, "Entities: takeover after a member dies");
// the test asserts only that the key answers again on a survivor. Needs root, ip/nft and
// PostgreSQL: skips without (fails under CI=true).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually, requireHosts, requirePostgres } from '@ergo-ts/test-support';

import { everySeesEvery, faultCluster, keyOwnedBy, type FaultNode } from './faults.js';

test('a dead member’s key answers again on a survivor: kill -9 and a silent cut, with and without takeover', async (t) => {
  if (!requireHosts(t) || !requirePostgres(t)) return;
  const logDir = mkdtempSync(join(tmpdir(), 'ergo-entities-takeover-'));
  t.after(() => rmSync(logDir, { recursive: true, force: true }));
  await using cluster = await faultCluster({ store: 'postgres', dir: logDir, leaseMs: 10_000, renewMs: 3333 });
  const figures: string[] = [];
  let msg = 0;
  // One cluster per setting (the setting is each node's): first the silent cut, healed (n2 back
  // among the members of every node), then kill -9 of n2 — each node is an OS process whose start
  // costs CPU, and a cut that healed leaves the cluster as it was, so the kill needs no new one.
  for (const takeOver of [true, false]) {
    const nodes = cluster.nodesWith({ FN_TAKEOVER: takeOver ? '' : '0' });
    try {
      for (const n of nodes) await n.start();
      await everySeesEvery(nodes);
      for (const fault of ['silent cut', 'kill -9'] as const) {
        const [n1, n2] = nodes as [FaultNode, FaultNode, FaultNode];
        const key = keyOwnedBy(n2, nodes, `${takeOver ? 'on' : 'off'}-${fault === 'kill -9' ? 'k' : 'c'}`);
        assert.equal(await n1.cmd('durable', { key, msgId: `m${++msg}`, timeout: 20_000 }), 'accepted');
        const start = Date.now();
        let heal = async (): Promise<void> => undefined;
        if (fault === 'kill -9') await n2.kill();
        else {
          const cut = await cluster.hosts.isolate(n2.host);
          heal = () => cut.heal();
        }
        // Durable sends through n1, each re-sent with its id until accepted (each bounded by 4 s).
        const id = `m${++msg}`;
        await eventually(
          async () => {
            try {
              return (await n1.cmd('durable', { key, msgId: id, timeout: 4000 })) === 'accepted';
            } catch {
              return false;
            }
          },
          `${key} accepted through n1 after the ${fault}`,
          { timeoutMs: 60_000 },
        );
        const ms = Date.now() - start;
        figures.push(`${fault}, takeover ${takeOver ? 'on' : 'off'}: ${ms} ms`);
        console.log(
          `# ${fault}, takeOverFromDeadMembers ${String(takeOver)}: the key answers on a survivor after ${ms} ms`,
        );
        await heal();
        if (fault === 'silent cut') await everySeesEvery(nodes);
      }
    } finally {
      for (const n of nodes) await n.stop();
    }
  }
  console.log(`# ${figures.join('; ')}`);
});

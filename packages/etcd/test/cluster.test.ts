// Five ergo-ts nodes in separate OS processes on one real etcd: they discover each other and
// exchange messages; kill -9 of one → every other gets EventNodeLeft (lease TTL 2 s); etcd
// stopped for 20 s and restarted on the same data dir → every node registers again (new lease)
// and names resolve again, the outage logged once per node, not per retry. A node started again
// on a new port is dialled there by a node that had dialled its old one (routes from the watch).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { command, startChild, waitLine, type Child } from './etcd_child.js';
import {
  etcdMissing,
  members,
  startCluster,
  startMember,
  healthy,
  stopCluster,
  stopMember,
  type Member,
} from './etcd_helpers.js';

const skip = etcdMissing();

/** Bound of each wait below (none of its own before: the suite's bound applied). */
const WAIT = { timeoutMs: 60_000, intervalMs: 200 };

/** Asks until `ok` holds for the reply (the cluster converges through etcd); returns that reply. */
function until(
  c: Child,
  cmd: Record<string, unknown>,
  ok: (r: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const r = await command(c, cmd);
      if (!ok(r)) throw new Error(`${c.name} answered ${JSON.stringify(r)}`);
      return r;
    },
    `${c.name}: ${JSON.stringify(cmd)} to satisfy ${String(ok)}`,
    WAIT,
  );
}
describe(
  'etcd cluster of five ergo-ts nodes',
  { skip: skip ?? false, timeout: Number(process.env.ETCD_TEST_TIMEOUT ?? 150_000) },
  () => {
    let etcd: Member[] = [];
    const nodes: Child[] = [];
    const names = [1, 2, 3, 4, 5].map((i) => `n${i}@127.0.0.1`);

    before(async () => {
      etcd = await members(1);
      await startCluster(etcd);
      for (const n of names) nodes.push(startChild(n, etcd[0]!.endpoint, 'five'));
      await Promise.all(nodes.map((c) => waitLine(c, (l) => 'ready' in l)));
    });
    after(async () => {
      if (process.env.ETCD_TEST_DEBUG)
        for (const c of nodes) console.log(c.name, JSON.stringify(c.lines.slice(-5)), c.stderr.slice(-5).join('\n'));
      for (const c of nodes) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
      await stopCluster(etcd);
    });

    test('every node sees the other four and messages go both ways', async () => {
      for (const c of nodes) {
        const others = names.filter((n) => n !== c.name).sort();
        await until(c, { cmd: 'nodes' }, (r) => JSON.stringify(r.nodes) === JSON.stringify(others));
      }
      // Each node sends to the next one (a ring): the route comes from etcd, the connection is direct.
      for (let i = 0; i < 5; i++) {
        const to = nodes[(i + 1) % 5]!;
        const r = await command(nodes[i]!, { cmd: 'send', to: to.name, msg: `hello from ${nodes[i]!.name}` });
        assert.equal(r.ok, true, JSON.stringify(r));
        await waitLine(to, (l) => l.got === `hello from ${nodes[i]!.name}`);
      }
    });

    test('kill -9 of one node: the others get EventNodeLeft when its lease (TTL 2 s) expires', async () => {
      const victim = nodes[4]!;
      const t0 = Date.now();
      victim.proc.kill('SIGKILL');
      await Promise.all(
        nodes.slice(0, 4).map((c) => waitLine(c, (l) => l.event === 'EventNodeLeft' && l.name === victim.name)),
      );
      console.log(`# EventNodeLeft on all four survivors ${Date.now() - t0} ms after kill -9 (lease TTL 2000 ms)`);
      const r = await command(nodes[0]!, { cmd: 'resolve', to: victim.name });
      assert.match(String(r.error), /no route/i);
    });

    test('the killed node started again (a new port): a node that had dialled it dials the new routes', async () => {
      const victim = nodes[4]!;
      const caller = nodes[3]!; // sent to the victim in the first test: its connection is gone
      const marks = nodes.slice(0, 4).map((c) => c.lines.length);
      const from = marks[3]!;
      const again = startChild(victim.name, etcd[0]!.endpoint, 'five');
      nodes[4] = again;
      await waitLine(again, (l) => 'ready' in l);
      // The caller resolves from what its watch delivered: wait for the new key to arrive there.
      await waitLine(
        caller,
        (l) => caller.lines.indexOf(l) >= from && l.event === 'EventNodeJoined' && l.name === victim.name,
      );
      const r = await command(caller, { cmd: 'send', to: victim.name, msg: 'to the new port' });
      assert.equal(r.ok, true, JSON.stringify(r));
      await waitLine(again, (l) => l.got === 'to the new port');
      // Gone again, and seen gone, so that the next test's survivors are the first four.
      again.proc.kill('SIGKILL');
      await Promise.all(
        nodes
          .slice(0, 4)
          .map((c, i) =>
            waitLine(
              c,
              (l) => c.lines.indexOf(l) >= marks[i]! && l.event === 'EventNodeLeft' && l.name === victim.name,
            ),
          ),
      );
    });

    test('etcd down for 20 s, then back on the same data dir: every node registers again', async () => {
      const survivors = nodes.slice(0, 4);
      const before = survivors.map((c) => c.stderr.length);
      await stopMember(etcd[0]!);
      await new Promise((r) => setTimeout(r, 20_000));
      startMember(etcd[0]!, etcd);
      await healthy(etcd[0]!);
      // Registered again after this outage: a lease lost earlier (TTL 2 s: a loaded machine can
      // miss it) logged the line already.
      for (const [i, c] of survivors.entries())
        await eventually(
          () => c.stderr.slice(before[i]).some((s) => s.includes('registered again')),
          `${c.name} to register again`,
          WAIT,
        );
      for (const c of survivors) {
        const others = survivors
          .map((x) => x.name)
          .filter((n) => n !== c.name)
          .sort();
        await until(c, { cmd: 'nodes' }, (r) => JSON.stringify(r.nodes) === JSON.stringify(others));
      }
      const r = await command(survivors[3]!, { cmd: 'send', to: survivors[0]!.name, msg: 'after the outage' });
      assert.equal(r.ok, true);
      await waitLine(survivors[0]!, (l) => l.got === 'after the outage');
      // Logged once per outage, not once per retry.
      for (const [i, c] of survivors.entries()) {
        const lines = c.stderr.slice(before[i]);
        const retries = lines.filter((s) => s.includes('registering') && s.includes('again failed') && /warn/i.test(s));
        assert.ok(retries.length <= 1, `${c.name} logged ${retries.length} failed retries at warning level`);
        assert.ok(lines.filter((s) => s.includes('lease of') && s.includes('lost')).length <= 1);
      }
    });
  },
);

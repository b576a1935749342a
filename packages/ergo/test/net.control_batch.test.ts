// The ergo-ts control batch (net/proto/control_batch.ts) between two ergo-ts nodes in separate OS
// processes (the child is control_batch_node.ts): with both nodes announcing it, and with either
// side configured off (then the usual Control packets go both ways). Whatever the mode, the same
// behaviour: monitors by PID confirmed and fired with the real reason, demonitors taken out on
// the target's node, a monitor of a process that does not exist fails with ErrProcessUnknown,
// concurrent remote spawns answered with the child's PIDs (with and without init args, with an
// async init), a spawn whose init throws failing with init's error, and a spawn of a factory the
// child did not enable refused with its error. The Go peer suites
// (*.ergo.test.ts) check that a Go node keeps getting today's packets.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from '@ergo-ts/test-support';
import { ErrProcessUnknown, MessageDownPID, PID, type Atom, type Node, type NetworkFlags } from '../src/index.js';
import { engineOf } from '../src/node/internals.js';
import { within } from './helpers.js';
import { netNode, routeTo } from './net_helpers.js';
import { seen, watcher } from './dist_helpers.js';
import { NetworkFlags as WireNetworkFlags } from '../src/net/edf/framework.js';

const FIXTURE = fileURLToPath(new URL('./control_batch_node.js', import.meta.url));

/** Go's default flags with the control batch off (what a node configured so announces). */
const OFF: NetworkFlags = { ...WireNetworkFlags.defaults(), controlBatch: false };

interface Child {
  name: Atom;
  port: number;
  cmd(cmd: string, fields?: Record<string, unknown>): Promise<unknown>;
}

async function startChild(t: { after(fn: () => void): void }, off: boolean): Promise<Child> {
  const proc: ChildProcess = fork(FIXTURE, [], {
    env: { ...process.env, CB_OFF: off ? '1' : '0', CB_NAME: `cbchild${process.pid}x${Date.now()}@localhost` },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  t.after(() => proc.kill('SIGKILL'));
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 1;
  const ready = await within(
    new Promise<{ name: Atom; port: number }>((resolve, reject) => {
      proc.on('message', (m: { kind?: string; id?: number; ok?: unknown; err?: string; name: Atom; port: number }) => {
        if (m.kind === 'ready') return resolve(m);
        const w = waiting.get(m.id!);
        if (w === undefined) return;
        waiting.delete(m.id!);
        if (m.err !== undefined) w.reject(new Error(m.err));
        else w.resolve(m.ok);
      });
      proc.once('exit', (code) => reject(new Error(`fixture exited with ${String(code)}`)));
    }),
    'fixture ready',
    30_000,
  );
  const cmd = (c: string, fields: Record<string, unknown> = {}): Promise<unknown> => {
    const id = next++;
    const p = new Promise<unknown>((resolve, reject) => waiting.set(id, { resolve, reject }));
    proc.send({ cmd: c, id, ...fields });
    return within(p, `fixture ${c}`, 30_000);
  };
  return { name: ready.name, port: ready.port, cmd };
}

function batching(node: Node, peer: Atom): boolean {
  return (engineOf(node).router.connection(peer) as unknown as { batching?: boolean }).batching === true;
}

const modes = [
  { what: 'both nodes announce it', parentOff: false, childOff: false },
  { what: 'the child turns it off', parentOff: false, childOff: true },
  { what: 'the parent turns it off', parentOff: true, childOff: false },
];

for (const mode of modes) {
  test(`control batch, ${mode.what}: monitors, demonitors and remote spawns across OS processes`, async (t) => {
    const child = await startChild(t, mode.childOff);
    const parent = await netNode('cbparent', {
      cookie: 'cb-secret',
      routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
      ...(mode.parentOff ? { flags: OFF } : {}),
    });
    t.after(() => parent.stop());
    const remote = await parent.network().getNode(child.name);
    const on = !mode.parentOff && !mode.childOff;
    // Negotiated on each side from what the other announced.
    assert.equal(remote.info().networkFlags.controlBatch, mode.childOff ? undefined : true);
    assert.equal(batching(parent, child.name), on);
    assert.equal(await child.cmd('batching', { node: parent.name }), on);

    // Monitors: all sent in one turn, each confirmed by the child, then half taken back.
    const K = 400;
    const made = (await child.cmd('targets', { k: K })) as { ids: number[]; creation: number };
    const targets = made.ids.map((id) => new PID(child.name, id, made.creation));
    const w = await watcher(parent);
    await w.run(async (self) => {
      for (const p of targets) self.monitorPID(p);
      await self.relationsConfirmed();
    });
    assert.equal(
      await child.cmd('monitors', { watcher: { node: w.pid.node, id: w.pid.id, creation: w.pid.creation } }),
      K,
    );
    await w.run((self) => {
      for (const p of targets.slice(0, K / 2)) self.demonitorPID(p);
    });
    await eventually(
      async () =>
        (await child.cmd('monitors', { watcher: { node: w.pid.node, id: w.pid.id, creation: w.pid.creation } })) ===
        K / 2,
      'demonitors reach the child',
      {
        timeoutMs: 30_000,
      },
    );
    // The rest fire with the real reason when the targets end.
    await child.cmd('end');
    const kept = new Set(targets.slice(K / 2).map((p) => p.id));
    await eventually(
      () => w.inbox.items.filter((s) => s.message instanceof MessageDownPID).length >= K / 2,
      'downs of the monitored half',
      { timeoutMs: 30_000 },
    );
    const downs = w.inbox.items.map((s) => s.message).filter((m): m is MessageDownPID => m instanceof MessageDownPID);
    assert.equal(downs.length, K / 2);
    for (const d of downs) {
      assert.ok(kept.has(d.pid.id), `down of ${String(d.pid)}, which was demonitored`);
      assert.equal(d.reason.message, 'done');
    }

    // A monitor of a process the child does not have: refused (an error answer, never an entry).
    const ghost = new PID(child.name, 987_654_321, made.creation);
    await w.run((self) => self.monitorPID(ghost));
    const refused = await seen(
      w.inbox,
      (m): m is MessageDownPID => m instanceof MessageDownPID && m.pid.id === ghost.id,
      'ghost down',
      30_000,
    );
    assert.ok(ErrProcessUnknown.is(refused.reason), String(refused.reason));

    // Remote spawns, 60 at once: distinct PIDs of the child's incarnation.
    const pids = await Promise.all(Array.from({ length: 60 }, () => remote.spawn('cb_worker')));
    assert.equal(new Set(pids.map((p) => p.id)).size, 60);
    for (const p of pids) {
      assert.equal(p.node, child.name);
      assert.equal(p.creation, made.creation);
    }
    // 40 at once, each with its own init arg: the child writes their answers in parts (every
    // SPAWN_ANSWERS_EVERY spawns of a batch), and each caller gets the PID of its own spawn.
    const numbered = await Promise.all(Array.from({ length: 40 }, (_, i) => remote.spawn('cb_worker', {}, i)));
    assert.equal(new Set(numbered.map((p) => p.id)).size, 40);
    for (const i of [0, 15, 16, 17, 31, 32, 39])
      assert.deepEqual(await parent.call(numbered[i]!, 'args', { timeout: 30_000 }), [i], `spawn ${i}`);
    // Init args travel (their options are not the previous spawn's).
    const withArgs = await remote.spawn('cb_worker', {}, 'a', 7);
    assert.deepEqual(await parent.call(withArgs, 'args', { timeout: 30_000 }), ['a', 7]);
    assert.deepEqual(await parent.call(pids[59]!, 'args', { timeout: 30_000 }), []);
    // An async init: answered once it settled; runs beside plain spawns in one batch.
    const mixed = await Promise.all([remote.spawn('cb_async'), remote.spawn('cb_worker'), remote.spawn('cb_async')]);
    assert.equal(new Set(mixed.map((p) => p.id)).size, 3);
    assert.equal(await parent.call(mixed[0]!, 'ready', { timeout: 30_000 }), true);
    // Init throws: the spawn fails with its error; the spawns after it still succeed.
    const failing = await Promise.allSettled([remote.spawn('cb_fail'), remote.spawn('cb_worker')]);
    assert.equal(failing[0].status, 'rejected');
    assert.match(String((failing[0] as PromiseRejectedResult).reason), /init refused/);
    assert.equal(failing[1].status, 'fulfilled');
    // A factory the child did not enable: the child's refusal.
    await assert.rejects(remote.spawn('not_enabled'), (e: Error & { code?: string }) => {
      assert.match(e.message, /unknown|not/i);
      return true;
    });
  });
}

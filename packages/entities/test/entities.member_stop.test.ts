// A member's stop under one deadline (runtime/member_stop.ts) in one process: the runtime, the
// node and the store stop in that order; a killed process whose handler never returns does not
// hold the node's stop over its kill grace (the node's share runs out: stopForce ends it); a
// PostgreSQL store's close with a bound cuts the connections a query cut off from its server holds
// (store_close.ts); every option is checked (ERR_ENTITY_INCORRECT); a held loop shortens the
// phases on a signal and on a direct call alike (loop_lag.ts). The same in separate OS
// processes under load, on SIGTERM: entities.stop_bounded.test.ts.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch, postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { Actor, startNode, type Node, type PID } from 'ergo-ts';

import {
  ENTITIES_DEFAULTS,
  MemoryStore,
  MemoryStoreData,
  SHARD_LEASE_KIND,
  PostgresStore,
  entity,
  startEntities,
  stopMember,
  shardOf,
  stopMemberOnSignals,
  type MemberStopParts,
  type MemberStopReport,
} from '../src/index.js';
import { counterKind } from './counter.js';
import { CutProxy } from './cut_proxy.js';

const watch = new UnhandledWatch('@ergo-ts/entities member stop');
let n = 0;
before(() => watch.start());
after(() => watch.stop());

async function node(t: { after(fn: () => Promise<void>): void }): Promise<Node> {
  const nd = await startNode(`mstop${++n}_${process.pid}@localhost`, { log: { level: 'error' } });
  t.after(() => nd.stop().catch(() => undefined));
  return nd;
}

const incorrect = { code: 'ERR_ENTITY_INCORRECT' };

/** The report of a stop whose three phases each ended by themselves, in order. */
function assertEveryPhaseDone(report: { phases: readonly { phase: string; outcome: string }[] }): void {
  assert.deepEqual(
    report.phases.map((p) => [p.phase, p.outcome]),
    [
      ['entities', 'done'],
      ['node', 'done'],
      ['store', 'done'],
    ],
  );
}

test('stopMember stops the runtime (its entities handed off), then the node, then the store, each within its share', async (t) => {
  const data = new MemoryStoreData();
  const store = new MemoryStore({}, data);
  const kind = counterKind(0);
  const nd = await node(t);
  const entities = await startEntities(nd, { store, kinds: [kind] });
  await entities.send(entity(kind, 'c1'), { add: 2 });
  assert.equal(await entities.call(entity(kind, 'c1'), 'get'), 2);
  assert.equal(entities.active().length, 1);

  const report = await stopMember({ node: nd, entities, store });
  assertEveryPhaseDone(report);
  // The runtime keeps the loop's lag sampler: the phases end three turns of its lag early.
  assert.ok(report.lagMs !== undefined, 'the lag measured');
  assert.equal(report.deadlineMs, Math.max(1, 7000 - 3 * report.lagMs));
  assert.ok(
    report.phases.every((p, i) => i === 0 || p.at >= report.phases[i - 1]!.at),
    'the phases in order',
  );
  assert.equal(nd.isAlive(), false, 'the node stopped');
  // The activation handed off: its state saved, its lease given back.
  const after = new MemoryStore({}, data);
  assert.deepEqual((await after.load({ kind: kind.name, key: 'c1' })).state, { n: 2, adds: 1 });
  const shardLease = await after.lease({
    kind: SHARD_LEASE_KIND,
    key: String(shardOf('c1', ENTITIES_DEFAULTS.shards)),
  });
  assert.equal(shardLease?.owner, '', 'its shard lease given back');
  await assert.rejects(store.load({ kind: kind.name, key: 'c1' }), { code: 'ERR_ENTITY_STORE_CLOSED' });
});

/** Hears that a {@link Stuck} handler runs. */
let stuckRuns: () => void = () => undefined;

/** An actor whose handler never returns: killed, it stays a zombee for the node's kill grace. */
class Stuck extends Actor {
  override handleMessage(): Promise<void> {
    stuckRuns();
    return new Promise<void>(() => undefined);
  }
}

test('a killed process whose handler never returns: the node’s share runs out and stopForce ends it, not its kill grace', async (t) => {
  const nd = await node(t);
  const pid: PID = await nd.spawn(Stuck, {});
  const running = new Promise<void>((resolve) => (stuckRuns = resolve));
  nd.send(pid, 'hang');
  await running;
  nd.kill(pid); // a zombee now, for the kill grace
  // A deadline far below the kill grace (5 s): the node's share ends first.
  const report = await stopMember({ node: nd }, { deadlineMs: 400 });
  assert.deepEqual(
    report.phases.map((p) => [p.phase, p.outcome]),
    [['node', 'cut']],
  );
  await nd.wait();
  assert.equal(nd.isAlive(), false, 'the node stopped once its processes were forced');
});

test('bad options are refused with ERR_ENTITY_INCORRECT: stopMember, stopMemberOnSignals, entities.stop, a store close', async (t) => {
  const nd = await node(t);
  const store = new MemoryStore();
  const entities = await startEntities(nd, { store, kinds: [counterKind(0)] });
  const parts: MemberStopParts = { node: nd, entities, store };
  for (const deadlineMs of [0, -1, 1.5, Number.NaN, 2 ** 31, '7000' as unknown as number])
    await assert.rejects(stopMember(parts, { deadlineMs }), incorrect, `deadlineMs ${String(deadlineMs)}`);
  for (const since of [performance.now() + 60_000, Number.NaN, '0' as unknown as number])
    await assert.rejects(stopMember(parts, { since }), incorrect, `since ${String(since)}`);
  await assert.rejects(stopMember({} as MemberStopParts), incorrect, 'no node');
  await assert.rejects(stopMember({ node: nd, store: {} as MemberStopParts['store'] }), incorrect, 'no store');
  await assert.rejects(stopMember(parts, null as unknown as object), incorrect, 'null options');
  // null is refused, not taken for the default; a Proxy whose reads throw is refused with the code.
  const throwing = new Proxy(
    {},
    {
      get: () => {
        throw new Error('boom');
      },
    },
  );
  for (const bad of [{ deadlineMs: null }, { since: null }, throwing, 'x', 7])
    await assert.rejects(stopMember(parts, bad as unknown as object), incorrect, 'bad stopMember options');
  for (const bad of [{ deadlineMs: null }, { signals: null }, { exit: null }, { onStopped: null }, throwing, null])
    assert.throws(
      () => stopMemberOnSignals(parts, bad as unknown as object),
      incorrect,
      'bad stopMemberOnSignals options',
    );
  assert.throws(() => stopMemberOnSignals(parts, { deadlineMs: 0 }), incorrect);
  assert.throws(() => stopMemberOnSignals(parts, { signals: [] }), incorrect);
  assert.throws(() => stopMemberOnSignals(parts, { exit: 1 as unknown as () => void }), incorrect);
  for (const timeout of [0, -5, 2.5, 2 ** 31])
    await assert.rejects(entities.stop({ timeout }), incorrect, `entities.stop timeout ${timeout}`);
  await assert.rejects(entities.stop(7 as unknown as object), incorrect, 'entities.stop options');
  for (const timeout of [-1, 0.5, 2 ** 31])
    await assert.rejects(store.close({ timeout }), incorrect, `close timeout ${timeout}`);
  await assert.rejects(store.close({ signal: {} as AbortSignal }), incorrect, 'close signal');
  // Refused, nothing began: the runtime still runs, and stops when asked well.
  assert.equal(entities.stopping(), false);
  await entities.stop({ timeout: 2000 });
});

test('stopMemberOnSignals: the signal stops the member and ends the process with 0 once the report is heard; a held loop shortens the phases', async (t) => {
  const nd = await node(t);
  const store = new MemoryStore();
  const entities = await startEntities(nd, { store, kinds: [counterKind(0)] });
  let heard: string[] = [];
  let report: MemberStopReport | undefined;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  // A signal of its own (SIGWINCH: ignored by default), so the test process keeps its SIGTERM.
  const remove = stopMemberOnSignals(
    { node: nd, entities, store },
    {
      signals: ['SIGWINCH'],
      onStopped: (r) => {
        report = r;
        heard = r.phases.map((p) => p.phase);
      },
      exit: resolveExit,
    },
  );
  t.after(remove);
  // The loop held 300 ms (a CPU-bound handler, a starved host): the signal comes a turn late.
  const until = performance.now() + 300;
  while (performance.now() < until) {
    // busy
  }
  process.kill(process.pid, 'SIGWINCH');
  assert.equal(await exited, 0);
  assert.deepEqual(heard, ['entities', 'node', 'store']);
  // That turn (less the sampling tick) counts as the loop's lag: the phases end three of it early.
  assert.ok(report?.lagMs !== undefined && report.lagMs >= 200, `lag ${report?.lagMs}`);
  assert.equal(report.deadlineMs, Math.max(1, 7000 - 3 * report.lagMs));
  assert.equal(nd.isAlive(), false);
});

test('stopMember called directly: a held loop shortens the phases as on a signal (the runtime measures the lag)', async (t) => {
  const nd = await node(t);
  const store = new MemoryStore();
  const kind = counterKind(0);
  const entities = await startEntities(nd, { store, kinds: [kind] });
  await entities.send(entity(kind, 'c1'), { add: 1 });
  // The loop held 300 ms (a CPU-bound handler, a starved host) just before the call.
  const until = performance.now() + 300;
  while (performance.now() < until) {
    // busy
  }
  const report = await stopMember({ node: nd, entities, store });
  assertEveryPhaseDone(report);
  // That turn (less the sampling tick) counts as the loop's lag, as stopMemberOnSignals measures it.
  assert.ok(report.lagMs !== undefined && report.lagMs >= 200, `lag ${report.lagMs}`);
  assert.equal(report.deadlineMs, Math.max(1, 7000 - 3 * report.lagMs));
  assert.equal(nd.isAlive(), false);
});

test('stopMember with no runtime in the process and no signal handler: nothing measured the lag, the deadline is whole', async (t) => {
  const nd = await node(t);
  const report = await stopMember({ node: nd }, { deadlineMs: 5000 });
  assert.equal(report.lagMs, undefined);
  assert.equal(report.deadlineMs, 5000);
});

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('PostgreSQL: a bounded close cuts held connections', (t) => t.skip(missing));
} else {
  test('PostgreSQL: a close with a timeout or a signal cuts the connections that queries cut off from the server hold', async (t) => {
    const server = await startPostgres();
    t.after(() => server.stop());
    const proxy = new CutProxy({ host: server.host, port: server.port });
    await proxy.listen();
    t.after(() => proxy.close());
    const url = server.url.replace(`:${server.port}/`, `:${proxy.port}/`);
    for (const how of ['timeout', 'signal'] as const) {
      const store = await PostgresStore.open(url, { tablePrefix: `mstop_${how}_` });
      proxy.cutNow();
      // Queries on their connections, which the server never answers now.
      const held = [0, 1, 2].map((i) => store.lease({ kind: 'k', key: `${how}${i}` }));
      const cut = new AbortController();
      const closing = how === 'timeout' ? store.close({ timeout: 0 }) : store.close({ signal: cut.signal });
      if (how === 'signal') cut.abort();
      await closing;
      // Their connections were destroyed: each query fails now, none is left waiting.
      for (const q of held) await assert.rejects(q);
      proxy.heal();
    }
    // Not cut off: a close with a bound ends gracefully, as one without.
    const store = await PostgresStore.open(server.url, { tablePrefix: 'mstop_ok_' });
    assert.equal((await store.lease({ kind: 'k', key: 'x' })) ?? 'none', 'none');
    await store.close({ timeout: 60_000 });
    await assert.rejects(store.load({ kind: 'k', key: 'x' }), { code: 'ERR_ENTITY_STORE_CLOSED' });
  });
}

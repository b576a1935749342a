// Membership from the cluster's registrar (`members: 'registrar'`) with a real etcd (Debian's
// etcd-server, one member on free ports, a temporary data directory) and nodes in separate OS
// processes using @ergo-ts/etcd's registrar: no node lists the others. A node that joins gets
// the shards rendezvous hashing gives it, and the entities of those shards hand off to it from
// their old owners with their state; a node that drains and stops hands its entities to the nodes
// that stay. Standing still, members read etcd only now and then (they follow its events). Skips
// without etcd (fails under CI=true).

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, serverPort } from '@ergo-ts/test-support';

import { type EntitiesStats } from '../src/index.js';
import { EntityNode, joinKeys, ownerAmong, seeMembers, startTwo, type ClusterSettings } from './dist_helpers.js';

const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd';
const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-etcd-'));
let etcd: ChildProcess | undefined;
after(async () => {
  if (etcd !== undefined && etcd.exitCode === null) {
    const gone = new Promise((r) => etcd!.once('exit', r));
    etcd.kill('SIGKILL');
    await gone;
  }
  rmSync(dir, { recursive: true, force: true });
});

function missing(): string | undefined {
  if (existsSync(ETCD)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${ETCD} is missing (Debian package etcd-server)`);
  return `${ETCD} is missing (install Debian's etcd-server)`;
}

/** One etcd member on free ports; resolves with its client endpoint once it is healthy. */
async function startEtcd(): Promise<string> {
  const client = await serverPort();
  const peer = await serverPort();
  etcd = spawn(
    ETCD,
    [
      '--name',
      'm0',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `m0=http://127.0.0.1:${peer}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  etcd.stderr!.resume();
  await eventually(
    async () => {
      const r = await fetch(`http://127.0.0.1:${client}/health`);
      return ((await r.json()) as { health?: string }).health === 'true';
    },
    'etcd healthy',
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  return `127.0.0.1:${client}`;
}

const owner = ownerAmong;

/** The range requests etcd has served (its own counter, `etcd_mvcc_range_total`). */
async function rangeReads(endpoint: string): Promise<number> {
  const text = await (await fetch(`http://${endpoint}/metrics`)).text();
  const m = /^etcd_mvcc_range_total (\S+)$/m.exec(text);
  if (m === null) throw new Error('etcd /metrics has no etcd_mvcc_range_total');
  return Number(m[1]);
}

test('members from the etcd registrar: a joining node takes its shards, a leaving one hands its entities off', async (t) => {
  const why = missing();
  if (why !== undefined) return t.skip(why);
  const endpoint = await startEtcd();
  const names = ['a', 'b', 'c'].map((n) => `ee${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: 0, // unused: the etcd registrar
    members: ['registrar'],
    db: join(dir, 'entities.db'),
    leaseMs: 60_000, // longer than any call's timeout: moving an entity must not wait for its lease
    renewMs: 20_000,
    passivateMs: 0,
    etcd: endpoint,
    cluster: `entities${process.pid}`,
  };
  const nodes = await startTwo(t, names, settings);
  const [a, b] = nodes as [EntityNode, EntityNode];

  // Keys that c will own once it joins, and keys that stay; each with a value to keep.
  const two = names.slice(0, 2);
  const { moving, staying } = joinKeys(names);
  for (const [i, key] of [...moving, ...staying].entries())
    assert.equal(await a.cmd('call', { key, req: { set: i } }), i);
  for (const key of moving)
    assert.match(String(await b.cmd('call', { key, req: 'where' })), new RegExp(`^${owner(key, two)} `));

  // c joins: nobody configured it; the registrar tells a and b.
  const c = await EntityNode.start(names[2]!, settings);
  nodes.push(c);
  await seeMembers([a, b, c]);
  for (const [i, key] of moving.entries()) {
    const old = owner(key, two) === a.name ? a : b;
    await old.event((e) => e.event === 'passivated' && e.reason === 'hand-off' && e.key === key, `${key} handed off`);
    assert.equal(await a.cmd('call', { key, req: 'get' }), i, `${key} keeps its state`);
    assert.match(String(await b.cmd('call', { key, req: 'where' })), new RegExp(`^${c.name} `), `${key} moved to c`);
  }
  const stayingOn = new Map<string, string>();
  for (const key of staying) stayingOn.set(key, String(await c.cmd('call', { key, req: 'where' })));
  for (const key of staying) assert.ok(stayingOn.get(key)!.startsWith(owner(key, two)), `${key} did not move`);
  const shards = ((await c.cmd('stats')) as EntitiesStats).shardsOwned;
  assert.ok(shards > 0, 'c owns shards');

  // Standing still, the members follow the registrar's events and do not read etcd's node keys on
  // every probe: over 6 s (12 probes of each node) at most one resync read per node. Reading on
  // every probe, as before, made 36 (fewer only if the machine starves the probes' timers).
  const r0 = await rangeReads(endpoint);
  await new Promise((r) => setTimeout(r, 6000));
  const reads = (await rangeReads(endpoint)) - r0;
  assert.ok(reads <= 3, `${reads} etcd range reads by 3 idle members in 6 s`);

  // b drains and stops: its entities hand off to a and c, with their state.
  const onB = [...moving, ...staying].filter((k) => owner(k, names) === b.name);
  await b.stop();
  await seeMembers([a, c]);
  for (const key of onB) {
    assert.equal(await c.cmd('call', { key, req: 'get' }), [...moving, ...staying].indexOf(key), key);
    assert.doesNotMatch(String(await a.cmd('call', { key, req: 'where' })), new RegExp(`^${b.name} `));
  }
  assert.equal(onB.length, 2);
  for (const key of onB)
    assert.ok(
      b.events.some((e) => e.reason === 'hand-off' && e.key === key),
      `b handed ${key} off when it stopped`,
    );
});

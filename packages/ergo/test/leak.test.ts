// No leak (issue 2, item 9): 100k processes spawned and stopped — with names, aliases, timers,
// pending calls, mail left in their mailboxes, and ended in different ways (kill, a returned
// reason, an exit signal, a panic) — leave the heap near its baseline and every engine table
// empty. Runs in a child Node with --expose-gc and reports JSON; the assertions are on memory and
// counts, never on time.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { runScript } from './helpers.js';

const SCRIPT = `
import { startNode, Actor, TerminateReasonNormal } from 'INDEX';
import { engineOf } from 'INTERNALS';

let ended = 0;
let onEnded = null;
let setUp = 0;
let onSetUp = null;
class Worker extends Actor {
  terminate() {
    ended++;
    if (onEnded !== null) onEnded();
  }
  init(kind) {
    this.kind = kind;
    this.payload = new Array(16).fill(kind); // some per-process state worth measuring
  }
  handleMessage(from, m) {
    if (m === 'setup') {
      if (this.kind % 4 === 1) this.createAlias();
      if (this.kind % 4 === 2) this.sendAfter(this.pid, 'never', 3_600_000);
      setUp++;
      if (onSetUp !== null) onSetUp();
      return;
    }
    if (m === 'stop') return TerminateReasonNormal;
    if (m === 'panic') throw new Error('deliberate');
  }
  handleCall(from, ref, req) {
    return undefined; // defer: the caller waits until the process ends
  }
}

const node = await startNode('leak@localhost', { systemApp: false, log: { defaultLogger: { disable: true } } });
const impl = engineOf(node);
const settle = () => new Promise((r) => setImmediate(r));
async function heap() {
  for (let i = 0; i < 4; i++) { globalThis.gc(); await settle(); }
  return process.memoryUsage().heapUsed;
}

async function round(n) {
  let pids = [];
  let calls = [];
  setUp = 0;
  const allSetUp = new Promise((resolve) => { onSetUp = () => { if (setUp === n) resolve(); }; });
  for (let i = 0; i < n; i++) {
    const kind = i;
    const pid = kind % 8 === 3
      ? await node.spawnRegister('w' + i, Worker, {}, kind)
      : await node.spawn(Worker, {}, kind);
    pids.push(pid);
    node.send(pid, 'setup');
    if (kind % 50 === 0) calls.push(node.call(pid, 'q', { timeout: 3_600_000 }).catch((e) => e.code));
  }
  await allSetUp;
  onSetUp = null;
  const alive = process.memoryUsage().heapUsed;
  const info = node.info();
  ended = 0;
  const allEnded = new Promise((resolve) => { onEnded = () => { if (ended === n) resolve(); }; });
  for (let i = 0; i < pids.length; i++) {
    const pid = pids[i];
    switch (i % 5) {
      case 0: node.kill(pid); break;
      case 1: node.send(pid, 'stop'); break;
      case 2: node.sendExit(pid, new Error('bye')); break;
      case 3: node.send(pid, 'panic'); break;
      case 4: node.send(pid, 'stop'); node.send(pid, 'left in the mailbox'); break;
    }
  }
  const codes = await Promise.all(calls);
  await allEnded;
  onEnded = null;
  pids = null; calls = null;
  await settle();
  return { alive, info, codes };
}

await round(10_000); // warm-up: JIT, hidden classes, table growth
const base = await heap();
const r = await round(100_000);
const end = await heap();
const info = node.info();
console.log(JSON.stringify({
  base, alive: r.alive, end,
  aliveCount: r.info.processesTotal, aliveNames: r.info.registeredNames, aliveAliases: r.info.registeredAliases,
  codes: [...new Set(r.codes)],
  processes: info.processesTotal, names: info.registeredNames, aliases: info.registeredAliases,
  table: impl.processes.size, nameTable: impl.names.size, calls: impl.calls.size,
  runq: impl.scheduler.length,
  targets: impl.targets.keyedHosts,
}));
await node.stopForce();
`;

describe('leak', () => {
  test('100k processes spawned and stopped leave no leak', { timeout: 120_000 }, async () => {
    const r = await runScript(SCRIPT, ['--expose-gc', '--max-old-space-size=1024']);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string[]>;
    assert.equal(m.aliveCount, 100_000, 'all were alive at once');
    assert.equal(m.aliveNames, 100_000 / 8);
    assert.equal(m.aliveAliases, 100_000 / 4);
    assert.deepEqual(m.codes, ['ERR_PROCESS_TERMINATED'], 'deferred calls failed when their targets ended');
    for (const k of ['processes', 'names', 'aliases', 'table', 'nameTable', 'calls', 'runq', 'targets'])
      assert.equal(m[k], 0, `${k} is empty`);
    const base = m.base as number;
    const grown = (m.alive as number) - base;
    const left = (m.end as number) - base;
    assert.ok(grown > 20 * 1024 * 1024, `the measurement sees the live processes (${grown} bytes)`);
    assert.ok(left < grown * 0.05, `heap back near baseline: ${left} bytes left of ${grown} grown`);
  });
});

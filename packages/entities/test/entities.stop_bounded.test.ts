// test-runner: exclusive (it measures how long a member takes to stop; other files' load would blur it)
// SIGTERM ends a member whatever its load (docs/deploy.md, "Stopping a member: SIGTERM within 10 s"):
// a member in its own OS process (`stopMemberOnSignals`: the runtime, the node and the store within
// one deadline, then exit) runs many workflow instances whose step never settles there and ignores
// its abort signal (half of them heartbeating meanwhile, a sixth of them hogging the event loop with
// CPU-bound slices), has more activations under way (their lease taken while the store cannot
// answer), and its store cannot answer when SIGTERM comes: a SQLite file whose write lock another
// process holds, or a PostgreSQL server the member reaches through a proxy that stops forwarding (a
// network cut: the pool's connections stay held). The member must exit, having run its stop's
// phases in order (for PostgreSQL, the store's close cut: it could never end by itself): what did
// not hand off is abandoned to its lease. Once the store answers again, the other member completes
// every instance (no work lost). The time from SIGTERM to the exit and the stop's report are printed
// (no threshold here: the figures in the docs come from these runs).

import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

import { eventually, ipcMessage, postgresMissing, startPostgres, within } from '@ergo-ts/test-support';

import type { MemberStopReport } from '../src/index.js';
import { CutProxy } from './cut_proxy.js';
import { EntityNode, freeTcpUdpPort, ownerAmong, seeMembers, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-stop-bounded-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LOCKER = fileURLToPath(new URL('./sqlite_lock_node.js', import.meta.url));

/** Instances whose step runs (and hangs) on the stopped member when SIGTERM comes. */
const BUSY = 24;
/** Instances started while the store cannot answer: their activation is under way at SIGTERM. */
const ACTIVATING = 6;

/** A store outage the test turns on before SIGTERM and off once the member exited. */
interface Outage {
  /** The store URL (or file) the stopped member uses. */
  readonly db: string;
  begin(): Promise<void>;
  end(): Promise<void>;
}

/** How many step runs the effects file records on `node`. */
function runsOn(effects: string, node: string): number {
  return readFileSync(effects, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${node}`)).length;
}

/** The case on one store: `outage` makes the stopped member's store unanswering. */
async function stopUnderLoad(
  t: { after(fn: () => Promise<void> | void): void },
  tag: string,
  store: { db: string; prefix?: string },
  outage: (db: string) => Promise<Outage>,
): Promise<void> {
  const names = ['a', 'b'].map((n) => `stopb${tag}${n}${process.pid}@localhost`);
  const effects = join(dir, `${tag}.effects`);
  writeFileSync(effects, '');
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    ...store,
    // Leases short enough that what is abandoned moves within the test.
    leaseMs: 3000,
    renewMs: 1000,
    passivateMs: 0,
    effects,
    signals: 'member',
  };
  const cut = await outage(store.db);
  const nodes: EntityNode[] = [];
  t.after(async () => {
    await cut.end();
    for (const n of nodes) await n.stop();
  });
  const a = await EntityNode.start(names[0]!, { ...settings, db: cut.db });
  nodes.push(a);
  const b = await EntityNode.start(names[1]!, settings);
  nodes.push(b);
  await seeMembers(nodes);

  const ofA = Array.from({ length: 2000 }, (_, i) => `h${i}`).filter((k) => ownerAmong(k, names) === a.name);
  const busy = ofA.slice(0, BUSY);
  const activating = ofA.slice(BUSY, BUSY + ACTIVATING);
  const input = (i: number) => ({ holdOn: a.name, heartbeat: i % 2 === 0, spin: i % 6 === 0 });
  await Promise.all(busy.map((key, i) => a.cmd('wfstart', { key, wf: 'wfhold', req: input(i), timeout: 60_000 })));
  // Every busy instance's step runs on a (and never returns there).
  await eventually(() => runsOn(effects, a.name) >= BUSY, `${BUSY} steps running on a`, { timeoutMs: 60_000 });

  await cut.begin();
  // Starts routed to a while its store does not answer: their activations are under way at SIGTERM
  // (answered or not, they are started again below).
  for (const [i, key] of activating.entries())
    b.cmd('wfstart', { key, wf: 'wfhold', req: input(i), timeout: 60_000 }, 90_000).catch(() => undefined);
  // Their store operations are under way on a (the lease taken for each activation) before SIGTERM.
  await eventually(
    async () => ((await a.cmd('stats')) as { storeInFlight: number }).storeInFlight >= ACTIVATING,
    'activations under way on a',
    { timeoutMs: 60_000 },
  );
  const before = performance.now();
  a.proc.kill('SIGTERM');
  await within(a.exited, `${a.name} exits after SIGTERM`, 300_000);
  const ms = Math.round(performance.now() - before);
  console.log(
    `# ${tag}: the member exited ${ms} ms after SIGTERM (exit code ${a.proc.exitCode}, signal ${a.proc.signalCode}) with ${BUSY} steps hung and its store cut`,
  );
  assert.deepEqual([a.proc.exitCode, a.proc.signalCode], [0, null], 'a graceful exit, not the signal');
  // The stop ran its phases in order, each ended (done, or cut at its share of the deadline);
  // without a bound on each the backstop would have ended the process with fewer.
  const line = /member stop report (\{.*\})/.exec(a.output);
  assert.ok(line !== null, 'the member printed its stop report');
  const report = JSON.parse(line[1]!) as MemberStopReport;
  console.log(`# ${tag}: the member's stop: ${JSON.stringify(report)}`);
  assert.deepEqual(
    report.phases.map((p) => p.phase),
    ['entities', 'node', 'store'],
  );
  assert.ok(
    report.phases.every((p) => p.outcome !== 'failed'),
    'no phase failed',
  );
  if (store.prefix !== undefined)
    assert.equal(report.phases[2]!.outcome, 'cut', 'the pool held connections to a server cut off: cut');

  // The store answers again: b takes over what a left (handed off, or abandoned to its lease)
  // and completes every instance, the ones whose activation was under way included.
  await cut.end();
  for (const [i, key] of activating.entries())
    await b.cmd('wfstart', { key, wf: 'wfhold', req: input(i), timeout: 60_000 }, 90_000);
  for (const key of [...busy, ...activating])
    assert.equal(await b.cmd('wfresult', { key, wf: 'wfhold', timeout: 120_000 }, 150_000), b.name, key);
}

test('SQLite: SIGTERM ends a member whose steps hang and whose store file is locked; the other member completes its work', async (t) => {
  const db = join(dir, 'sq.db');
  await stopUnderLoad(t, 'sq', { db }, (file) => {
    let locker: ChildProcess | undefined;
    return Promise.resolve({
      db: file,
      async begin() {
        // Another process holds the file's write lock (as a member paused inside a transaction does).
        locker = fork(LOCKER, [file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        await ipcMessage(locker, (m) => m === 'locked', 'the file locked', 30_000);
      },
      async end() {
        const l = locker;
        locker = undefined;
        if (l === undefined || l.exitCode !== null) return;
        const exited = new Promise((resolve) => l.once('exit', resolve));
        l.send('commit');
        await exited;
      },
    });
  });
});

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('PostgreSQL: SIGTERM with the store cut off', (t) => t.skip(missing));
} else {
  test('PostgreSQL: SIGTERM ends a member whose steps hang and whose database is cut off; the other member completes its work', async (t) => {
    const server = await startPostgres();
    t.after(() => server.stop());
    const proxy = new CutProxy({ host: server.host, port: server.port });
    await proxy.listen();
    t.after(() => proxy.close());
    await stopUnderLoad(t, 'pg', { db: server.url, prefix: 'stopb_' }, (url) =>
      Promise.resolve({
        db: url.replace(`:${server.port}/`, `:${proxy.port}/`),
        begin: () => Promise.resolve(proxy.cutNow()),
        end: () => Promise.resolve(proxy.heal()),
      }),
    );
  });
}

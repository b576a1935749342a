// How long SIGTERM takes to end a member on a starved host, and where the time goes
// (docs/deploy.md, "Stopping a member: SIGTERM within 10 s"). Two members in their own OS
// processes on one store; for each stop the member `a` runs workflow steps that never settle there
// (a sixth of them hogging its event loop with CPU-bound slices), while starts flood the cluster
// through `b`; then `--hogs` busy processes (`yes`) load the host, SIGTERM goes to `a`, and the time
// to its exit is taken, with the member's stop report when it prints one (`--signals member`:
// `stopMemberOnSignals`). The hogs are killed after each stop, and `a` starts again (a deploy's
// restart) for the next. Not a test: it prints figures, and asserts nothing but that `a` exited.
//   node packages/entities/dist/test/stop_under_load.js [--store pg|sqlite] [--stops 3] [--hogs 40]
//     [--busy 24] [--spin-every 6 (every n-th busy step also hogs a's event loop; 0: none)]
//     [--flood 32 (start loops through b)] [--signals member|1 (1: the node's
//     handleSignals, then a close bounded to 1 s: the sum of the parts' own bounds)]
//     [--settle seconds (hogs running before SIGTERM; 3)]
// Prints one line per stop and a JSON summary.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { eventually, postgresMissing, startPostgres, within } from '@ergo-ts/test-support';

import { EntityNode, freeTcpUdpPort, ownerAmong, seeMembers, type ClusterSettings } from './dist_helpers.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : (process.argv[i + 1] ?? dflt);
};
const storeKind = arg('store', 'pg');
const stops = Number(arg('stops', '3'));
const hogCount = Number(arg('hogs', '40'));
const busy = Number(arg('busy', '24'));
const spinEvery = Number(arg('spin-every', '6'));
const floodLoops = Number(arg('flood', '32'));
const signals = arg('signals', 'member') === 'member' ? ('member' as const) : true;
const settleMs = Number(arg('settle', '3')) * 1000;

const dir = mkdtempSync(join(tmpdir(), 'ergo-stop-under-load-'));
const effects = join(dir, 'effects');
writeFileSync(effects, '');
const names = ['a', 'b'].map((n) => `stopload${n}${process.pid}@localhost`);

let server: Awaited<ReturnType<typeof startPostgres>> | undefined;
let db: string;
if (storeKind === 'pg') {
  const why = postgresMissing();
  if (why !== undefined) {
    console.error(`cannot run: ${why}`);
    process.exit(2);
  }
  server = await startPostgres();
  db = server.url;
} else db = join(dir, 'stop.db');

const settings: ClusterSettings = {
  registrar: await freeTcpUdpPort(),
  members: names,
  db,
  ...(storeKind === 'pg' ? { prefix: 'stopload_' } : {}),
  leaseMs: 10_000,
  renewMs: 3_000,
  passivateMs: 0,
  effects,
  signals,
};

/** How many step runs the effects file records on `node` for keys starting with `prefix`. */
function runsOn(node: string, prefix: string): number {
  return readFileSync(effects, 'utf8')
    .split('\n')
    .filter((l) => l.endsWith(` ${node}`) && l.includes(prefix)).length;
}

const b = await EntityNode.start(names[1]!, settings);
const results: { ms: number; load: number; runnable: number; report?: unknown; killed: boolean }[] = [];
for (let s = 0; s < stops; s++) {
  const a = await EntityNode.start(names[0]!, settings);
  await seeMembers([a, b]);
  const ofA = Array.from({ length: 4000 }, (_, i) => `s${s}h${i}`).filter((k) => ownerAmong(k, names) === a.name);
  await Promise.all(
    ofA.slice(0, busy).map((key, i) =>
      a.cmd('wfstart', {
        key,
        wf: 'wfhold',
        req: { holdOn: a.name, heartbeat: i % 2 === 0, spin: spinEvery > 0 && i % spinEvery === 0 },
        timeout: 60_000,
      }),
    ),
  );
  await eventually(() => runsOn(a.name, `s${s}h`) >= busy, `${busy} steps running on a`, { timeoutMs: 120_000 });

  // Starts flood the cluster through b until a has exited (a's keys among them: routed to a).
  let flooding = true;
  let started = 0;
  const flood = Array.from({ length: floodLoops }, async (_, l) => {
    for (let j = 0; flooding; j++)
      await b
        .cmd('wfstart', { key: `s${s}f${l}-${j}`, req: { steps: 3, sleepMs: 0, stepMs: 20 } }, 60_000)
        .then(() => started++)
        .catch(() => undefined);
  });

  const hogs: ChildProcess[] = Array.from({ length: hogCount }, () =>
    spawn('yes', [], { stdio: ['ignore', 'ignore', 'ignore'] }),
  );
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const load = loadavg()[0]!;
  // Runnable now (the 4th field of /proc/loadavg: running/total), the instant SIGTERM goes.
  const runnable = readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[0] ?? '?';
  const t0 = performance.now();
  a.proc.kill('SIGTERM');
  let killed = false;
  try {
    await within(a.exited, `${a.name} exits after SIGTERM`, 120_000);
  } catch {
    killed = true;
    await a.kill();
  }
  const ms = Math.round(performance.now() - t0);
  for (const h of hogs) h.kill('SIGKILL');
  flooding = false;
  await Promise.all(flood);
  const line = /member stop report (\{.*\})/.exec(a.output);
  const report = line === null ? undefined : (JSON.parse(line[1]!) as unknown);
  results.push({
    ms,
    load: Math.round(load * 10) / 10,
    runnable: Number(runnable),
    killed,
    ...(report === undefined ? {} : { report }),
  });
  console.log(
    `stop ${s + 1}/${stops}: SIGTERM -> exit ${ms} ms (exit ${a.proc.exitCode} ${a.proc.signalCode ?? ''}${killed ? ', killed' : ''}), load ${load.toFixed(1)} (runnable ${runnable}), ${started} starts meanwhile; report ${report === undefined ? '-' : JSON.stringify(report)}`,
  );
}
await b.stop();
await server?.stop();
rmSync(dir, { recursive: true, force: true });
const sorted = results.map((r) => r.ms).sort((x, y) => x - y);
console.log(
  JSON.stringify({
    store: storeKind,
    signals,
    hogs: hogCount,
    spinEvery,
    stops,
    p50: sorted[Math.floor((sorted.length - 1) / 2)],
    max: sorted[sorted.length - 1],
    results,
  }),
);
process.exit(0);

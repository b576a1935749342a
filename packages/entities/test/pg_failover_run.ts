// The long run of store faults on a highly available PostgreSQL (docs/workflows-faults.md, "Store
// faults"): the failover workload of pg_failover.ts (two workflow members in child processes on
// Patroni + HAProxy; chains of short workflows, workflows sleeping across the fault, workflows
// waiting for a signal sent during it) with one fault at the primary per round, at random after
// the first rounds took each once: `kill` (kill -9 of its postmaster), `freeze` (SIGSTOP of its
// Patroni, postmaster and backends for --freeze seconds, then SIGCONT: it comes back as a replica)
// and `switchover` (`patronictl switchover` under load). After each round: every workflow completed
// with the right result, the journal kept each step's last run, no member exited, no instance
// halted; then the cluster must be whole again (the old primary a replica) before the next round.
// Needs Debian's patroni, haproxy, etcd-server and postgresql, and a build (`npm run build`).
//   node packages/entities/dist/test/pg_failover_run.js [--rounds 50] [--minutes m]
//     [--faults kill,freeze,switchover] [--freeze seconds (20)] [--seed n]
// Prints each round, then the report as JSON; exits 1 on any violation, 2 when something is missing.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freeTcpUdpPort, pgHaMissing, startPgHa } from '@ergo-ts/test-support';

import { haMembers, runFailover, violations, type StoreFault } from './pg_failover.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const KINDS: StoreFault[] = ['kill', 'freeze', 'switchover'];
const kinds = (arg('faults') ?? KINDS.join(',')).split(',') as StoreFault[];
if (kinds.length === 0 || kinds.some((k) => !KINDS.includes(k))) {
  console.error(`--faults: want kinds among ${KINDS.join(',')}, got ${arg('faults')}`);
  process.exit(2);
}
let why: string | undefined;
try {
  why = pgHaMissing();
} catch (e) {
  why = (e as Error).message;
}
if (why !== undefined) {
  console.error(`cannot run: ${why}`);
  process.exit(2);
}
const t0 = Date.now();
const rounds = Number(arg('rounds') ?? 50);
const until = arg('minutes') === undefined ? Infinity : t0 + Number(arg('minutes')) * 60_000;
const freezeMs = Number(arg('freeze') ?? 20) * 1000;
let seed = Number(arg('seed') ?? Math.floor(Math.random() * 2 ** 31));
const firstSeed = seed;
const rand = (): number => {
  // mulberry32: a seeded run picks the same faults again.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const stamp = (): string => new Date().toISOString().slice(11, 19);

const dir = mkdtempSync(join(tmpdir(), 'ergo-pg-failover-run-'));
const effects = join(dir, 'effects');
writeFileSync(effects, '');
const ha = await startPgHa();
const members = await haMembers(ha, {
  names: ['a', 'b'].map((n) => `pgrun${n}${process.pid}@localhost`),
  registrar: await freeTcpUdpPort(),
  prefix: 'wfha_',
  effects,
});
const done: Record<string, number> = Object.fromEntries(KINDS.map((k) => [k, 0]));
const figures: Record<string, { patroni: number[]; firstWrite: number[]; engine: number[] }> = {};
const bad: string[] = [];
let reruns = 0;
let workflows = 0;
let asked = 0;
let r = 0;
try {
  for (; r < rounds && Date.now() < until && bad.length === 0; r++) {
    const fault = r < kinds.length ? kinds[r]! : kinds[Math.floor(rand() * kinds.length)]!;
    const run = await runFailover(ha, members, { fault, tag: `r${r}`, freezeMs, before: 2, after: 2 });
    const v = violations(effects, run.outputs);
    for (const m of members) {
      if (m.exitedEarly !== undefined) v.bad.push(m.exitedEarly);
      if (/halts|unhandled/i.test(m.output)) v.bad.push(`${m.name}: an instance halted, or an unhandled rejection`);
    }
    bad.push(...v.bad.map((b) => `round ${r} (${fault}): ${b}`));
    reruns += v.reruns;
    workflows += run.outputs.size;
    asked += run.failures.n;
    done[fault]!++;
    const f = (figures[fault] ??= { patroni: [], firstWrite: [], engine: [] });
    f.patroni.push(run.patroniPrimaryAt - run.faultAt);
    f.firstWrite.push(run.firstWriteAt - run.faultAt);
    f.engine.push(run.firstWriteAt - run.patroniPrimaryAt);
    console.log(
      `${stamp()} round ${r} ${fault}: ${run.old} → ${run.promoted}; Patroni ${run.patroniPrimaryAt - run.faultAt} ms, ` +
        `first workflow write ${run.firstWriteAt - run.faultAt} ms; ${run.outputs.size} workflows, ` +
        `${v.reruns} steps run again (never journaled before), ${run.failures.n} calls asked again; ` +
        `violations ${v.bad.length}`,
    );
    await ha.healthy(180_000);
  }
} finally {
  for (const m of members) await m.stop();
  await ha.stop();
  rmSync(dir, { recursive: true, force: true });
}
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const summary = Object.fromEntries(
  Object.entries(figures).map(([k, f]) => [
    k,
    { patroniMedianMs: med(f.patroni), firstWriteMedianMs: med(f.firstWrite), engineMedianMs: med(f.engine) },
  ]),
);
console.log(
  JSON.stringify(
    {
      rounds: r,
      seed: firstSeed,
      faults: done,
      workflows,
      reruns,
      asked,
      figures: summary,
      violations: bad,
      seconds: Math.round((Date.now() - t0) / 1000),
    },
    null,
    2,
  ),
);
process.exit(bad.length === 0 ? 0 : 1);

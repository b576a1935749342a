// Workflows on a highly available PostgreSQL while its primary dies: Patroni (etcd v2 section,
// synchronous_mode) with three PostgreSQL 15 members, HAProxy routing to the primary, two workflow
// members in separate OS processes on the store through HAProxy (test-support's pg_ha.ts,
// pg_failover.ts). Under a load of short workflows, with workflows sleeping across the fault and
// others waiting for a signal sent during it, the primary's postmaster is killed (kill -9); Patroni
// promotes the synchronous standby. Every started workflow completes with the right result, the
// journal kept each step's last run (no step whose completion was journaled ran again), no member
// exits, no instance halts, and every result() caller gets its answer. No call of the workload fails
// to its caller: starts (under the default idReuse), signals and results ride through the failover
// in the client (ride_through.ts); starts and signals without an id asked once each from the kill
// on are answered at the first ask, each made its workflow once and each signal was kept once.
// Prints the time line: Patroni's promotion, HAProxy's switch, the first workflow write on the new
// primary. Skips without patroni, haproxy or etcd (fails under CI=true).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { freeTcpUdpPort, requirePgHa, startPgHa } from '@ergo-ts/test-support';

import { haMembers, rate, runFailover, violations, type HaMember } from './pg_failover.js';
import type { HaInput, HaOutput } from './pg_failover_node.js';

test('kill -9 of the primary under load: every workflow completes, no journaled step runs again, no member exits', async (t) => {
  if (!requirePgHa(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'ergo-pg-failover-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ha = await startPgHa();
  let members: HaMember[] = [];
  // The members first, while their store still answers; then the cluster.
  t.after(async () => {
    for (const m of members) await m.stop();
    await ha.stop();
  });
  const effects = join(dir, 'effects');
  writeFileSync(effects, '');
  members = await haMembers(ha, {
    names: ['a', 'b'].map((n) => `pgfo${n}${process.pid}@localhost`),
    registrar: await freeTcpUdpPort(),
    prefix: 'wfha_',
    effects,
  });

  // Asked once each from the kill on (the client rides through the failover by itself): per member,
  // three chains of starts one after another until HAProxy routes to the new primary, and a signal
  // without an id to a workflow started before.
  const input = (signal: boolean): HaInput => ({ steps: 2, sleepMs: 0, signal });
  const waiting = members.map((m, i) => ({ m, key: `k-once-sg${i}`, go: 200 + i }));
  for (const w of waiting) assert.equal(await w.m.cmd('start', { key: w.key, req: input(true) }), true);
  const old = (await ha.primary())!;
  const started: { m: HaMember; key: string }[] = [];
  const answers: unknown[] = [];
  const run = await runFailover(ha, members, {
    fault: 'kill',
    tag: 'k',
    duringFault: async () => {
      let over = false;
      const routed = ha
        .newPrimary(old, 90_000)
        .then(({ member }) => ha.routedTo(member, 90_000))
        .then(() => (over = true));
      const starts = members.flatMap((m, i) =>
        [0, 1, 2].map(async (c) => {
          for (let n = 0; !over; n++) {
            const key = `k-once-st${i}.${c}-${n}`;
            started.push({ m, key });
            answers.push(await m.cmd('start', { key, req: input(false), timeout: 30_000 }));
          }
        }),
      );
      const signals = waiting.map(async ({ m, key, go }) =>
        answers.push(await m.cmd('signal', { key, value: go, noId: true, timeout: 30_000 })),
      );
      await Promise.all([routed, ...starts, ...signals]);
    },
  });
  assert.deepEqual(
    answers.sort(),
    [...waiting.map(() => 'accepted'), ...started.map(() => true)].sort(),
    'each start made its workflow, each signal accepted, at the first ask',
  );
  assert.equal(run.failures.n, 0, `no call asked again by its caller (${[...run.failures.codes].join('; ')})`);
  const outputs = new Map(run.outputs);
  for (const { m, key } of started)
    outputs.set(key, { input: input(false), output: (await m.cmd('result', { key })) as HaOutput, go: 0 });
  for (const { m, key, go } of waiting) {
    outputs.set(key, { input: input(true), output: (await m.cmd('result', { key })) as HaOutput, go });
    assert.equal(await m.cmd('kept', { key }), 0, `${key}: the signal kept once`);
  }
  console.log(`# asked once from the kill on: ${started.length} starts, ${waiting.length} signals without an id`);

  const ms = (at: number | undefined): string => (at === undefined ? '?' : `${at - run.faultAt} ms`);
  const secs = (a: number, b: number): number => Math.round(rate(run, a, b) * 10) / 10;
  const start = Math.min(...run.completedAt.values());
  const end = Math.max(...run.completedAt.values());
  console.log(
    `# kill -9 of ${run.old}'s postmaster → Patroni: ${run.promoted} answers /primary after ${ms(run.patroniPrimaryAt)} ` +
      `(its history: promoted after ${ms(run.patroniHistoryAt)}); HAProxy routes there after ${ms(run.routedAt)}; ` +
      `first workflow write on it after ${ms(run.firstWriteAt)} (${run.firstWriteAt - run.patroniPrimaryAt} ms after Patroni's /primary); ` +
      `${run.lastOldWrites} writes acknowledged by the dying primary after the kill`,
  );
  console.log(
    `# workflows completed/s: before ${secs(start, run.faultAt)}, during ${secs(run.faultAt, run.firstWriteAt)}, ` +
      `after ${secs(run.firstWriteAt, end)}; ${run.completedAt.size} workflows; ${run.failures.n} calls asked again ` +
      `(${[...run.failures.codes].join('; ')})`,
  );

  const { bad, reruns } = violations(effects, outputs);
  console.log(`# step runs after a failed journal write (run again, never journaled before): ${reruns}`);
  assert.deepEqual(bad, [], 'each step: the journal kept its last run; each signal kept once, its value');
  for (const [key, { output }] of run.outputs) assert.equal(output.steps.length, 3, key);
  for (const m of members) {
    assert.equal(m.exitedEarly, undefined, `${m.name} runs`);
    assert.doesNotMatch(m.output, /halts|unhandled/i, `${m.name}: no instance halted`);
  }
});

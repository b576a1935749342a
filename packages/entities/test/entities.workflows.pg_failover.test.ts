// Workflows on a highly available PostgreSQL while its primary dies: Patroni (etcd v2 section,
// synchronous_mode) with three PostgreSQL 15 members, HAProxy routing to the primary, two workflow
// members in separate OS processes on the store through HAProxy (test-support's pg_ha.ts,
// pg_failover.ts). Under a load of short workflows, with workflows sleeping across the fault and
// others waiting for a signal sent during it, the primary's postmaster is killed (kill -9); Patroni
// promotes the synchronous standby. Every started workflow completes with the right result, the
// journal kept each step's last run (no step whose completion was journaled ran again), no member
// exits, no instance halts, and every result() caller gets its answer. Prints the time line: Patroni's
// promotion, HAProxy's switch, the first workflow write on the new primary. Skips without patroni,
// haproxy or etcd (fails under CI=true).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { freeTcpUdpPort, requirePgHa, startPgHa } from '@ergo-ts/test-support';

import { haMembers, rate, runFailover, violations, type HaMember } from './pg_failover.js';

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

  const run = await runFailover(ha, members, { fault: 'kill', tag: 'k' });

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

  const { bad, reruns } = violations(effects, run.outputs);
  console.log(`# step runs after a failed journal write (run again, never journaled before): ${reruns}`);
  assert.deepEqual(bad, [], 'each step: the journal kept its last run');
  for (const [key, { output }] of run.outputs) assert.equal(output.steps.length, 3, key);
  for (const m of members) {
    assert.equal(m.exitedEarly, undefined, `${m.name} runs`);
    assert.doesNotMatch(m.output, /halts|unhandled/i, `${m.name}: no instance halted`);
  }
});

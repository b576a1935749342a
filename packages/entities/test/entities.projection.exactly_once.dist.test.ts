// An exactly-once projection (startExactlyOnceProjection with `cluster`) on three members in
// separate OS processes, one PostgreSQL server for the store and the read model: each batch is
// inserted into the read model with the projection's offset in one transaction of the members'
// own pg pool. kill -9 of the runner, again and again — between applying a batch and committing
// it, and wherever it is — and SIGSTOP of a runner inside its transaction past its lease: the
// read model ends with every event of the journal exactly once.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { ProjectionCluster } from './projection_cluster.js';

const LEASE_MS = 3000;
const ROUNDS = 6;

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('exactly-once projections on PostgreSQL', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());

  /** Each offset of the journal once in the log, none twice. */
  async function exactlyOnce(c: ProjectionCluster): Promise<void> {
    const rows = await c.log();
    const positions = rows.map((r) => r.position).sort((x, y) => x - y);
    assert.deepEqual(positions, await c.journalOffsets(), 'every event of the journal exactly once');
  }

  test('kill -9 of the runner in the middle of batches, again and again: every event exactly once', async (t) => {
    const c = await ProjectionCluster.start(server.url, 'pjeo', 'exactly', LEASE_MS);
    t.after(() => c.stop());
    let written = 0;
    const resumed: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const runner = await c.runner();
      if (round % 2 === 0) {
        // Between applying a batch and committing it.
        const held = runner.holding();
        await runner.cmd('hold');
        written = await c.writer.write(80);
        await held;
      } else {
        // Wherever it is: right after the events were written.
        written = await c.writer.write(80);
      }
      const killedAt = Date.now();
      await runner.kill();
      await c.startMember(runner.name);
      written = await c.writer.write(20);
      await c.caughtUp(written, 'log');
      const rows = await c.log();
      const firstAfter = rows.find((r) => r.at > killedAt);
      if (firstAfter !== undefined) resumed.push(Math.round(firstAfter.at - killedAt));
      await exactlyOnce(c);
    }
    console.log(`# ${ROUNDS} kills: kill to the next runner's first commit, ms: ${resumed.join(', ')}`);
    await c.seeMembers();
    await exactlyOnce(c);
  });

  test('a runner paused inside its transaction past its lease applies nothing when resumed', async (t) => {
    const c = await ProjectionCluster.start(server.url, 'pjeostop', 'exactly', LEASE_MS);
    t.after(() => c.stop());
    let written = await c.writer.write(40);
    await c.caughtUp(written, 'log');
    const paused = await c.runner();
    const held = paused.holding();
    await paused.cmd('hold');
    written = await c.writer.write(40);
    const batch = await held;
    paused.proc.kill('SIGSTOP');
    t.after(() => paused.proc.kill('SIGCONT'));
    const stoppedAt = Date.now();
    const next = await c.runner(paused.name);
    await c.caughtUp(written, 'log');
    const rows = await c.log();
    const tookOver = rows.find((r) => r.at > stoppedAt)!;
    console.log(
      `# SIGSTOP inside a transaction: ${next.name} committed the held batch ${Math.round(tookOver.at - stoppedAt)} ms later`,
    );
    assert.ok(
      rows.some((r) => r.position === batch.from && r.node === next.name),
      'the held batch was applied by the new runner',
    );

    paused.proc.kill('SIGCONT');
    await paused.cmd('release');
    await eventually(async () => !(await paused.status()).running, `${paused.name} stands by`);
    written = await c.writer.write(40);
    await c.caughtUp(written, 'log');
    const late = (await c.log()).filter((r) => r.node === paused.name && r.id > tookOver.id);
    assert.deepEqual(late, [], 'the resumed runner applied nothing');
    await exactlyOnce(c);
  });
}

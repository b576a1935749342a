// A projection started with `cluster` on three members in separate OS processes (one PostgreSQL
// server for the store and the read model): it runs on exactly one member; kill -9 of that
// member's process moves it to another, which resumes from the stored offset, and the read model
// ends exact; its next runner's member leaving (a graceful stop) hands it to the last; a runner paused (SIGSTOP) past its lease is replaced, and resumed it applies nothing.
// At least once: each application is logged, and the read model keeps each offset once.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { ProjectionCluster } from './projection_cluster.js';

/** The projection's lease, in ms: a paused runner is replaced once it ran out. */
const LEASE_MS = 3000;

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('projection singletons on PostgreSQL', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());

  test('one runner across three members; kill -9 of its process moves it, and the read model ends exact', async (t) => {
    const c = await ProjectionCluster.start(server.url, 'pjkill', 'each', LEASE_MS);
    t.after(() => c.stop());
    let written = await c.writer.write(60);
    await c.caughtUp(written, 'exact');
    const first = await c.runner();
    const before = await c.log();
    assert.deepEqual(new Set(before.map((r) => r.node)), new Set([first.name]), 'one member applied every event');

    const killedAt = Date.now();
    await first.kill();
    written = await c.writer.write(60);
    await c.caughtUp(written, 'exact');
    const second = await c.runner();
    assert.notEqual(second.name, first.name);
    const rows = await c.log();
    const taken = rows.find((r) => r.node === second.name)!;
    console.log(
      `# kill -9 of the runner: ${second.name} applied its first event ${Math.round(taken.at - killedAt)} ms later; ` +
        `${rows.length - written} events applied twice (at least once)`,
    );
    assert.ok(
      rows.every((r) => r.id < taken.id || r.node === second.name),
      'only the new runner applies after it took over',
    );

    // The new runner's member leaves (a graceful stop: its runtime drains): the last one takes over.
    const leftAt = Date.now();
    await second.stop();
    written = await c.writer.write(40);
    await c.caughtUp(written, 'exact');
    const third = await c.runner();
    assert.ok(third.name !== first.name && third.name !== second.name);
    const handedOver = (await c.log()).find((r) => r.node === third.name)!;
    console.log(
      `# graceful stop of the runner's member: ${third.name} applied its first event ${Math.round(handedOver.at - leftAt)} ms after the stop began`,
    );
    const exact = await c.pool.query<{ position: string }>(`SELECT position FROM ${c.rm}_exact ORDER BY position`);
    assert.deepEqual(
      exact.rows.map((r) => Number(r.position)),
      await c.journalOffsets(),
      'every event of the journal is in the read model',
    );
  });

  test('a runner paused past its lease is replaced, and resumed it applies nothing', async (t) => {
    const c = await ProjectionCluster.start(server.url, 'pjstop', 'each', LEASE_MS);
    t.after(() => c.stop());
    let written = await c.writer.write(40);
    await c.caughtUp(written, 'exact');
    const paused = await c.runner();
    paused.proc.kill('SIGSTOP');
    t.after(() => paused.proc.kill('SIGCONT'));
    const stoppedAt = Date.now();
    written = await c.writer.write(40);
    const next = await c.runner(paused.name);
    await c.caughtUp(written, 'exact');
    const tookOver = (await c.log()).find((r) => r.node === next.name)!;
    console.log(
      `# SIGSTOP of the runner: ${next.name} applied its first event ${Math.round(tookOver.at - stoppedAt)} ms later`,
    );

    paused.proc.kill('SIGCONT');
    // Resumed: it finds its lease taken over (or run out by its clock) and stands by.
    await eventually(async () => !(await paused.status()).running, `${paused.name} stands by`);
    written = await c.writer.write(40);
    await c.caughtUp(written, 'exact');
    const rows = await c.log();
    const late = rows.filter((r) => r.node === paused.name && r.id > tookOver.id);
    assert.deepEqual(late, [], 'the resumed runner applied nothing after the new one took over');
    assert.equal((await c.runner()).name, next.name);
    const exact = await c.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${c.rm}_exact`);
    assert.equal(Number(exact.rows[0]!.n), (await c.journalOffsets()).length);
  });
}

// The kill -9 resume row, Effect's side (the definition: lib/resume_row.ts): Effect's workflow
// engine on Effect Cluster with two runners deployed as its docs deploy several (SQL storage on
// the same PostgreSQL server, a fresh database per round; net/effect_resume_order.ts). One runner
// is a separate OS process (net/effect_resume_runner.ts), the other is this process, which is
// also the client. The orders are workflows whose shard the other runner holds.
//
// On kill -9 the dead runner's PostgreSQL sessions end, and with them its shard locks (advisory
// locks), but the survivor assigns shards from the runners table, which keeps a runner until its
// heartbeat is `shardLockExpiration` old (35 s by default; heartbeats every
// `shardLockRefreshInterval`, 10 s), or until a health check (a ping every
// `runnerHealthCheckInterval`, 1 min) finds it dead. Then the survivor takes its shards, reads
// their unprocessed messages (the shipments, the payment windows' wake-ups) and replays the
// workflows from their journal.

import { fork } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Effect } from 'effect';
import { EntityId, ShardId, Sharding } from 'effect/cluster';
import { SqlClient } from 'effect/sql';
import { DurableDeferred, type WorkflowEngine } from 'effect/workflow';

import { Paid, ResumeWorkflow, Shipped, createOrderTable, runnerLayer } from '../net/effect_resume_order.js';
import {
  POLL_MS,
  RETRY_MS,
  checkOutcomes,
  createDatabase,
  reportResume,
  resumeRounds,
  roundFigures,
  slowPlacement,
  until,
  type OrderOutcome,
  type ResumeRow,
  type RoundFigures,
} from './resume_row.js';
import type { Report, SuiteContext } from './types.js';

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), '..', 'net', 'effect_resume_runner.js');
/** Effect Cluster's default shards per group (ShardingConfig.shardsPerGroup). */
const SHARDS = 300;

/** What this side does on kill -9 (the row's note). */
const WHAT =
  "Effect: two runners (NodeClusterSocket, SQL storage, ShardingConfig defaults); the survivor takes the dead runner's shards once its heartbeat is shardLockExpiration (35 s) old or a health ping (every 1 min) fails, then replays the workflows and reads their stored messages";

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface OrderRow {
  id: string;
  history: string;
  at: number;
  by: string;
}

async function round(r: ResumeRow, pgUrl: string, n: number): Promise<RoundFigures> {
  const url = createDatabase(pgUrl, `effres_${process.pid}_${n}`);
  const [portA, portB] = [await freePort(), await freePort()];
  const survivor = String(process.pid);

  const program = Effect.gen(function* () {
    yield* createOrderTable;
    const sharding = yield* Sharding.Sharding;
    const sql = yield* SqlClient.SqlClient;
    const ctxAll = yield* Effect.context<WorkflowEngine.WorkflowEngine | SqlClient.SqlClient>();
    const run = <A, E>(e: Effect.Effect<A, E, WorkflowEngine.WorkflowEngine | SqlClient.SqlClient>): Promise<A> =>
      Effect.runPromise(e.pipe(Effect.provide(ctxAll)));

    return yield* Effect.promise(async () => {
      const owner = fork(RUNNER, [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, EFFECT_PG_URL: url, EFFECT_RUNNER_PORT: String(portA) },
      });
      const exited = new Promise<void>((res) => owner.once('exit', () => res()));
      try {
        await new Promise<void>((res, rej) => {
          owner.once('message', () => res());
          owner.once('exit', (c) => rej(new Error(`the Effect runner exited (${String(c)}) before it was ready`)));
        });
        // The shards settle between the two runners (assignments are refreshed every 3 s).
        const held = (): number => {
          let c = 0;
          for (let i = 1; i <= SHARDS; i++) if (sharding.hasShardId(ShardId.make('default', i))) c++;
          return c;
        };
        let last = -1;
        await until(
          'the shards to be split between the two runners',
          120_000,
          async () => {
            const c = held();
            const settled = c > 0 && c < SHARDS && c === last;
            last = c;
            return settled;
          },
          1000,
        );
        // Orders whose workflow the other runner holds.
        const ids: string[] = [];
        for (let k = 0; ids.length < r.paid + r.unpaid; k++) {
          const id = `o${process.pid}_${n}_${k}`;
          const executionId = await run(ResumeWorkflow.executionId({ id, windowMs: 0 }));
          if (!sharding.hasShardId(sharding.getShardId(EntityId.make(executionId), 'default'))) ids.push(id);
        }
        const paid = ids.slice(0, r.paid);
        const unpaid = ids.slice(r.paid);
        const rows = async (): Promise<Map<string, OrderRow>> =>
          new Map(
            (await run(sql<OrderRow>`SELECT id, history, at, by FROM resume_order`)).map((row) => [
              row.id,
              { ...row, at: Number(row.at) },
            ]),
          );
        const token = async (d: typeof Paid | typeof Shipped, id: string, windowMs: number) => {
          const executionId = await run(ResumeWorkflow.executionId({ id, windowMs }));
          return DurableDeferred.tokenFromExecutionId(d, { workflow: ResumeWorkflow, executionId });
        };
        for (const id of paid) {
          await run(ResumeWorkflow.execute({ id, windowMs: r.paidWindowMs }, { discard: true }));
          await run(DurableDeferred.succeed(Paid, { token: await token(Paid, id, r.paidWindowMs), value: 'card' }));
        }
        await until('the paid orders to be paid', 120_000, async () => {
          const m = await rows();
          return paid.every((id) => m.get(id)?.history === 'new,paid');
        });
        // The unpaid orders last, their windows ending placeSlackMs from now: the kill comes
        // marginMs before the first of them ends. Their ends are read from the stored wake-ups.
        const window = r.placeSlackMs + r.marginMs;
        const execIds = new Map<string, string>();
        for (const id of unpaid) {
          execIds.set(await run(ResumeWorkflow.executionId({ id, windowMs: window })), id);
          await run(ResumeWorkflow.execute({ id, windowMs: window }, { discard: true }));
        }
        const dueAt = await until('the payment windows to be stored', 120_000, async () => {
          const clocks = await run(
            sql<{ entity_id: string; deliver_at: string }>`SELECT entity_id, deliver_at FROM cluster_messages
              WHERE entity_type = 'Workflow/-/DurableClock'`,
          );
          const due = new Map<string, number>();
          for (const c of clocks)
            if (execIds.has(c.entity_id)) due.set(execIds.get(c.entity_id)!, Number(c.deliver_at));
          return due.size === unpaid.length ? due : undefined;
        });
        const killAt = Math.min(...dueAt.values()) - r.marginMs;
        if (Date.now() > killAt) throw slowPlacement(r.placeSlackMs);
        await new Promise((res) => setTimeout(res, killAt - Date.now()));

        const killedAt = Date.now();
        owner.kill('SIGKILL');
        const deadline = killedAt + r.deadlineMs;
        // The client goes on: each paid order's shipment, sent at the kill (sent again until stored).
        await Promise.all(
          paid.map(async (id) => {
            const t = await token(Shipped, id, r.paidWindowMs);
            await until(
              `${id}'s shipment to be stored`,
              r.deadlineMs,
              async () => {
                const exit = await Effect.runPromiseExit(
                  DurableDeferred.succeed(Shipped, { token: t, value: 'trk' }).pipe(Effect.provide(ctxAll)),
                );
                return exit._tag === 'Success';
              },
              RETRY_MS,
            );
          }),
        );
        const done = (row: OrderRow | undefined): boolean =>
          row !== undefined && (row.history.endsWith('shipped') || row.history.endsWith('cancelled'));
        const final = await until(
          'every order to resume',
          Math.max(0, deadline - Date.now()),
          async () => {
            const m = await rows();
            return ids.every((id) => done(m.get(id))) ? m : undefined;
          },
          POLL_MS,
        ).catch(() => rows());
        const outcomes: OrderOutcome[] = ids.map((id, k) => {
          const row = final.get(id);
          return {
            id,
            kind: k < r.paid ? 'ship' : 'timeout',
            history: done(row) ? row!.history.split(',') : undefined,
            at: row?.at ?? 0,
            by: row?.by ?? '',
            dueAt: dueAt.get(id) ?? 0,
          };
        });
        await exited;
        return roundFigures(outcomes, checkOutcomes(outcomes, killedAt, survivor, r.deadlineMs));
      } finally {
        if (owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
        await exited;
      }
    });
  });
  return Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(runnerLayer(url, portB)))));
}

/** Measures Effect's resume after kill -9 (rounds of `ctx`, no warm-up: each round is a fresh pair). */
export async function measureEffectResume(report: Report, ctx: SuiteContext, url: string, r: ResumeRow): Promise<void> {
  const rounds = await resumeRounds(ctx, r, (row, n) => round(row, url, n));
  reportResume(report, r, rounds, WHAT);
}

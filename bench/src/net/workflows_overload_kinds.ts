// The workflows the overload suite (suites/workflows_overload.ts) runs on ergo-ts, shared by the
// three members (net/workflows_overload_member.ts), which run them, and the client-only API node in
// the bench child, which starts them (a client names the kinds it starts).
//
// - `overload-load`: the open-loop row's fixed workflow, 3 steps, each inserting one row into the
//   `effects` table of the bench's PostgreSQL through the user's own `pg` pool (not the engine's):
//   a small store write per step, and a count of step executions (rows − distinct (wf, step) = the
//   effects run again). Restate and DBOS run the same body (net/workflows_overload_peers.ts).
// - `overload-order`: issue 95's order workflow as the Temporal team wrote it: validate, reserve,
//   charge, a wait for `confirm` (carried by the start: signal-with-start), ship (a row written
//   through the user's pool, then heartbeats every 25 ms for 50 ms, `heartbeatTimeoutMs: 5000`,
//   retry 20 attempts 200 ms ×2 ≤ 2 s), invoice, notify. Each ship attempt writes its row with its
//   attempt number, so attempts past the first are counted from the table as well as the logs.

import { schema } from 'ergo-ts';
import { defineWorkflow } from '@ergo-ts/entities';
import pg from 'pg';

let pool: pg.Pool | undefined;

/**
 * The user's own pool (not the engine's store), opened on first use so the client node, which
 * runs no step, never connects. Default size (10), as a team's service would have it.
 */
function effects(): pg.Pool {
  if (pool === undefined) {
    pool = new pg.Pool({ connectionString: process.env.WF_EFFECTS_URL! });
    // An idle session the server ends (the bench's stop) is dropped, not a crash of the worker.
    pool.on('error', () => undefined);
  }
  return pool;
}

/** Closes the user's pool (a member's exit). */
export async function closeEffects(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

/** The DDL of the tables the steps write (run once by the bench before any member starts). */
export const EFFECTS_DDL = [
  'create table if not exists effects (tag text not null, wf text not null, step text not null, at timestamptz not null default now())',
  'create table if not exists shipments (tag text not null, order_id text not null, attempt int not null, at timestamptz not null default now())',
];

/** One step execution: a row in `effects` (the step's store write and its execution count). */
export async function recordEffect(tag: string, wf: string, step: string): Promise<void> {
  await effects().query('insert into effects (tag, wf, step) values ($1, $2, $3)', [tag, wf, step]);
}

/** The open-loop row's workflow: 3 steps, one `effects` row each. */
export const Load = defineWorkflow('overload-load', async (ctx, input: { tag: string }) => {
  for (let i = 0; i < 3; i++) await ctx.step(`s${i}`, () => recordEffect(input.tag, ctx.id, `s${i}`));
  return 3;
});

/** The ship step's options, issue 95's (the team's) values. */
export const SHIP_OPTIONS = {
  heartbeatTimeoutMs: 5000,
  retry: { maxAttempts: 20, initialMs: 200, factor: 2, maxMs: 2000 },
} as const;

const beat = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Issue 95's order workflow (6 steps and a signal wait; see the file's comment). */
export const Order = defineWorkflow(
  'overload-order',
  { signals: { confirm: schema.object({ by: schema.string() }) } },
  async (ctx, input: { tag: string; sku: string; cents: number }) => {
    const valid = await ctx.step('validate', () => input.sku !== '' && input.cents > 0);
    if (!valid) return 'invalid';
    await ctx.step('reserve', () => `res-${ctx.id}`);
    await ctx.step('charge', ({ idempotencyKey }) => `ch-${idempotencyKey.length}`);
    await ctx.signal('confirm');
    await ctx.step(
      'ship',
      async (info) => {
        await effects().query('insert into shipments (tag, order_id, attempt) values ($1, $2, $3)', [
          input.tag,
          ctx.id,
          info.attempt,
        ]);
        // The carrier's call: alive every 25 ms for 50 ms.
        for (let t = 1; t <= 2; t++) {
          await beat(25);
          info.heartbeat({ t });
        }
        return `ship-${ctx.id}`;
      },
      SHIP_OPTIONS,
    );
    await ctx.step('invoice', () => `inv-${ctx.id}`);
    await ctx.step('notify', () => true);
    return 'done';
  },
);

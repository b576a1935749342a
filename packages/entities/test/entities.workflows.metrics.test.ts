// Workflow metrics (issue 72, item 1): the `ergo_workflow_*` families @ergo-ts/metrics'
// EntitiesCollector renders from `Entities.stats().workflows`, counted by the engine and the runs
// of this node (no store read per scrape). Two members in this process on one in-memory database
// (wf_cluster.ts); the Metrics actor of member a serves its registry over HTTP.
//   - b runs alone first: a `mover` instance (key of a's shard) is mid-step and a `drift` one waits
//     for a signal when a joins; the drift kind's code changes meanwhile. a takes both over: the
//     mover's body resumes on a (one resume-latency sample), drift's replay diverges (blocked).
//   - on a: order instances that complete (a retry on the way, a signal), fail (retries
//     exhausted), are cancelled (after a query), and one whose outbox delivery is held (pending).
// The scrape's text is compared with what the bodies did, then a real Prometheus (Debian's
// `prometheus`; skips without it, fails under CI=true) scrapes the same endpoint.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { EntitiesCollector, Metrics } from '@ergo-ts/metrics';
import { UnhandledWatch, eventually, freeTcpUdpPort } from '@ergo-ts/test-support';
import { schema } from 'ergo-ts';
import { Registry } from 'prom-client';

import { defineWorkflow } from '../src/index.js';
import { Cluster, type Member } from './wf_cluster.js';

/** A promise the test settles by hand. */
function gate<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

interface OrderInput {
  /** The charge step: succeeds, fails once then succeeds, or always fails. */
  readonly charge: 'ok' | 'retry' | 'fail';
  /** Wait for the `approve` signal after charging. */
  readonly wait?: boolean;
  /** Its outbox delivery waits for the test's `release`. */
  readonly hold?: boolean;
  /** Take one `note` update after the signal, answered with its text. */
  readonly note?: boolean;
}

const release = gate();
const Order = defineWorkflow(
  'wm-order',
  {
    signals: { approve: schema.object({}) },
    queries: { stage: schema.string() },
    updates: { note: { input: schema.object({ text: schema.string() }), output: schema.string() } },
    outboxes: {
      mail: async (m: { hold: boolean }) => {
        if (m.hold) await release.promise;
      },
    },
    retry: { maxAttempts: 3, initialMs: 1, maxMs: 1 },
  },
  async (ctx, input: OrderInput) => {
    let stage = 'reserve';
    ctx.onQuery('stage', () => stage);
    await ctx.step('reserve', () => true);
    stage = 'charge';
    await ctx.step('charge', ({ attempt }) => {
      if (input.charge === 'fail' || (input.charge === 'retry' && attempt === 1)) throw new Error('card declined');
      return 'charged';
    });
    if (input.wait === true) {
      stage = 'waiting';
      await ctx.signal('approve');
    }
    if (input.note === true) {
      const u = await ctx.update('note');
      await u.reply(u.input.text);
    }
    await ctx.outbox('mail', { hold: input.hold === true });
    return 'done';
  },
);

/** The mover's `work` step: the first attempt hangs until its run ends; `again` once a later one runs. */
const firstWork = gate();
const again = gate();
let works = 0;
const Mover = defineWorkflow('wm-mover', { resumeAfterMs: 200 }, async (ctx) => {
  return ctx.step('work', ({ signal }) => {
    if (++works === 1) {
      firstWork.resolve();
      return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }
    again.resolve();
    return 'worked';
  });
});

/** Its first step's name is read when the body runs: changed between runs, a replay diverges. */
let driftStep = 'v1';
const Drift = defineWorkflow('wm-drift', { signals: { go: schema.object({}) } }, async (ctx) => {
  await ctx.step(driftStep, () => 1);
  await ctx.signal('go');
  return 'drifted';
});

const kinds = [Order, Mover, Drift];
const watch = new UnhandledWatch('workflow metrics');
watch.start();
const cluster = await Cluster.make('wm', ['a', 'b']);
const [A, B] = cluster.names as [string, string];
const stops: (() => Promise<void>)[] = [];
after(async () => {
  release.resolve();
  for (const s of stops.reverse()) await s();
  await cluster.stop();
  watch.stop();
});

/** The scrape's samples: `name{labels}` (labels sorted, `node` left out) → value. */
async function scrape(url: string): Promise<{ text: string; v: (k: string) => number | undefined }> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const text = await res.text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels = (m[2] ?? '')
      .split(',')
      .filter((l) => l !== '' && !l.startsWith('node='))
      .sort()
      .join(',');
    samples.set(`${m[1]}{${labels}}`, Number(m[3]));
  }
  return { text, v: (k) => samples.get(k) };
}

let a: Member | undefined;
let metricsUrl = '';

test('the workflow families count what the bodies did: ends by status, steps, retries, signals, queries, outbox, blocked, resumes', async () => {
  // b alone: it owns every key. The mover and drift instances get keys a will own.
  const b = await cluster.start(B, kinds);
  const mover = cluster.keyOwnedBy(A, cluster.names, 'm');
  const drift = cluster.keyOwnedBy(A, cluster.names, 'd');
  await b.entities.workflows.start(Mover, mover, undefined);
  await b.entities.workflows.start(Drift, drift, undefined);
  await firstWork.promise;
  await eventually(
    async () => (await b.entities.workflows.handle(Drift, drift).describe()).history.length === 1 || undefined,
    'drift journaled its first step',
  );
  driftStep = 'v2'; // new code: drift's next replay asks for another step there
  const sb = b.entities.stats().workflows;
  assert.equal(sb['wm-mover']!.started, 1);
  assert.equal(sb['wm-drift']!.started, 1);
  assert.equal(sb['wm-mover']!.open, 1);
  assert.equal(sb['wm-mover']!.steps.work!.attempts, 1);

  // a joins with its Metrics actor and collector: both instances move to it.
  a = await cluster.start(A, kinds);
  const registry = new Registry();
  const m = await a.node.spawnRegister('metrics', Metrics, {}, { host: '127.0.0.1', port: 0, registry });
  const collector = new EntitiesCollector(a.entities, registry);
  stops.push(() => Promise.resolve(collector.close()));
  metricsUrl = `http://127.0.0.1:${Number((await a.node.inspect(m)).http_port)}/metrics`;
  await cluster.see([a, b], [A, B]);
  const ea = a.entities;
  // The mover's run on b ended with the hand-off; a resumes it at its wake-up.
  assert.equal(await ea.workflows.handle(Mover, mover).result(), 'worked');
  await again.promise;
  await ea.workflows.handle(Drift, drift).signal('go', {});
  await eventually(() => ea.stats().workflows['wm-drift']!.blocked === 1 || undefined, 'drift is blocked on a');

  // Orders, on a.
  const key = (p: string): string => cluster.keyOwnedBy(A, cluster.names, p);
  const [done, bad, gone, held] = [key('o'), key('f'), key('c'), key('h')];
  const orders = ea.workflows;
  await orders.start(Order, done, { charge: 'retry', wait: true, note: true });
  await orders.start(Order, bad, { charge: 'fail' });
  await orders.start(Order, gone, { charge: 'ok', wait: true });
  await assert.rejects(orders.handle(Order, bad).result(), { code: 'ERR_WORKFLOW_FAILED' });
  await eventually(async () => (await orders.handle(Order, gone).query('stage')) === 'waiting' || undefined, 'waits');
  await orders.handle(Order, gone).cancel('changed my mind');
  await eventually(async () => (await orders.handle(Order, done).query('stage')) === 'waiting' || undefined, 'waits');
  await orders.handle(Order, done).signal('approve', {});
  assert.equal(await orders.handle(Order, done).update('note', { text: 'gift' }, { updateId: 'n1' }), 'gift');
  // A repeat of the id is answered from the record, not accepted (nor counted) again.
  assert.equal(await orders.handle(Order, done).update('note', { text: 'gift' }, { updateId: 'n1' }), 'gift');
  assert.equal(await orders.handle(Order, done).result(), 'done');
  await assert.rejects(orders.handle(Order, gone).result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  const queries = ea.stats().workflows['wm-order']!.queries.stage!;
  assert.ok(queries >= 2, 'each query counted');
  await orders.start(Order, held, { charge: 'ok', hold: true });
  await eventually(() => ea.stats().workflows['wm-order']!.outboxPending === 1 || undefined, 'the mail is pending');

  let { text, v } = await scrape(metricsUrl);
  const o = 'workflow="wm-order"';
  for (const family of ['started_total', 'completed_total', 'failed_total', 'step_retries_total'])
    assert.match(text, new RegExp(`# TYPE ergo_workflow_${family} counter`));
  for (const family of ['duration_seconds', 'step_duration_seconds', 'resume_latency_seconds'])
    assert.match(text, new RegExp(`# TYPE ergo_workflow_${family} histogram`));
  assert.match(text, /# TYPE ergo_workflow_open gauge/);
  assert.match(text, new RegExp(`ergo_workflow_started_total\\{workflow="wm-order",node="${a.name}"\\} 4`));
  assert.equal(v(`ergo_workflow_started_total{${o}}`), 4);
  assert.equal(v(`ergo_workflow_completed_total{${o}}`), 1);
  assert.equal(v(`ergo_workflow_failed_total{${o}}`), 1);
  assert.equal(v(`ergo_workflow_cancelled_total{${o}}`), 1);
  assert.equal(v(`ergo_workflow_open{${o}}`), 1, 'the held order');
  assert.equal(v(`ergo_workflow_outbox_pending{${o}}`), 1);
  assert.ok(v(`ergo_workflow_outbox_oldest_pending_seconds{${o}}`)! >= 0);
  // Steps: reserve once per order; charge 2 (retry) + 3 (fail) + 1 + 1; retries 1 + 2; one failed for good.
  const step = (s: string): string => `step="${s}",${o}`;
  assert.equal(v(`ergo_workflow_step_attempts_total{${step('reserve')}}`), 4);
  assert.equal(v(`ergo_workflow_step_attempts_total{${step('charge')}}`), 7);
  assert.equal(v(`ergo_workflow_step_retries_total{${step('charge')}}`), 3);
  assert.equal(v(`ergo_workflow_step_failures_total{${step('charge')}}`), 1);
  assert.equal(v(`ergo_workflow_step_failures_total{${step('reserve')}}`), 0);
  assert.equal(v(`ergo_workflow_step_duration_seconds_count{${step('charge')}}`), 7);
  assert.equal(v(`ergo_workflow_step_duration_seconds_bucket{le="+Inf",${step('charge')}}`), 7);
  assert.ok(v(`ergo_workflow_step_duration_seconds_sum{${step('charge')}}`)! >= 0);
  // Durations per end status.
  assert.equal(v(`ergo_workflow_duration_seconds_count{status="completed",${o}}`), 1);
  assert.equal(v(`ergo_workflow_duration_seconds_count{status="failed",${o}}`), 1);
  assert.equal(v(`ergo_workflow_duration_seconds_count{status="cancelled",${o}}`), 1);
  // Signals, queries and updates by name.
  assert.equal(v(`ergo_workflow_signals_total{signal="approve",${o}}`), 1);
  assert.equal(v(`ergo_workflow_queries_total{query="stage",${o}}`), queries);
  assert.equal(v(`ergo_workflow_updates_total{update="note",${o}}`), 1);
  // The member's load bounds at their defaults; the starts a took were given room at once, none refused.
  assert.equal(v('ergo_workflow_active_runs_limit{}'), 64);
  assert.equal(v('ergo_workflow_steps_limit{}'), 100);
  assert.equal(v('ergo_workflow_starts_waiting{}'), 0);
  assert.equal(v('ergo_workflow_steps_waiting{}'), 0);
  assert.ok(v('ergo_workflow_active_runs{}')! >= 0);
  assert.ok(v('ergo_workflow_steps_running{}')! >= 0);
  assert.equal(v('ergo_workflow_start_admissions_total{decision="admitted"}'), ea.stats().workflowLoad!.startsAdmitted);
  assert.equal(v('ergo_workflow_start_admissions_total{decision="refused"}'), 0);
  // The instances a took over: started on b (not counted here), resumed or blocked here.
  const mv = 'workflow="wm-mover"';
  const dr = 'workflow="wm-drift"';
  assert.equal(v(`ergo_workflow_started_total{${mv}}`), 0);
  assert.equal(v(`ergo_workflow_completed_total{${mv}}`), 1);
  assert.equal(v(`ergo_workflow_resume_latency_seconds_count{${mv}}`), 1);
  assert.ok(v(`ergo_workflow_resume_latency_seconds_sum{${mv}}`)! >= 0);
  assert.equal(v(`ergo_workflow_step_attempts_total{step="work",${mv}}`), 1, 'the attempt after the move');
  assert.equal(v(`ergo_workflow_blocked_total{${dr}}`), 1);
  assert.equal(v(`ergo_workflow_blocked{${dr}}`), 1);
  assert.equal(v(`ergo_workflow_open{${dr}}`), 1);
  assert.equal(v(`ergo_workflow_resume_latency_seconds_count{${dr}}`), 0, 'a diverged replay is no resume');
  assert.equal(v(`ergo_workflow_signals_total{signal="go",${dr}}`), 1);

  // The held mail delivered: nothing pending, the order completed.
  release.resolve();
  assert.equal(await orders.handle(Order, held).result(), 'done');
  ({ v } = await scrape(metricsUrl));
  assert.equal(v(`ergo_workflow_outbox_pending{${o}}`), 0);
  assert.equal(v(`ergo_workflow_outbox_oldest_pending_seconds{${o}}`), 0);
  assert.equal(v(`ergo_workflow_completed_total{${o}}`), 2);
  assert.equal(v(`ergo_workflow_open{${o}}`), 0);
});

function prometheusBinary(): string | undefined {
  const p = process.env.PROMETHEUS ?? '/usr/bin/prometheus';
  try {
    accessSync(p, constants.X_OK);
    return p;
  } catch {
    return undefined;
  }
}

test('a real Prometheus scrapes the workflow families and answers PromQL over them', async (t) => {
  const bin = prometheusBinary();
  if (bin === undefined) {
    const why = 'prometheus not found (apt-get install prometheus, or set PROMETHEUS)';
    if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return;
  }
  assert.ok(a !== undefined && metricsUrl !== '', 'the first test ran');
  const pdir = mkdtempSync(join(tmpdir(), 'ergo-wf-prom-'));
  const config = join(pdir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: workflows\n    static_configs:\n      - targets: ['${new URL(metricsUrl).host}']\n`,
  );
  const promPort = await freeTcpUdpPort();
  let log = '';
  const prom: ChildProcess = spawn(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(pdir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prom.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  prom.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  prom.on('error', (e) => (log += `spawn error: ${e.message}\n`));
  stops.push(async () => {
    if (prom.exitCode === null && prom.signalCode === null) {
      const exited = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    rmSync(pdir, { recursive: true, force: true });
  });
  const query = async (
    q: string,
    at?: string,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const time = at === undefined ? '' : `&time=${at}`;
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}${time}`);
    const body = (await res.json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };
  const node = a.name;
  // Poll until Prometheus has a sample (a hang guard, not a timing check); every query below is
  // evaluated at the instant of that scrape (a later one may time out on a loaded machine).
  const at = await eventually(
    async () => {
      if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}: ${log}`);
      const r = await query(`timestamp(ergo_workflow_started_total{node="${node}",workflow="wm-order"})`).catch(
        () => [],
      );
      return r.length > 0 ? String(r[0]!.value[1]) : undefined;
    },
    'a workflow sample in Prometheus',
    { timeoutMs: 90_000, intervalMs: 250 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}:\n${log}`, { cause: e });
  });
  const one = async (q: string): Promise<number> => {
    const r = await query(q, at);
    assert.equal(r.length, 1, `${q}: ${JSON.stringify(r)}`);
    return Number(r[0]!.value[1]);
  };
  const sel = `node="${node}",workflow="wm-order"`;
  assert.equal(await one(`ergo_workflow_started_total{${sel}}`), 4);
  assert.equal(await one(`ergo_workflow_completed_total{${sel}}`), 2);
  assert.equal(await one(`sum by (workflow) (ergo_workflow_step_retries_total{${sel}})`), 3);
  assert.equal(await one(`ergo_workflow_step_failures_total{${sel},step="charge"}`), 1);
  assert.equal(await one(`sum(ergo_workflow_duration_seconds_count{${sel}})`), 4);
  assert.equal(await one(`ergo_workflow_blocked{node="${node}",workflow="wm-drift"}`), 1);
  // A histogram quantile over the step durations answers (the buckets are well formed).
  const p50 = await one(`histogram_quantile(0.5, sum by (le) (ergo_workflow_step_duration_seconds_bucket{${sel}}))`);
  assert.ok(Number.isFinite(p50) && p50 >= 0, `p50 ${p50}`);
});

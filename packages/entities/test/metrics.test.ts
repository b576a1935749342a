// The runtime's figures (`Entities.stats()`) as Prometheus families through @ergo-ts/metrics'
// EntitiesCollector: two nodes in this process (an embedded registrar, a SQLite file they share),
// the Metrics actor of the first serving its registry over HTTP. The scrape is compared with the
// runtime's own counts (entities active, activations, passivations, shards owned and moved, store
// latency histogram, events and snapshots of an event-sourced kind, reminder fires and lateness, the inbox sweeper's gauges), then a real Prometheus (Debian's `prometheus`; skips without, fails under
// CI=true) scrapes the same endpoint and answers PromQL over the entity families.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { EntitiesCollector, Metrics } from '@ergo-ts/metrics';
import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { startNode, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import { Registry } from 'prom-client';

import { SqliteStore, defineEntity, entity, startEntities, startProjection, type Entities } from '../src/index.js';
import { cartKind } from './cart.js';
import { CounterEntity, CounterProtocol, counterKind, type CounterState } from './counter.js';
import { freeTcpUdpPort } from './dist_helpers.js';
import { timerKind, type TimerState } from './timer_kind.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-metrics-'));
const watch = new UnhandledWatch('@ergo-ts/entities metrics');
const stops: (() => Promise<void>)[] = [];
before(() => watch.start());
after(async () => {
  for (const s of stops.reverse()) await s();
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

const Counter = counterKind(0);
// Stops 50 ms after its last message: the passivation the scrape must count.
const Idle = defineEntity('idle', {
  protocol: CounterProtocol,
  entity: CounterEntity,
  initialState: (): CounterState => ({ n: 0, adds: 0 }),
  passivateAfterMs: 50,
});
// Event-sourced, a snapshot every 4 events; and a kind with reminders.
const Cart = cartKind({ snapshotEvery: 4 });
const Timer = timerKind();

interface Cluster {
  a: Node;
  b: Node;
  ea: Entities;
  eb: Entities;
  metricsUrl: string;
  registry: Registry;
}

let cluster: Cluster | undefined;
/** PromQL against the Prometheus the second test started (unset when it skipped). */
let promQuery: ((q: string) => Promise<{ value: [number, string] }[]>) | undefined;

async function start(): Promise<Cluster> {
  const registrar = await freeTcpUdpPort();
  const names = ['a', 'b'].map((x) => `em${x}${process.pid}@localhost`);
  const nodes: Node[] = [];
  const runtimes: Entities[] = [];
  for (const name of names) {
    const store = SqliteStore.open(join(dir, 'shared.db'));
    const node = await startNode(name, {
      log: { level: 'warning' },
      network: {
        cookie: 'entities-metrics',
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        registrar: createEmbeddedRegistrar({ port: registrar, retryInterval: 100 }),
      },
    });
    const rt = await startEntities(node, {
      leaseScope: 'key',
      store,
      kinds: [Counter, Idle, Cart, Timer],
      members: names,
      probeIntervalMs: 100,
    });
    stops.push(async () => {
      await rt.stop();
      await node.stop();
      await store.close();
    });
    nodes.push(node);
    runtimes.push(rt);
  }
  const registry = new Registry();
  const m = await nodes[0]!.spawnRegister('metrics', Metrics, {}, { host: '127.0.0.1', port: 0, registry });
  const collector = new EntitiesCollector(runtimes[0]!, registry);
  stops.push(() => Promise.resolve(collector.close()));
  const port = Number((await nodes[0]!.inspect(m)).http_port);
  for (const rt of runtimes)
    await eventually(() => rt.members().length === 2, `${rt.node.name} sees both members`, { timeoutMs: 20_000 });
  return {
    a: nodes[0]!,
    b: nodes[1]!,
    ea: runtimes[0]!,
    eb: runtimes[1]!,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    registry,
  };
}

/** The scrape's samples: `name{labels}` (labels sorted, `node` left out) → value. */
async function scrape(url: string): Promise<{ text: string; samples: Map<string, number> }> {
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
  return { text, samples };
}

test('a scrape of the Metrics actor has the entities figures the runtime counted', async () => {
  const c = (cluster = await start());
  // Shards: each node started alone owning all 64, then handed about half to the other.
  const sa = c.ea.stats();
  const sb = c.eb.stats();
  assert.equal(sa.shardsOwned + sb.shardsOwned, 64);
  assert.ok(sa.shardsLost > 0 && sb.shardsLost > 0, 'shards moved when the other member joined');
  assert.equal(sa.shardsOwned, 64 - sa.shardsLost + sa.shardsGained);

  // Three counters owned by a (activated and written there), one idle entity that passivates.
  const keys: string[] = [];
  for (let i = 0; keys.length < 3; i++) if (c.ea.ownerOf(entity(Counter, `c${i}`)) === c.a.name) keys.push(`c${i}`);
  for (const [i, key] of keys.entries()) assert.equal(await c.eb.call(entity(Counter, key), { set: i + 1 }), i + 1);
  let idle = 0;
  while (c.ea.ownerOf(entity(Idle, `i${idle}`)) !== c.a.name) idle++;
  assert.equal(await c.ea.sendDurable(entity(Idle, `i${idle}`), { add: 1 }, 'once'), 'accepted');
  await eventually(() => c.ea.stats().kinds.idle!.passivations === 1, 'the idle entity passivated');

  const { text, samples } = await scrape(c.metricsUrl);
  const s = c.ea.stats();
  const v = (k: string): number | undefined => samples.get(k);
  assert.match(text, /# TYPE ergo_entities_activations_total counter/);
  assert.match(text, /# TYPE ergo_entities_store_seconds histogram/);
  assert.match(text, new RegExp(`ergo_entities_active\\{kind="counter",node="${c.a.name}"\\} 3`));
  assert.equal(v('ergo_entities_active{kind="counter"}'), 3);
  assert.equal(v('ergo_entities_activations_total{kind="counter"}'), 3);
  assert.equal(v('ergo_entities_active{kind="idle"}'), 0);
  assert.equal(v('ergo_entities_activations_total{kind="idle"}'), 1);
  assert.equal(v('ergo_entities_passivations_total{kind="idle"}'), 1);
  assert.equal(v('ergo_entities_refused_writes_total{kind="counter"}'), 0);
  assert.equal(v('ergo_entities_handed_off_total{kind="counter"}'), 0);
  assert.equal(v('ergo_entities_activation_handoffs_total{}'), 0);
  assert.equal(v('ergo_entities_draining{}'), 0);
  assert.equal(v('ergo_entities_members{}'), 2);
  assert.equal(v('ergo_entities_shards{}'), 64);
  assert.equal(v('ergo_entities_shards_owned{}'), s.shardsOwned);
  assert.equal(v('ergo_entities_handoffs_total{direction="out"}'), s.shardsLost);
  assert.equal(v('ergo_entities_handoffs_total{direction="in"}'), s.shardsGained);
  // Store latency: 3 writes of the counters, 1 of the durable message; cumulative buckets.
  const writes = v('ergo_entities_store_seconds_count{operation="write"}');
  assert.equal(writes, 4);
  assert.equal(writes, s.store.write!.count);
  assert.equal(v('ergo_entities_store_seconds_bucket{le="+Inf",operation="write"}'), writes);
  let prev = 0;
  for (const le of s.store.write!.buckets) {
    const b = v(`ergo_entities_store_seconds_bucket{le="${le}",operation="write"}`)!;
    assert.ok(b >= prev && b <= writes!, `bucket le=${le} is cumulative`);
    prev = b;
  }
  assert.ok(v('ergo_entities_store_seconds_sum{operation="write"}')! > 0);
  // Activations with key leases take the lease and read state and inbox in one operation.
  assert.equal(v('ergo_entities_store_seconds_count{operation="acquireAndLoad"}'), 4);
  assert.equal(v('ergo_entities_store_seconds_count{operation="acquire"}'), undefined);
  assert.equal(v('ergo_entities_store_errors_total{operation="write"}'), 0);
  assert.equal(typeof v('ergo_entities_store_in_flight{}'), 'number');
  // The base families are still there: the collector adds to the Metrics actor's registry.
  assert.ok(samples.has('ergo_processes_total{}'));
  assert.throws(() => new EntitiesCollector({} as never, new Registry()), { code: 'ERR_METRICS_BAD_SOURCE' });
  assert.throws(() => new EntitiesCollector(c.ea, c.registry), { code: 'ERR_METRICS_DUPLICATE' });
});

test('journal writes, events since the snapshot and reminder fires are in the scrape', async () => {
  const c = cluster ?? (cluster = await start());
  let n = 0;
  while (c.ea.ownerOf(entity(Cart, `k${n}`)) !== c.a.name) n++;
  // Five events, a snapshot every 4: one snapshot (at version 4), one event after it.
  for (let i = 0; i < 5; i++) assert.equal(await c.eb.call(entity(Cart, `k${n}`), { put: 'sku', qty: 1 }), i + 1);
  let t = 0;
  while (c.ea.ownerOf(entity(Timer, `t${t}`)) !== c.a.name) t++;
  const timer = entity(Timer, `t${t}`);
  assert.deepEqual(await c.ea.call(timer, { remind: 'ping', when: { afterMs: 1 }, payload: { n: 1 } }), { ok: true });
  await eventually(
    async () => ((await c.ea.call(timer, 'fired')) as TimerState).count === 1 || undefined,
    'the reminder fired',
  );
  // The scheduler counts a fire once the entity's inbox accepted it: maybe a moment after.
  await eventually(() => c.ea.stats().reminders!.fired === 1 || undefined, 'the fire counted');

  const { text, samples } = await scrape(c.metricsUrl);
  const v = (k: string): number | undefined => samples.get(k);
  assert.equal(v('ergo_entities_events_persisted_total{kind="cart"}'), 5);
  assert.equal(v('ergo_entities_events_persisted_total{kind="counter"}'), 0);
  assert.equal(v('ergo_entities_snapshots_total{kind="cart"}'), 1);
  assert.equal(v('ergo_entities_events_since_snapshot{kind="cart"}'), 1);
  assert.equal(v('ergo_entities_reminders_fired_total{}'), 1);
  assert.equal(v('ergo_entities_reminders_failed_total{}'), c.ea.stats().reminders!.failed);
  assert.equal(typeof v('ergo_entities_reminders_in_flight{}'), 'number');
  assert.match(text, /# TYPE ergo_entities_reminder_lateness_seconds histogram/);
  assert.equal(v('ergo_entities_reminder_lateness_seconds_count{}'), 1);
  assert.equal(v('ergo_entities_reminder_lateness_seconds_bucket{le="+Inf"}'), 1);
  assert.ok(v('ergo_entities_reminder_lateness_seconds_sum{}')! >= 0, 'never early');
  // The inbox sweeper's gauges (every message here was handled: nothing waits).
  assert.match(text, /# TYPE ergo_entities_inbox_oldest_pending_seconds gauge/);
  assert.equal(v('ergo_entities_inbox_pending_keys{}'), c.ea.stats().inbox!.pendingKeys);
  assert.equal(typeof v('ergo_entities_inbox_oldest_pending_seconds{}'), 'number');
  assert.equal(v('ergo_entities_inbox_activations_total{}'), c.ea.stats().inbox!.activated);
  assert.equal(v('ergo_entities_inbox_activation_failures_total{}'), c.ea.stats().inbox!.failed);

  // A projection of the carts, run here: its figures per projection, as the runtime lists them.
  const projection = await startProjection(c.a, {
    name: 'cart-view',
    cluster: c.ea,
    kind: Cart,
    pollIntervalMs: 20,
    standbyIntervalMs: 20,
    handler: () => undefined,
  });
  try {
    await eventually(() => projection.stats().caughtUp && projection.delivered() >= 5, 'the projection caught up');
    const scraped = (await scrape(c.metricsUrl)).samples;
    const p = projection.stats();
    const label = '{projection="cart-view"}';
    assert.equal(scraped.get(`ergo_entities_projection_running${label}`), 1);
    assert.equal(scraped.get(`ergo_entities_projection_offset${label}`), p.offset);
    assert.equal(scraped.get(`ergo_entities_projection_events_total${label}`), p.delivered);
    assert.equal(scraped.get(`ergo_entities_projection_caught_up${label}`), 1);
    assert.equal(
      scraped.get(`ergo_entities_projection_last_handled_timestamp_seconds${label}`),
      p.lastHandledAt / 1000,
    );
    assert.equal(scraped.get(`ergo_entities_projection_failures_total${label}`), 0);
  } finally {
    await projection.stop();
  }
  const gone = (await scrape(c.metricsUrl)).samples;
  assert.equal(gone.get('ergo_entities_projection_running{projection="cart-view"}'), undefined, 'stopped: no sample');
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

test('a real Prometheus scrapes the entities families and answers PromQL over them', async (t) => {
  const bin = prometheusBinary();
  if (bin === undefined) {
    const why = 'prometheus not found (apt-get install prometheus, or set PROMETHEUS)';
    if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return;
  }
  const c = cluster ?? (cluster = await start());
  const pdir = mkdtempSync(join(tmpdir(), 'ergo-entities-prom-'));
  const config = join(pdir, 'prometheus.yml');
  const target = new URL(c.metricsUrl).host;
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: entities\n    static_configs:\n      - targets: ['${target}']\n`,
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
  const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return body.data.result;
  };
  promQuery = query;
  const name = c.a.name;
  // Poll until Prometheus has a sample (a hang guard, not a timing check).
  const acts = await eventually(
    async () => {
      if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}: ${log}`);
      const r = await query(`ergo_entities_activations_total{node="${name}",kind="counter"}`);
      return r.length === 1 ? r : undefined;
    },
    'an entities sample in Prometheus',
    { timeoutMs: 90_000, intervalMs: 250 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}:\n${log}`, { cause: e });
  });
  assert.equal(Number(acts[0]!.value[1]), c.ea.stats().kinds.counter!.activations);
  // The histogram is a real one to PromQL: a quantile of the write latency is a finite number.
  const q = await query(
    `histogram_quantile(0.5, sum by (le) (ergo_entities_store_seconds_bucket{node="${name}",operation="write"}))`,
  );
  assert.equal(q.length, 1);
  assert.ok(Number.isFinite(Number(q[0]!.value[1])), `a finite median write latency, got ${q[0]!.value[1]}`);
  const owned = await query(`ergo_entities_shards_owned{node="${name}"}`);
  assert.equal(Number(owned[0]!.value[1]), c.ea.stats().shardsOwned);
  // The journal and reminder families, as PromQL sees them.
  const s = c.ea.stats();
  const events = await query(`ergo_entities_events_persisted_total{node="${name}",kind="cart"}`);
  assert.equal(Number(events[0]!.value[1]), s.kinds.cart!.eventsPersisted);
  const fired = await query(`ergo_entities_reminders_fired_total{node="${name}"}`);
  assert.equal(Number(fired[0]!.value[1]), s.reminders!.fired);
  const late = await query(`histogram_quantile(0.99, ergo_entities_reminder_lateness_seconds_bucket{node="${name}"})`);
  assert.equal(late.length, 1);
  assert.ok(Number.isFinite(Number(late[0]!.value[1])), `a finite p99 reminder lateness, got ${late[0]!.value[1]}`);
});

test('a drain shows in the scrape: draining, and each activation handed off counted per kind', async () => {
  const c = cluster ?? (cluster = await start());
  const active = c.ea.stats().kinds.counter!.active;
  assert.ok(active > 0, 'node a runs counters to hand off');
  const activeAll = Object.values(c.ea.stats().kinds).reduce((n, k) => n + k.active, 0);
  await c.ea.drain();
  const { samples } = await scrape(c.metricsUrl);
  const v = (k: string): number | undefined => samples.get(k);
  assert.equal(v('ergo_entities_draining{}'), 1);
  assert.equal(v('ergo_entities_handed_off_total{kind="counter"}'), active);
  assert.equal(v('ergo_entities_handed_off_total{kind="idle"}'), 0);
  assert.equal(v('ergo_entities_activation_handoffs_total{}'), c.ea.stats().handOffs);
  assert.equal(v('ergo_entities_activation_handoffs_total{}'), activeAll);
  assert.equal(v('ergo_entities_active{kind="counter"}'), 0);
  // Prometheus (when the test before started it) sees the same on its next scrapes.
  const query = promQuery;
  if (query === undefined) return;
  const name = c.a.name;
  await eventually(
    async () => {
      const d = await query(`ergo_entities_draining{node="${name}"}`);
      const h = await query(`sum(ergo_entities_handed_off_total{node="${name}"})`);
      return d.length === 1 && Number(d[0]!.value[1]) === 1 && h.length === 1 && Number(h[0]!.value[1]) === activeAll
        ? true
        : undefined;
    },
    'Prometheus has the drain',
    { timeoutMs: 60_000, intervalMs: 250 },
  );
});

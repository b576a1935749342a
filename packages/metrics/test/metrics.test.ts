// @ergo-ts/metrics (issue 22 item 3; EXTRAS §6 Metrics, §9 health): the bounded top-N against a
// full sort, the collector's Ergo metric names and figures on a live node, the Metrics actor over
// HTTP with custom metrics removed when their owner ends, and the Health actor's probe status
// codes across a signal's register / heartbeat / lapse / down / end.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { Gauge, Registry } from 'prom-client';

import { Actor, ProcessID, startNode, type Atom, type ErgoError, type Node, type PID, type Ref } from 'ergo-ts';

import {
  ErgoCollector,
  Health,
  Metrics,
  Probe,
  Radar,
  createRadarApplication,
  TopN,
  TopNOrder,
  counterAdd,
  gaugeSet,
  heartbeat,
  histogramObserve,
  registerCounter,
  registerGauge,
  registerHistogram,
  registerService,
  registerTopN,
  signalDown,
  topNObserve,
  unregisterService,
} from '../src/index.js';

/** The value of a sample line `name{labels} value` in a text exposition (labels matched as a substring). */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (!line.includes(labels)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

class Idle extends Actor {}

/** Blocks in a handler until released, so messages pile up in its mailbox. */
class Blocker extends Actor {
  static release: (() => void) | null = null;
  override handleMessage(): Promise<void> | void {
    if (Blocker.release !== null) return;
    return new Promise<void>((resolve) => {
      Blocker.release = resolve;
    });
  }
}

/** Registers metrics on command and updates them (the owner of custom metrics). */
class Owner extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<unknown> {
    if (req === 'register') {
      await registerGauge(this, 'app_queue_len', 'queue length', ['queue']);
      await registerCounter(this, 'app_jobs_total', 'jobs done');
      await registerHistogram(this, 'app_job_seconds', 'job time', [], [0.1, 1]);
      await registerTopN(this, 'app_slowest', 'slowest jobs', 2, TopNOrder.Max, ['job']);
      return 'ok';
    }
    if (req === 'update') {
      gaugeSet(this, 'app_queue_len', 7, ['in']);
      counterAdd(this, 'app_jobs_total', 3);
      histogramObserve(this, 'app_job_seconds', 0.5);
      for (const [job, v] of [
        ['a', 1],
        ['b', 5],
        ['c', 3],
      ] as const)
        topNObserve(this, 'app_slowest', v, [job]);
      return 'ok';
    }
    if (req === 'bad') {
      try {
        await registerGauge(this, 'app_queue_len', 'again');
        return 'registered twice';
      } catch (err) {
        return (err as ErgoError).code;
      }
    }
    return undefined;
  }
}

/** Registers health signals on command. */
class Service extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown): Promise<unknown> {
    const r = req as { op: string; signal: string; probe?: number; timeout?: number };
    if (r.op === 'register') await registerService(this, r.signal, r.probe, r.timeout);
    else if (r.op === 'beat') heartbeat(this, r.signal);
    else if (r.op === 'down') signalDown(this, r.signal);
    else if (r.op === 'unregister') return unregisterService(this, r.signal);
    else if (r.op === 'bad') {
      try {
        await registerService(this, '', Probe.Readiness);
        return 'accepted';
      } catch (err) {
        return (err as ErgoError).code;
      }
    }
    return 'ok';
  }
}

describe('TopN', () => {
  test('keeps the N largest, as a full sort would', () => {
    let seed = 42;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % 1000);
    for (const n of [0, 1, 5, 50]) {
      const values = Array.from({ length: 2000 }, rnd);
      const heap = new TopN<number>(n);
      values.forEach((v, i) => heap.offer(v, i));
      const got = heap.sorted().map((e) => e.score);
      const want = [...values].sort((a, b) => b - a).slice(0, n);
      assert.deepEqual(got, want, `n=${n}`);
    }
  });
  test('rejects a bad limit', () => {
    assert.throws(() => new TopN(-1), RangeError);
    assert.throws(() => new TopN(1.5), RangeError);
  });
});

describe('collector and Metrics actor', () => {
  let node: Node;
  before(async () => {
    node = await startNode(`metrics${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
  });
  after(async () => {
    await node.stop();
  });

  test('Ergo names and figures: process counts, spawned/terminated, mailbox top', async () => {
    const registry = new Registry();
    const c = new ErgoCollector(node, registry, { topN: 3, nodejs: false });
    try {
      const pids: PID[] = [];
      for (let i = 0; i < 20; i++) pids.push(await node.spawn(Idle, {}));
      const blocker = await node.spawn(Blocker, {});
      for (let i = 0; i < 12; i++) node.send(blocker, i); // one runs (blocks), 11 wait
      await eventually(() => Blocker.release !== null, 'the blocker to run');
      node.kill(pids[0]!);
      c.collect();
      const text = await registry.metrics();
      const total = node.info().processesTotal;
      assert.equal(sample(text, 'ergo_processes_total', `node="${node.name}"`), total);
      assert.equal(sample(text, 'ergo_processes_spawned_total'), 21);
      assert.equal(sample(text, 'ergo_processes_terminated_total'), 1);
      assert.equal(sample(text, 'ergo_mailbox_depth_max'), 11);
      assert.equal(sample(text, 'ergo_mailbox_depth_top', `pid="${blocker.toString()}"`), 11);
      assert.equal(sample(text, 'ergo_mailbox_depth_distribution', 'range="50"'), 1);
      assert.equal(sample(text, 'ergo_process_messages_in_top', `pid="${blocker.toString()}"`), 12);
      for (const name of [
        'ergo_node_uptime_seconds',
        'ergo_memory_used_bytes',
        'ergo_cpu_cores',
        'ergo_connected_nodes_total',
        'nodejs_eventloop_utilization',
      ]) {
        assert.notEqual(sample(text, name), undefined, name);
      }
      Blocker.release!();
      for (const pid of pids.slice(1)) node.kill(pid);
      node.kill(blocker);
    } finally {
      c.close();
    }
  });

  test('served over HTTP; custom metrics appear, and leave with their owner', async () => {
    const m = await node.spawnRegister('metrics', Metrics, {}, { port: 0 });
    const port = Number((await node.inspect(m)).http_port);
    const scrape = async (): Promise<string> => {
      const res = await fetch(`http://localhost:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      return res.text();
    };
    let text = await scrape();
    assert.ok(text.includes('# TYPE ergo_processes_total gauge'));
    assert.notEqual(sample(text, 'nodejs_heap_size_used_bytes'), undefined, 'prom-client default metrics');
    assert.notEqual(sample(text, 'nodejs_eventloop_lag_p99_seconds'), undefined);
    assert.equal((await fetch(`http://localhost:${port}/other`)).status, 404);

    const owner = await node.spawn(Owner, {});
    assert.equal(await node.call(owner, 'register'), 'ok');
    assert.equal(await node.call(owner, 'bad'), 'ERR_INCORRECT');
    assert.equal(await node.call(owner, 'update'), 'ok');
    await eventually(async () => sample(await scrape(), 'app_jobs_total') === 3, 'the updates');
    text = await scrape(); // the TopN was flushed by the previous scrape: observe again
    assert.equal(await node.call(owner, 'update'), 'ok');
    await eventually(async () => {
      text = await scrape();
      return sample(text, 'app_slowest', 'job="b"') === 5;
    }, 'the TopN');
    assert.equal(sample(text, 'app_queue_len', 'queue="in"'), 7);
    assert.equal(sample(text, 'app_slowest', 'job="c"'), 3);
    assert.equal(sample(text, 'app_slowest', 'job="a"'), undefined, 'only the top 2');
    assert.equal(sample(text, 'app_job_seconds_bucket', 'le="1"'), 2);
    assert.ok(text.includes(`node="${node.name}"`));

    node.kill(owner);
    await eventually(async () => !(await scrape()).includes('app_queue_len'), 'the owner’s metrics to go');
    const after = await scrape();
    for (const name of ['app_jobs_total', 'app_job_seconds', 'app_slowest']) assert.ok(!after.includes(name), name);
    node.kill(m);
  });

  test('collectMetrics runs before each scrape; a failing one fails that scrape only (500)', async () => {
    let fail = true;
    class Mine extends Metrics {
      calls = 0;
      override collectMetrics(): void {
        if (fail) {
          fail = false;
          throw new Error('boom');
        }
        (this.registry().getSingleMetric('mine_scrapes') as Gauge).set(++this.calls);
      }
    }
    const registry = new Registry();
    new Gauge({ name: 'mine_scrapes', help: 'scrapes seen by collectMetrics', registers: [registry] });
    const m = await node.spawn(Mine, {}, { port: 0, nodejs: false, registry });
    const port = Number((await node.inspect(m)).http_port);
    assert.equal((await fetch(`http://localhost:${port}/metrics`)).status, 500);
    const res = await fetch(`http://localhost:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(sample(await res.text(), 'mine_scrapes'), 1);
    node.kill(m);
  });

  test('a busy port fails the spawn', async () => {
    const first = await node.spawn(Metrics, {}, { port: 0, nodejs: false });
    const port = Number((await node.inspect(first)).http_port);
    await assert.rejects(node.spawn(Metrics, {}, { port, nodejs: false }), /EADDRINUSE/);
    node.kill(first);
  });
});

describe('Health actor', () => {
  let node: Node;
  let port = 0;
  before(async () => {
    node = await startNode(`health${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
    const h = await node.spawnRegister('health', Health, {}, { port: 0, checkInterval: 20 });
    port = Number((await node.inspect(h)).http_port);
  });
  after(async () => {
    await node.stop();
  });
  const probe = async (p: string): Promise<number> => (await fetch(`http://localhost:${port}/health/${p}`)).status;

  test('register / heartbeat / lapse / down / end', async () => {
    assert.equal(await probe('ready'), 200, 'no signals: healthy');
    const svc = await node.spawn(Service, {});
    assert.equal(await node.call(svc, { op: 'bad' }), 'ERR_INCORRECT');
    assert.equal(
      await node.call(svc, { op: 'register', signal: 'db', probe: Probe.Readiness | Probe.Startup, timeout: 500 }),
      'ok',
    );
    assert.equal(await node.call(svc, { op: 'register', signal: 'loop', probe: Probe.Liveness }), 'ok');
    // Up while heartbeaten (beats inside the poll: no assumption on how fast this machine is).
    const beatUntil = (want: number): Promise<unknown> =>
      eventually(async () => {
        await node.call(svc, { op: 'beat', signal: 'db' });
        return (await probe('ready')) === want;
      }, `readiness ${want}`);
    await beatUntil(200);
    const body = (await (await fetch(`http://localhost:${port}/health/ready`)).json()) as {
      status: string;
      signals: { signal: string; status: string }[];
    };
    assert.deepEqual(
      body.signals.map((s) => s.signal),
      ['db'],
      'only the readiness signals',
    );

    // No heartbeat: the signal lapses; readiness and startup fail, liveness does not.
    await eventually(async () => (await probe('ready')) === 503, 'the heartbeat to lapse');
    assert.equal(await probe('startup'), 503);
    assert.equal(await probe('live'), 200);
    // A heartbeat brings it back.
    await beatUntil(200);
    // An explicit down holds until the next heartbeat.
    await node.call(svc, { op: 'down', signal: 'db' });
    await eventually(async () => (await probe('ready')) === 503, 'the signal to go down');
    await beatUntil(200);
    // Unregister removes it.
    assert.equal(await node.call(svc, { op: 'unregister', signal: 'db' }), true);
    assert.equal(await probe('startup'), 200);

    // The owner ends: its signals go down (liveness here).
    node.kill(svc);
    await eventually(async () => (await probe('live')) === 503, 'the owner’s end to count');
    const live = (await (await fetch(`http://localhost:${port}/health/live`)).json()) as { status: string };
    assert.equal(live.status, 'unhealthy');
    // A new process registering the signal again replaces it.
    const again = await node.spawn(Service, {});
    await node.call(again, { op: 'register', signal: 'loop', probe: Probe.Liveness });
    assert.equal(await probe('live'), 200);
  });
});

describe('Radar', () => {
  test('health and metrics on one port; a busy port leaves nothing running', async () => {
    const node = await startNode(`radar${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
    try {
      const radar = await node.spawn(Radar, {}, { port: 0, nodejs: false });
      const port = Number((await node.inspect(radar)).http_port);
      assert.equal((await fetch(`http://localhost:${port}/health/ready`)).status, 200);
      const text = await (await fetch(`http://localhost:${port}/metrics`)).text();
      assert.ok(text.includes('ergo_processes_total'));
      const svc = await node.spawn(Service, {});
      await node.call(svc, { op: 'register', signal: 'api', probe: Probe.Readiness });
      await node.call(svc, { op: 'down', signal: 'api' });
      await eventually(
        async () => (await fetch(`http://localhost:${port}/health/ready`)).status === 503,
        'readiness down',
      );

      node.kill(radar);
      await eventually(() => !names(node).some((n) => n === 'health' || n === 'metrics'), 'the children to end');
      await eventually(
        async () => (await fetch(`http://localhost:${port}/metrics`).catch(() => null)) === null,
        'the port to close',
      );

      // A busy port: the spawn fails and the children started in init end with it.
      const blocker = net.createServer();
      await new Promise<void>((r) => blocker.listen(0, 'localhost', r));
      const busy = (blocker.address() as net.AddressInfo).port;
      try {
        await assert.rejects(node.spawn(Radar, {}, { port: busy, nodejs: false }), /EADDRINUSE/);
        await eventually(() => !names(node).some((n) => n === 'health' || n === 'metrics'), 'the children to end');
      } finally {
        blocker.close();
      }
    } finally {
      await node.stop();
    }
  });
});

function names(node: Node): string[] {
  return node.processList().map((pid) => {
    try {
      return node.processName(pid);
    } catch {
      return ''; // ended meanwhile
    }
  });
}

describe('Radar application', () => {
  test('started with the node, stopped with applicationStop', async () => {
    const node = await startNode(`radarapp${process.pid}@localhost`, {
      log: { defaultLogger: { disable: true } },
      applications: [createRadarApplication({ port: 0, nodejs: false })],
    });
    try {
      const port = Number((await node.inspect('radar')).http_port);
      assert.equal((await fetch(`http://localhost:${port}/health/live`)).status, 200);
      const text = await (await fetch(`http://localhost:${port}/metrics`)).text();
      assert.equal(sample(text, 'ergo_applications_running'), 2, 'system_app and radar');
      await node.applicationStop('radar');
      // The member ends within the stop; its linked children follow on their exit signal.
      assert.ok(!names(node).includes('radar'));
      await eventually(() => !names(node).some((n) => n === 'health' || n === 'metrics'), 'the children to end');
    } finally {
      await node.stop();
    }
  });
});

describe('network metrics', () => {
  test('a remote node in another OS process: connected, messages out, lost after kill -9', async () => {
    const cookie = 'metrics-secret';
    const child = spawn(process.execPath, [new URL('./remote_child.js', import.meta.url).pathname, cookie], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    const node = await (async () => {
      const first = await new Promise<string>((resolve, reject) => {
        readline.createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      const { name, port } = JSON.parse(first) as { name: string; port: number };
      const n = await startNode(`parent${process.pid}@localhost`, {
        log: { defaultLogger: { disable: true } },
        network: {
          cookie,
          acceptors: [],
          registrar: null,
          routes: [
            {
              match: name.replace(/[.$]/g, '\\$&'),
              route: {
                route: {
                  host: '127.0.0.1',
                  port,
                  tls: false,
                  handshakeVersion: { name: '', release: '' },
                  protoVersion: { name: '', release: '' },
                },
              },
            },
          ],
        },
      });
      return Object.assign(n, { childName: name });
    })();
    try {
      const registry = new Registry();
      const c = new ErgoCollector(node, registry, { nodejs: false });
      const remote = node.childName;
      await node.network().getNode(remote);
      for (let i = 0; i < 5; i++) node.send(new ProcessID('sink' as Atom, remote as Atom), i);
      let text = '';
      await eventually(async () => {
        c.collect();
        text = await registry.metrics();
        const out = sample(text, 'ergo_remote_messages_out_total', `remote_node="${remote}"`) ?? 0;
        return out >= 5 && (sample(text, 'ergo_remote_bytes_out_total', `remote_node="${remote}"`) ?? 0) > 0;
      }, 'the messages to be counted');
      assert.equal(sample(text, 'ergo_connected_nodes_total'), 1);
      assert.equal(sample(text, 'ergo_connections_established_total'), 1);
      assert.notEqual(sample(text, 'ergo_remote_node_uptime_seconds', `remote_node="${remote}"`), undefined);

      child.kill('SIGKILL');
      await eventually(async () => {
        c.collect();
        text = await registry.metrics();
        return sample(text, 'ergo_connections_lost_total') === 1;
      }, 'the connection loss');
      assert.equal(sample(text, 'ergo_connected_nodes_total'), 0);
      assert.equal(
        sample(text, 'ergo_remote_messages_out_total', `remote_node="${remote}"`),
        undefined,
        'series of a gone node leave',
      );
      c.close();
    } finally {
      child.kill('SIGKILL');
      await exited;
      await node.stop();
    }
  });
});

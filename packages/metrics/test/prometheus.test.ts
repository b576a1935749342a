// @ergo-ts/metrics against a real Prometheus (Debian's `prometheus`, /usr/bin/prometheus or
// PROMETHEUS): the test starts it on a free port with a temporary data dir and a generated config
// that scrapes the node's Metrics actor every second, then asks PromQL through /api/v1/query for
// the node's figures. Under CI=true a missing prometheus fails; otherwise the test skips.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { eventually, serverPort } from '@ergo-ts/test-support';
import { Actor, startNode, type Node } from 'ergo-ts';

import { Metrics } from '../src/index.js';

function prometheusBinary(): { path: string } | { missing: string } {
  const p = process.env.PROMETHEUS ?? '/usr/bin/prometheus';
  try {
    accessSync(p, constants.X_OK);
    return { path: p };
  } catch {
    return { missing: `prometheus not found at ${p} (apt-get install prometheus, or set PROMETHEUS)` };
  }
}

class Idle extends Actor {}

let node: Node | undefined;
let prom: ChildProcess | undefined;
let dir = '';
let promLog = '';

after(async () => {
  if (prom !== undefined && prom.exitCode === null) {
    const exited = new Promise((r) => prom!.once('exit', r));
    prom.kill('SIGTERM');
    await exited;
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  await node?.stop();
});

test('Prometheus scrapes the node and answers PromQL with its figures', async (t) => {
  const bin = prometheusBinary();
  if ('missing' in bin) {
    if (process.env.CI === 'true') throw new Error(`${bin.missing}: required under CI`);
    console.log(`# skipped: ${bin.missing}`);
    t.skip(bin.missing);
    return;
  }
  node = await startNode(`prom${process.pid}@localhost`, {
    systemApp: false, // counts processes: only the test's own
    log: { defaultLogger: { disable: true } },
  });
  const m = await node.spawnRegister('metrics', Metrics, {}, { host: '127.0.0.1', port: 0 });
  const metricsPort = Number((await node.inspect(m)).http_port);
  const N = 250;
  for (let i = 0; i < N; i++) await node.spawn(Idle, {});
  const expected = node.info().processesTotal; // N plus the Metrics actor
  assert.equal(expected, N + 1);

  dir = mkdtempSync(path.join(os.tmpdir(), 'ergo-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: ergo',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${metricsPort}']`,
      '',
    ].join('\n'),
  );
  const promPort = await serverPort();
  prom = spawn(
    bin.path,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prom.stdout!.on('data', (d: Buffer) => (promLog += d.toString()));
  prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
  prom.on('error', (err) => (promLog += `spawn error: ${err.message}\n`));

  // `at`: evaluate at that instant (seconds since the epoch), not now.
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
    assert.equal(body.status, 'success');
    return body.data.result;
  };
  // Poll until Prometheus has scraped (a guard against hanging, not a timing check). Every query
  // below is evaluated at the instant of that scrape: a later scrape may time out on a loaded
  // machine (1 s), and its failure marks the target down and every series of it stale from then
  // on, so a query at "now" could find `up` 0 and no samples though the node answered.
  const [server, name] = [prom, node.name];
  const scrape = await eventually(
    async () => {
      if (server.exitCode !== null) return { exited: server.exitCode };
      // A refused query (not listening yet) is retried.
      const scraped = await query(`timestamp(ergo_processes_total{node="${name}"})`);
      return scraped.length > 0 ? { at: scraped[0]!.value[1] } : undefined;
    },
    'a sample from Prometheus',
    { timeoutMs: 90_000, intervalMs: 250 },
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}:\n${promLog}`, { cause: e });
  });
  if ('exited' in scrape) throw new Error(`prometheus exited ${scrape.exited}:\n${promLog}`);
  const at = scrape.at;
  const result = await query(`ergo_processes_total{node="${node.name}"}`, at);
  assert.equal(result.length, 1);
  assert.equal(result[0]!.metric.job, 'ergo');
  assert.equal(Number(result[0]!.value[1]), expected);

  const up = await query('up{job="ergo"}', at);
  assert.equal(Number(up[0]!.value[1]), 1, 'the scrape target is up');
  // A Node.js default metric and a top-N family come through as well.
  assert.ok((await query(`nodejs_heap_size_used_bytes{node="${node.name}"}`, at)).length === 1);
  const top = await query(`ergo_process_messages_in_top{node="${node.name}"}`, at);
  assert.ok(top.every((s) => s.metric.pid !== undefined && s.metric.behavior !== undefined));
});

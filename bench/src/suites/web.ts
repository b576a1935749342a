// Web and TCP meta processes against bare Node (issue 11 performance; rows in the 'meta processes'
// table next to suites/meta.ts's one-connection echo): HTTP requests/s through a
// WebWorker pool (WebServer → WebHandler → Pool of 4 WebWorkers) versus a bare node:http handler,
// and TCP echo MB/s through the meta TCP server (connection metas → an echo actor) versus a bare
// net echo. Each peer runs in its own child process; the load comes from a forked generator
// (bench/dist/lib/netload.js) so client and server do not share a thread. Target: ergo-ts
// ≥ 70 % of bare Node in the same run (the table's ratio column).

import { fork } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

import { Actor, Pool, WebWorker, startNode, type HandlerResult, type Node, type PID, type PoolOptions } from 'ergo-ts';
import { MessageTCP, WebHandler, createTCPServer, createWebServer } from 'ergo-ts/meta';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadRequest, LoadResult } from '../lib/netload.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const GROUP = 'meta processes';
const HTTP_ROW = 'HTTP GET, 16 connections × 16 pipelined';
const TCP_ROW = 'TCP echo, 8 connections × 64 KiB in flight';
const HTTP_CONCURRENCY = 16;
const TCP_CONNECTIONS = 8;

export const scenarios: ScenarioSpec[] = [
  { id: 'http', peers: ['ergo-ts', 'node'], timeout: 120 },
  { id: 'tcp-echo', peers: ['ergo-ts', 'node'], timeout: 120 },
];

const LOAD = fileURLToPath(new URL('../lib/netload.js', import.meta.url));

function load(req: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(LOAD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve(m as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${String(code)}`));
    });
    child.send(req);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

class OkWorker extends WebWorker {
  override handleGet(_from: PID, _req: IncomingMessage, res: ServerResponse): HandlerResult {
    res.setHeader('content-type', 'text/plain');
    res.end('ok');
  }
}

class OkPool extends Pool {
  override init(): PoolOptions {
    return { poolSize: 4, workerFactory: OkWorker };
  }
}

/** Echoes every MessageTCP back to its connection. */
class Echo extends Actor {
  override handleMessage(_from: PID, m: unknown): HandlerResult {
    if (m instanceof MessageTCP) this.send(m.id!, new MessageTCP(undefined, m.data));
  }
}

class Run {
  constructor(readonly fn: (a: Owner) => unknown) {}
}
/** Owns the metas of the run. */
class Owner extends Actor {
  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    return request instanceof Run ? request.fn(this) : undefined;
  }
}

/** Starts the server of `peer`; returns its port and how to stop it. */
async function startServer(scenario: string, peer: string): Promise<{ port: number; stop: () => Promise<void> }> {
  if (peer === 'node') {
    if (scenario === 'http') {
      const s = http.createServer((_req, res) => {
        res.setHeader('content-type', 'text/plain');
        res.end('ok');
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return {
        port: (s.address() as net.AddressInfo).port,
        stop: () => new Promise((r) => (s.closeAllConnections(), s.close(() => r()))),
      };
    }
    const s = net.createServer((c) => {
      c.setNoDelay(true);
      c.on('data', (d) => c.write(d));
      c.on('error', () => undefined);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { port: (s.address() as net.AddressInfo).port, stop: () => new Promise((r) => s.close(() => r())) };
  }
  const node: Node = await startNode(`bench_web_${process.pid}@localhost`, {
    log: { defaultLogger: { disable: true } },
  });
  const owner = await node.spawn(Owner, {});
  let port: number;
  if (scenario === 'http') {
    await node.spawnRegister('ok_pool', OkPool, {});
    const handler = new WebHandler({ worker: 'ok_pool' });
    const server = await createWebServer({ host: '127.0.0.1', port: 0, handler });
    await node.call(owner, new Run((a) => (a.spawnMeta(handler), a.spawnMeta(server))));
    port = server.port;
  } else {
    await node.spawnRegister('echo', Echo, {});
    const server = await createTCPServer({ host: '127.0.0.1', port: 0, processPool: ['echo'] });
    await node.call(owner, new Run((a) => a.spawnMeta(server)));
    port = server.address().port;
  }
  return { port, stop: () => node.stop() };
}

/** The suite: one scenario × peer per child process (see `scenarios`). */
export async function webSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const rounds = ctx?.rounds ?? 5;
  const warmup = ctx?.warmup ?? 2;
  const ms = ctx?.quick ? 500 : 1000;
  const list = ctx?.scenario === undefined ? scenarios.map((s) => s.id) : [ctx.scenario];
  const peer = ctx?.peer ?? 'ergo-ts';
  for (const scenario of list) {
    const { port, stop } = await startServer(scenario, peer);
    const samples: number[] = [];
    for (let r = 0; r < warmup + rounds; r++) {
      const res =
        scenario === 'http'
          ? await load({ mode: 'http', port, concurrency: HTTP_CONCURRENCY, ms })
          : await load({ mode: 'tcp', port, concurrency: TCP_CONNECTIONS, ms });
      if (res.errors > 0) throw new Error(`${scenario}/${peer}: ${res.errors} failed requests`);
      const rate = scenario === 'http' ? res.count / res.seconds : res.bytes / res.seconds / 1e6;
      if (r >= warmup) samples.push(rate);
    }
    await stop();
    report({
      group: GROUP,
      name: scenario === 'http' ? HTTP_ROW : TCP_ROW,
      value: median(samples),
      samples,
      unit: scenario === 'http' ? 'req/s' : 'MB/s',
      peer,
    });
  }
}

// Meta processes (issue 11 performance): TCP echo throughput through a TCP server meta and an
// echoing actor, against a bare node:net echo server in the same kind of child process.
//
// One client connection writes WRITES × SIZE-byte writes (honouring back-pressure) and the clock
// stops when every byte came back. ergo-ts: each read becomes a MessageTCP to an actor, which
// sends it back to the connection's alias (a socket write). node: `socket.on('data', d =>
// socket.write(d))`. Figure: MB/s echoed; the issue's target is ≥ 70 % of bare node. The bulk
// row (8 connections × 64 KiB in flight, issue 24 §2) is web.ts's `tcp-echo`.

import * as net from 'node:net';

import { Actor, startNode, type PID } from 'ergo-ts';
import { createTCPServer, MessageTCP } from 'ergo-ts/meta';
import { rate, reportSamples, runRounds } from '../lib/measure.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const GROUP = 'meta processes';
const NAME = 'TCP echo, 100-byte writes, one connection';
const SIZE = 100;
const WRITES = 200_000;

export const scenarios: ScenarioSpec[] = [{ id: 'tcp-echo', peers: ['ergo-ts', 'node'] }];

/** Writes WRITES × SIZE bytes to an echo server and returns MB/s once all came back. */
async function echoRound(port: number, writes: number): Promise<number> {
  const c = net.connect({ port, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  c.setNoDelay(true);
  const total = writes * SIZE;
  let got = 0;
  const t0 = performance.now();
  const done = new Promise<void>((resolve) =>
    c.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= total) resolve();
    }),
  );
  const buf = Buffer.alloc(SIZE, 1);
  for (let i = 0; i < writes; i++) {
    if (!c.write(buf)) await new Promise((r) => c.once('drain', r));
  }
  await done;
  const ms = performance.now() - t0;
  c.destroy();
  return rate(total, ms) / 1e6;
}

class Echo extends Actor {
  port = 0;
  override async init(): Promise<void> {
    const server = await createTCPServer({ host: '127.0.0.1', port: 0 });
    this.spawnMeta(server);
    this.port = server.address().port;
  }
  override handleMessage(_from: PID, m: unknown): undefined {
    if (m instanceof MessageTCP) this.send(m.id!, new MessageTCP(undefined, m.data));
    return undefined;
  }
  override handleCall(): unknown {
    return this.port;
  }
}

export async function metaSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const writes = c.quick ? WRITES / 4 : WRITES;
  if (c.peer === 'node') {
    const server = net.createServer((s) => s.on('data', (d) => s.write(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const samples = await runRounds(c, () => echoRound(port, writes));
    server.close();
    reportSamples(report, { group: GROUP, name: NAME, unit: 'MB/s', peer: 'node' }, samples);
    return;
  }
  if (c.peer !== 'ergo-ts') return;
  const node = await startNode(`bench_meta_${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
  const pid = await node.spawn(Echo);
  const port = (await node.call(pid, 'port')) as number;
  const samples = await runRounds(c, () => echoRound(port, writes));
  await node.stop();
  reportSamples(report, { group: GROUP, name: NAME, unit: 'MB/s' }, samples);
}

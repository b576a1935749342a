// Tabs as nodes (@ergo-ts/tabs), beside a raw `ws` echo on the same machine: the round trip
// tab → server process → tab (a tab's call to a process on the gateway node), the gateway's
// memory per idle tab and its join rate (the tabs in a child OS process, so the gateway's heap is
// its own), and a broadcast to many tabs (one publish, time until the last has it). Standalone,
// not in `npm run bench`: `node --expose-gc bench/dist/tabs.js [tabs=1000] [calls=5000]`.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import {
  Actor,
  Event,
  ProcessID,
  startNode,
  type Atom,
  type MessageEvent,
  type Node,
  type PID,
  type Ref,
} from 'ergo-ts';
import { createTabGateway, joinGateway, type TabNode } from '@ergo-ts/tabs';
import { WebSocket, WebSocketServer } from 'ws';

const quiet = { systemApp: false, log: { defaultLogger: { output: { write: () => true } } } } as const;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

class Echo extends Actor {
  override handleCall(_from: PID, _ref: unknown, req: unknown): unknown {
    return req;
  }
}

class Publisher extends Actor {
  override init(): void {
    this.token = this.registerEvent('news');
  }
  token!: Ref;
  override handleMessage(_from: PID, m: unknown): void {
    this.sendEvent('news', this.token, m);
  }
}

async function joinMany(url: string, count: number): Promise<TabNode[]> {
  const tabs: TabNode[] = [];
  for (let i = 0; i < count; i += 100)
    tabs.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, () => joinGateway({ url, token: 't', node: quiet })),
      )),
    );
  return tabs;
}

/** The child: joins `count` tabs to `url`, reports the join time and its heap per tab, waits. */
async function child(url: string, count: number): Promise<void> {
  gc();
  const h0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const tabs = await joinMany(url, count);
  const ms = performance.now() - t0;
  gc();
  const perTab = (process.memoryUsage().heapUsed - h0) / count;
  process.send!({ kind: 'joined', ms, perTab });
  process.on('message', () => {
    void Promise.all(tabs.map((t) => t.leave())).then(() => process.exit(0));
  });
}

async function roundTrips(g: Node, url: string, calls: number): Promise<number> {
  const [tab] = await joinMany(url, 1);
  const echo = new ProcessID('echo' as Atom, g.name);
  for (let i = 0; i < 200; i++) await tab!.node.call(echo, i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await tab!.node.call(echo, i);
  const perSecond = calls / ((performance.now() - t0) / 1000);
  await tab!.leave();
  return perSecond;
}

async function wsEcho(calls: number): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (s) => s.on('message', (d) => s.send(d)));
  const port = (wss.address() as { port: number }).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise<void>((r) => ws.once('open', () => r()));
  const once = (): Promise<void> => new Promise((r) => ws.once('message', () => r()));
  const msg = Buffer.alloc(64);
  for (let i = 0; i < 200; i++) {
    const p = once();
    ws.send(msg);
    await p;
  }
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const p = once();
    ws.send(msg);
    await p;
  }
  const perSecond = calls / ((performance.now() - t0) / 1000);
  ws.close();
  await new Promise<void>((r) => wss.close(() => r()));
  return perSecond;
}

async function broadcast(g: Node, url: string, count: number): Promise<number> {
  const pub = await g.spawnRegister('news', Publisher);
  const tabs = await joinMany(url, count);
  let n = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  class Sub extends Actor {
    override async init(): Promise<void> {
      await this.monitorEvent(new Event('news' as Atom, g.name));
    }
    override handleEvent(_m: MessageEvent): void {
      if (++n === count) done();
    }
  }
  await Promise.all(tabs.map((t) => t.node.spawn(Sub)));
  const t0 = performance.now();
  g.send(pub, 1);
  await all;
  const ms = performance.now() - t0;
  await Promise.all(tabs.map((t) => t.leave()));
  return ms;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1000);
  const calls = Number(process.argv[3] ?? 5000);
  const g = await startNode('bench-gw@localhost', quiet);
  await g.spawnRegister('echo', Echo);
  const gw = await createTabGateway(g, {
    admit: () => ({
      names: { echo: true },
      events: ['news'],
      limits: { messagesPerSecond: 1e9, bytesPerSecond: 1e12 },
    }),
  });
  const tabRt = await roundTrips(g, gw.url, calls);
  const wsRt = await wsEcho(calls);
  console.log(`round trip tab → server process → tab: ${tabRt.toFixed(0)}/s (${(1e6 / tabRt).toFixed(0)} µs)`);
  console.log(`round trip raw ws echo (64 B):        ${wsRt.toFixed(0)}/s (${(1e6 / wsRt).toFixed(0)} µs)`);

  gc();
  const h0 = process.memoryUsage().heapUsed;
  const kid = fork(fileURLToPath(import.meta.url), ['child', gw.url, String(count)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const joined = await new Promise<{ ms: number; perTab: number }>((r) => kid.once('message', (m) => r(m as never)));
  gc();
  const perTabGw = (process.memoryUsage().heapUsed - h0) / count;
  console.log(
    `${count} tabs joined in ${joined.ms.toFixed(0)} ms (${((count / joined.ms) * 1000).toFixed(0)} joins/s)`,
  );
  console.log(`gateway heap per idle tab: ${(perTabGw / 1024).toFixed(1)} KB (ws socket, session, link)`);
  console.log(`simulated tab's heap (its own node): ${(joined.perTab / 1024).toFixed(1)} KB`);
  kid.send('leave');
  await new Promise((r) => kid.once('exit', r));

  const ms = await broadcast(g, gw.url, count);
  console.log(`one publish to ${count} tabs: the last has it after ${ms.toFixed(1)} ms`);
  await gw.stop();
  await g.stop();
}

if (process.argv[2] === 'child') await child(process.argv[3]!, Number(process.argv[4]));
else await main();

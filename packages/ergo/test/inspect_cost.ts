// Measures what the inspectors cost on a node with many processes (default 100,000): CPU time
// per wall second of the node while subscribers watch a query, against the same node with no
// subscriber, windows interleaved A/B/A/B in one run (the machine is shared: read the spread).
// Not a test (no timing thresholds in tests): run
//   node packages/ergo/dist/test/inspect_cost.js [processes] [seconds per window]

import { Actor, startNode, SYSTEM_INSPECT, type Event, type MessageEvent } from '../src/index.js';
import {
  RequestInspectNode,
  RequestInspectProcessList,
  RequestInspectProcessPage,
  RequestInspectProcessRange,
} from '../src/gen/inspect.js';

class Idle extends Actor {
  override handleMessage(): void {}
}
class Watch extends Actor {
  seen = 0;
  override handleEvent(_m: MessageEvent): void {
    this.seen++;
  }
  override handleCall(_f: unknown, _r: unknown, req: unknown): unknown {
    const [op, ev] = req as [string, Event];
    if (op === 'sub') return this.monitorEvent(ev).then(() => true);
    this.demonitorEvent(ev);
    return true;
  }
}

const count = Number(process.argv[2] ?? 100_000);
const windowMs = Number(process.argv[3] ?? 5) * 1000;
const node = await startNode(`inspcost${process.pid}@localhost`, { log: { level: 'warning' } });
for (let i = 0; i < count; i++) {
  const pid = await node.spawn(Idle, {});
  if (i % 7 === 0) node.send(pid, i);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
await sleep(500);

function cpuShare(ms: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return sleep(ms).then(() => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / (performance.now() - t0);
  });
}

const queries: [string, unknown][] = [
  ['process list 1000..1999 (Go)', new RequestInspectProcessList({ start: 1000, limit: 1000 })],
  ['process page: by mailbox, 500 rows', new RequestInspectProcessPage({ sort: 'mailbox', limit: 500 })],
  ['process page: by PID, offset 50 000, 500 rows', new RequestInspectProcessPage({ offset: 50_000, limit: 500 })],
  ['process range: name filter, no match (full scan)', new RequestInspectProcessRange({ name: 'nomatch' })],
  ['node info', new RequestInspectNode()],
];
const watcher = await node.spawn(Watch, {});
console.log(`processes: ${node.info().processesTotal}; windows of ${windowMs} ms, idle/subscribed interleaved`);
for (const [label, req] of queries) {
  const idle: number[] = [];
  const busy: number[] = [];
  for (let round = 0; round < 2; round++) {
    idle.push(await cpuShare(windowMs));
    // Asked again each round: an inspector nobody watched for 5 s has gone.
    const r = (await node.call(SYSTEM_INSPECT, req)) as { event: Event };
    await node.call(watcher, ['sub', r.event]);
    busy.push(await cpuShare(windowMs));
    await node.call(watcher, ['unsub', r.event]);
  }
  const pct = (xs: number[]): string => xs.map((x) => (x * 100).toFixed(2) + '%').join(' / ');
  const delta = busy.map((b, i) => (b - idle[i]!) * 100);
  console.log(
    `${label}: idle ${pct(idle)}, subscribed ${pct(busy)} → inspector ≈ ${delta.map((d) => d.toFixed(2)).join(' / ')} % of a core`,
  );
}
await node.stopForce();

// Connection set-up cost in one process (issue 49: why a 100-node mesh forms slower than
// Erlang's): node `a` dials N nodes of the same process over loopback, one call each, 4 at a
// time, and prints the connections per second and the process's CPU per connection (both sides
// of it). A fresh process each run: the first connections run cold, which is what each node of
// a large cluster does for its ~100 peers. docs/scale.md has the figures.
//
//   node bench/dist/cluster/connect_cost.js [N=200] [links per connection: the default]

import { Actor, ProcessID, startNode, type Atom, type Node, type PID, type Ref } from 'ergo-ts';
import { acceptorPort, loopbackRoute } from '../lib/routes.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

const quiet = { log: { level: 'error' as const }, systemApp: false };

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const links = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  const acceptor = { port: 0, ...(links === undefined ? {} : { ergoPoolSize: links }) };
  const targets: Node[] = [];
  for (let i = 0; i < n; i++) {
    const t = await startNode(`t${i}@localhost`, {
      ...quiet,
      network: { cookie: 'c', registrar: null, acceptors: [acceptor] },
    });
    await t.spawnRegister('echo', () => new Echo());
    targets.push(t);
  }
  const routes = targets.map((t) => ({
    match: t.name.replace(/[.$]/g, '\\$&'),
    route: loopbackRoute(acceptorPort(t)),
  }));
  const a = await startNode('a@localhost', {
    ...quiet,
    network: { cookie: 'c', registrar: null, acceptors: [{ port: 0 }], routes },
  });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await a.call(new ProcessID('echo' as Atom, targets[i]!.name), i);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const per = (us: number): string => (us / 1000 / n).toFixed(2);
  console.log(
    `${n} connections in ${ms.toFixed(0)} ms: ${((n / ms) * 1000).toFixed(0)}/s; CPU ${per(cpu.user + cpu.system)} ms per connection, both sides (user ${per(cpu.user)}, system ${per(cpu.system)})`,
  );
  await a.stop();
  await Promise.all(targets.map((t) => t.stop()));
}

await main();

// One ergo-ts node on the etcd registrar, in its own OS process, for the cluster and restart
// tests. Args: name, endpoints (comma-separated), cluster, lease TTL (s; default 2), restart wait
// (ms; default the registrar's). It prints JSON lines on stdout: {"ready":…} once
// registered, {"event":…} for each registrar event message, {"got":…} for each message its
// `echo` process receives, {"reply":id,…} for each command read from stdin (JSON lines:
// send / nodes / resolve).

import { createInterface } from 'node:readline';
import { Actor, ProcessID, startNode, type Atom, type MessageEvent, type PID } from 'ergo-ts';
import { createEtcdRegistrar } from '../src/index.js';

const [name, endpoints, cluster, ttl, wait] = process.argv.slice(2) as [string, string, string, string?, string?];
const out = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');

class Watcher extends Actor {
  override async init(): Promise<void> {
    await this.monitorEvent(this.node.network().registrar().event());
  }
  override handleEvent(m: MessageEvent): void {
    out({ event: (m.message as object).constructor.name, ...(m.message as object) });
  }
}
class Echo extends Actor {
  override handleMessage(from: PID, msg: unknown): void {
    out({ got: msg, from: from.node });
  }
}

// A start that fails (etcd unreachable, the name taken) ends the process with its reason on
// stderr: the test reports it, rather than waiting for a `ready` that never comes.
const node = await startNode(name, {
  log: { defaultLogger: { output: { write: (s: string) => void process.stderr.write(s) } } },
  network: {
    cookie: 'etcd-secret',
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEtcdRegistrar({
      cluster,
      endpoints: endpoints.split(','),
      leaseTTL: Number(ttl ?? 2),
      ...(wait === undefined || wait === '' ? {} : { restartWait: Number(wait) }),
      retryInterval: 500,
      retryIntervalMax: 2000,
      requestTimeout: 2000,
      dialTimeout: 2000,
    }),
  },
}).catch((e: unknown) => {
  process.stderr.write(`start failed: ${String(e)}\n`);
  process.exit(1);
});
await node.spawnRegister('watcher', Watcher, {});
await node.spawnRegister('echo', Echo, {});
out({ ready: node.name });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const c = JSON.parse(line) as { id: number; cmd: string; to?: string; msg?: string };
  const reg = node.network().registrar();
  const reply = (o: object): void => out({ reply: c.id, ...o });
  const fail = (e: unknown): void => reply({ error: String(e) });
  if (c.cmd === 'send') {
    try {
      node.send(new ProcessID('echo' as Atom, c.to as Atom), c.msg);
      reply({ ok: true });
    } catch (e) {
      fail(e);
    }
  } else if (c.cmd === 'nodes') reg.nodes().then((n) => reply({ nodes: n.sort() }), fail);
  else if (c.cmd === 'resolve')
    reg
      .resolver()
      .resolve(c.to as never)
      .then((r) => reply({ routes: r }), fail);
});
rl.on('close', () => void node.stop().then(() => process.exit(0)));

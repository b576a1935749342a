// One ergo-ts node of the cluster-scale harness (cluster/harness.ts), alone in a network-namespace
// test host. Environment: SC_NAME (`sK`), SC_ADDRESS (the host's address), SC_COOKIE, SC_EXPECT
// (how many nodes the cluster has), SC_ETCD (etcd endpoints, comma-separated; absent: the
// embedded registrar, each host its own), SC_STALL (peerStallTimeout in ms; absent: the default). Everything it reports carries `at`: the wall clock in
// ms (`performance.timeOrigin + performance.now()`), which every process of the machine shares,
// Erlang's nodes included (os:system_time), so the driver can subtract a moment it took itself.
//
// Reports over IPC:
//   { kind: 'ready', name, at }           started (registered, acceptor listening)
//   { kind: 'seen-all', at }              (etcd) the registrar has told it of every other node
//   { kind: 'joined', node, at }          (etcd) the registrar told it of `node` for the first time
//   { kind: 'down', node, at }            a connection to `node` was lost (monitorNodes)
//   { kind: 'left', node, at }            (etcd) `node`'s key went away
// Commands over IPC, each answered `{ id, ok, value }` or `{ id, ok: false, code, message }`:
//   { cmd: 'mesh', nodes, inflight, timeout }  a call to `echo` on each of `nodes`, `inflight` at
//                                              a time → { calls, ms, lat: µs each, failed: code → n }
//   { cmd: 'connected' }                       how many nodes it has a connection to
//   { cmd: 'stop' }                            stops the node and exits

import { createEtcdRegistrar, EventNodeJoined, EventNodeLeft } from '@ergo-ts/etcd';
import {
  Actor,
  MessageNodeDown,
  ProcessID,
  startNode,
  type Atom,
  type MessageEvent,
  type PID,
  type Ref,
} from 'ergo-ts';

const now = (): number => performance.timeOrigin + performance.now();
const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`scale_node: ${k} is not set`);
  return v;
};
const address = env('SC_ADDRESS');
const name = `${env('SC_NAME')}@${address}`;
const expect = Number(env('SC_EXPECT'));
const etcd = process.env['SC_ETCD'];
const stall = process.env['SC_STALL'];
const report = (m: object): void => void process.send?.(m);

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/** Reports each node-down (every connection the node had) and, on etcd, who the registrar knows. */
class Watcher extends Actor {
  readonly known = new Set<string>();
  allSeen = false;

  override async init(): Promise<void> {
    this.monitorNodes();
    if (etcd === undefined) return;
    const registrar = this.node.network().registrar();
    await this.monitorEvent(registrar.event());
    for (const n of await registrar.nodes()) if (n !== name) this.known.add(n);
    this.check();
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageNodeDown) report({ kind: 'down', node: message.name, at: now() });
  }

  override handleEvent(m: MessageEvent): void {
    const e = m.message;
    if (e instanceof EventNodeJoined && e.name !== name) {
      if (!this.known.has(e.name)) report({ kind: 'joined', node: e.name, at: now() });
      this.known.add(e.name);
    } else if (e instanceof EventNodeLeft) {
      this.known.delete(e.name);
      report({ kind: 'left', node: e.name, at: now() });
    }
    this.check();
  }

  check(): void {
    if (this.allSeen || this.known.size < expect - 1) return;
    this.allSeen = true;
    report({ kind: 'seen-all', at: now() });
  }
}

const node = await startNode(name, {
  network: {
    cookie: env('SC_COOKIE'),
    acceptors: [{ host: address, port: 0 }],
    ...(stall === undefined ? {} : { peerStallTimeout: Number(stall) }),
    ...(etcd === undefined ? {} : { registrar: createEtcdRegistrar({ cluster: 'scale', endpoints: etcd.split(',') }) }),
  },
  log: { defaultLogger: { output: { write: (s: string) => void process.stderr.write(s) } }, level: 'warning' },
});
await node.spawnRegister('echo', () => new Echo());
await node.spawnRegister('watcher', () => new Watcher());

interface MeshResult {
  calls: number;
  ms: number;
  lat: number[];
  failed: Record<string, number>;
}

/** One call to `echo` on each node, `inflight` at a time. */
async function mesh(nodes: string[], inflight: number, timeout: number): Promise<MeshResult> {
  const lat: number[] = [];
  const failed: Record<string, number> = {};
  let next = 0;
  const t0 = now();
  const worker = async (): Promise<void> => {
    while (next < nodes.length) {
      const to = nodes[next++]!;
      const s = now();
      try {
        await node.call(new ProcessID('echo' as Atom, to as Atom), 'ping', { timeout });
        lat.push((now() - s) * 1000);
      } catch (e) {
        const code = String((e as { code?: unknown }).code ?? (e as Error).message);
        failed[code] = (failed[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, nodes.length) }, worker));
  return { calls: nodes.length, ms: now() - t0, lat, failed };
}

type Cmd = { id: number; cmd: string; nodes?: string[]; inflight?: number; timeout?: number };

async function run(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'mesh':
      return mesh(c.nodes ?? [], c.inflight ?? 4, c.timeout ?? 10_000);
    case 'connected':
      return node.network().nodes().length;
    case 'stop':
      await node.stop();
      process.send!({ id: c.id, ok: true, value: 'stopped' }, () => process.exit(0));
      return undefined;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

process.on('message', (c: Cmd) => {
  run(c).then(
    (value) => {
      if (c.cmd !== 'stop') report({ id: c.id, ok: true, value });
    },
    (e: unknown) => {
      const err = e as { code?: unknown; message?: unknown };
      report({ id: c.id, ok: false, code: err.code, message: String(err.message ?? e) });
    },
  );
});
process.on('disconnect', () => process.exit(0));
report({ kind: 'ready', name, at: now() });

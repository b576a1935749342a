// An ergo-ts node in its own OS process for the back-pressure and heartbeat suites
// (net.backpressure.test.ts: a peer stopped with SIGSTOP; net.stall.testhosts.test.ts: nodes in
// test hosts). Named `$LF_NAME@$LF_HOST`, listening on $LF_HOST ($LF_LISTEN, default the same),
// `peerStallTimeout` $LF_STALL. Processes: `echo` answers calls with the request, `sink` counts
// what it is sent (the call 'count' answers the number), `nodes` watches every node
// (monitorNodes) and reports `{ kind: 'up'|'down', node, reason }` over IPC. Commands over IPC,
// each answered `{ id, ok, value }` or `{ id, ok: false, code, message }`:
//   { cmd: 'route', match, host, port }   a static route
//   { cmd: 'call', node, request, timeout } a call to `echo` on `node`
//   { cmd: 'ticker', node }                calls `echo` on `node` every 100 ms (2 s timeout) until stopped
//   { cmd: 'heartbeats', node }            heartbeats sent on the connection to `node` (-1: none)
//   { cmd: 'stop' }                        stops the node and exits

import {
  Actor,
  MessageNodeDown,
  MessageNodeUp,
  ProcessID,
  startNode,
  type Atom,
  type PID,
  type Ref,
} from '../src/index.js';
import type { EnpConnection } from '../src/net/proto/connection.js';
import { portOf } from './route_helpers.js';

const V = { name: '', release: '' };
const host = process.env.LF_HOST ?? 'localhost';
const name = `${process.env.LF_NAME}@${host}`;
const node = await startNode(name, {
  network: {
    cookie: process.env.LF_COOKIE ?? 'linkflow',
    acceptors: [{ host: process.env.LF_LISTEN ?? host, port: 0 }],
    registrar: null,
    peerStallTimeout: Number(process.env.LF_STALL ?? 15000),
  },
  log: { defaultLogger: { disable: true } },
});

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

class Sink extends Actor {
  count = 0;
  override handleMessage(): void {
    this.count++;
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    return req === 'count' ? this.count : req;
  }
}

class Nodes extends Actor {
  override init(): void {
    this.monitorNodes();
  }
  override handleMessage(_from: PID, m: unknown): void {
    if (m instanceof MessageNodeUp) process.send!({ kind: 'up', node: m.name });
    else if (m instanceof MessageNodeDown) process.send!({ kind: 'down', node: m.name, reason: m.reason.message });
  }
}

await node.spawnRegister('echo', () => new Echo());
await node.spawnRegister('sink', () => new Sink());
await node.spawnRegister('nodes', () => new Nodes());

const tickers: ReturnType<typeof setInterval>[] = [];

type Cmd = { id: number; cmd: string } & Record<string, unknown>;

async function run(m: Cmd): Promise<unknown> {
  switch (m.cmd) {
    case 'route':
      node
        .network()
        .addRoute(
          String(m.match),
          { route: { host: String(m.host), port: Number(m.port), tls: false, handshakeVersion: V, protoVersion: V } },
          0,
        );
      return 'ok';
    case 'call':
      return node.call(new ProcessID('echo' as Atom, String(m.node) as Atom), m.request, {
        timeout: Number(m.timeout),
      });
    case 'ticker': {
      const to = new ProcessID('echo' as Atom, String(m.node) as Atom);
      // Failures are expected during a cut (timeouts, no connection): only the notices matter.
      tickers.push(
        setInterval(() => {
          node.call(to, 'tick', { timeout: 2000 }).catch(() => undefined);
        }, 100),
      );
      return 'ok';
    }
    case 'heartbeats': {
      const conns = (node.network() as unknown as { connections: Map<string, EnpConnection> }).connections;
      return conns.get(String(m.node))?.heartbeats ?? -1;
    }
    case 'stop':
      for (const t of tickers) clearInterval(t);
      await node.stop();
      process.send!({ id: m.id, ok: true, value: 'stopped' }, () => process.exit(0));
      return undefined;
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

process.on('message', (m: Cmd) => {
  run(m).then(
    (value) => {
      if (m.cmd !== 'stop') process.send!({ id: m.id, ok: true, value });
    },
    (e: unknown) => {
      const err = e as { code?: unknown; message?: unknown };
      process.send!({ id: m.id, ok: false, code: err.code, message: String(err.message ?? e) });
    },
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ kind: 'ready', name, port: portOf(node) });

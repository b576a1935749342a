// An ergo-ts node inside a test host (net.testhosts.test.ts): named `$TH_NAME@$TH_ADDRESS`,
// listening on the host's own address, with an `echo` process that answers every call with its
// request. Reports `{ kind: 'ready', name, port }` over IPC. Commands over IPC, each answered with
// `{ id, ok, value }` or `{ id, ok: false, code, message }`:
//   { cmd: 'route', match, host, port }   a static route
//   { cmd: 'call', node, request, timeout } a call to `echo` on `node`
//   { cmd: 'stop' }                        stops the node and exits

import { Actor, ProcessID, startNode, type Atom, type PID, type Ref } from '../src/index.js';
import { portOf } from './route_helpers.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

const V = { name: '', release: '' };
const address = process.env.TH_ADDRESS!;
const name = `${process.env.TH_NAME}@${address}`;
const node = await startNode(name, {
  network: { cookie: 'testhosts', acceptors: [{ host: address, port: 0 }], registrar: null },
  log: { defaultLogger: { disable: true } },
});
await node.spawnRegister('echo', () => new Echo());

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
    case 'stop':
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

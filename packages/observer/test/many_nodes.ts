// MANY_COUNT ergo-ts nodes in one child OS process, each registered with the embedded registrar
// on port MANY_REGISTRAR (served by the test's Observer node, started first), cookie MANY_COOKIE,
// named `<MANY_PREFIX><000…>@localhost`: the cluster the Observer's node switcher lists in
// switcher.test.ts. One process for all of them: what is tested is the switcher with a hundred
// names, not a hundred runtimes (each node still has its own acceptor and registrar client).
// Reports `{ kind: 'ready', names }` once every node is up; stops them and exits when the test
// disconnects (or closes the IPC channel by ending).

import { startNode, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`many_nodes: ${k} is not set`);
  return v;
};

const count = Number(env('MANY_COUNT'));
const port = Number(env('MANY_REGISTRAR'));
const cookie = env('MANY_COOKIE');
const prefix = env('MANY_PREFIX');

const nodes: Node[] = [];
let stopping = false;
process.on('disconnect', () => {
  if (stopping) return;
  stopping = true;
  void Promise.allSettled(nodes.map((n) => n.stop())).then(() => process.exit(0));
});

for (let i = 0; i < count && !stopping; i++)
  nodes.push(
    await startNode(`${prefix}${String(i).padStart(3, '0')}@localhost`, {
      log: { level: 'warning' },
      network: {
        cookie,
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        // Registration deadline of 15 s (default 1 s): a hundred registrations from one process
        // on a loaded machine; the registrar is not what the test is about.
        registrar: createEmbeddedRegistrar({ port, retryInterval: 200, registerTimeout: 15_000 }),
      },
    }),
  );
if (process.connected) process.send!({ kind: 'ready', names: nodes.map((n) => n.name) });

// A node on the embedded registrar in its own OS process, for the restart tests: starts argv[2]
// with an acceptor on 127.0.0.1 and the registrar on port argv[3], runs an `echo` process that
// answers calls with the request, prints {"ready": name, "role": ...} once started, and runs until
// killed. A start that fails prints `start failed: <error>` on stderr and exits with code 1.

import { Actor, startNode, type PID, type Ref } from '../src/index.js';
import { EmbeddedRegistrar } from '../src/net/registrar/index.js';

const [name, port] = process.argv.slice(2) as [string, string];

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

// A long register deadline and quick retries: a loaded machine must not fail the start, and a
// client that lost its server takes over soon.
const registrar = new EmbeddedRegistrar({ port: Number(port), registerTimeout: 10_000, retryInterval: 100 });
const node = await startNode(name, {
  log: { defaultLogger: { output: { write: (s: string) => void process.stderr.write(s) } } },
  network: { cookie: 'restart-secret', acceptors: [{ host: '127.0.0.1', port: 0 }], registrar },
}).catch((e: unknown) => {
  process.stderr.write(`start failed: ${String(e)}\n`);
  process.exit(1);
});
await node.spawnRegister('echo', () => new Echo());
process.stdout.write(JSON.stringify({ ready: node.name, role: registrar.role() }) + '\n');

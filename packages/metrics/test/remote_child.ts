// A node in its own OS process for the network-metrics test: listens on a port the OS picks,
// runs a process registered as `sink`, prints `{"name","port"}` on stdout, and stops when its
// stdin closes.

import { Actor, startNode } from 'ergo-ts';

class Sink extends Actor {
  override handleMessage(): void {}
}

const node = await startNode(`child${process.pid}@localhost`, {
  log: { defaultLogger: { disable: true } },
  network: { cookie: process.argv[2] ?? 'metrics-secret', acceptors: [{ port: 0 }], registrar: null },
});
await node.spawnRegister('sink', Sink, {});
const i = node.network().acceptors()[0]!.info().interface;
process.stdout.write(JSON.stringify({ name: node.name, port: Number(i.slice(i.lastIndexOf(':') + 1)) }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => void node.stop().then(() => process.exit(0)));

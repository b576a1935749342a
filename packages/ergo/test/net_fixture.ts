// A node in its own OS process for the multi-process network tests: started with
// child_process.fork, it listens on an OS-picked port, registers a few processes and reports
// `{ kind: 'ready', name, port, creation }` over IPC. Commands arrive over IPC.
//   sink    — appends every message (a sequence number) to $NET_FIXTURE_LOG with a sync write
//   echo    — answers every call with its request; sends every message back to its sender
//   sleeper — takes calls and never answers
// Commands: { cmd: 'route', match, port } adds a static route; { cmd: 'stop' } stops and exits.

import { appendFileSync } from 'node:fs';
import { Actor, startNode, type PID, type Ref } from '../src/index.js';
import { portOf, routeTo } from './route_helpers.js';

class Sink extends Actor {
  override handleMessage(_from: PID, message: unknown): void {
    if (process.env.NET_FIXTURE_LOG) appendFileSync(process.env.NET_FIXTURE_LOG, `${String(message)}\n`);
  }
}
class Echo extends Actor {
  override handleMessage(from: PID, message: unknown): void {
    this.send(from, message);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}
class Sleeper extends Actor {
  override handleCall(): unknown {
    return new Promise(() => undefined);
  }
}

const name = process.env.NET_FIXTURE_NAME ?? `fixture${process.pid}@localhost`;
const node = await startNode(name, {
  network: { cookie: process.env.NET_FIXTURE_COOKIE ?? 'fixture', acceptors: [{ port: 0 }], registrar: null },
  log: { defaultLogger: { disable: true } },
});
await node.spawnRegister('sink', () => new Sink());
await node.spawnRegister('echo', () => new Echo());
await node.spawnRegister('sleeper', () => new Sleeper());
process.on('message', (m: { cmd: string; match?: string; port?: number }) => {
  if (m.cmd === 'route') {
    node.network().addRoute(m.match!, routeTo(m.port!), 0);
    process.send!({ kind: 'routed' });
  } else if (m.cmd === 'stop') {
    void node.stop().then(() => process.exit(0));
  }
});
process.send!({ kind: 'ready', name, port: portOf(node), creation: node.creation });

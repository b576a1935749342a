// A node in its own OS process for the JS-value property tests (net.jsvalues.test). It registers
// the same classes as the parent (jsvalues_types), listens on an OS-picked port and reports
// `{ kind: 'ready', name, port }` over IPC (advanced serialization: structured clone).
//   echo — answers every call with its request; sends every message back to its sender
// Commands: { cmd: 'route', match, port } adds a static route; { cmd: 'call', id, node, name,
// value } calls name@node with value (as this process got it over IPC), compares the reply with
// it and answers { kind: 'reply', id, diff } (diff: '' when deep-equal) or { kind: 'error', id,
// message }; { cmd: 'stop' } stops and exits.

import { deepStrictEqual } from 'node:assert';
import { Actor, ProcessID, startNode, type PID, type Ref } from '../src/index.js';
import { portOf, routeTo } from './route_helpers.js';
import './jsvalues_types.js';

class Echo extends Actor {
  override handleMessage(from: PID, message: unknown): void {
    this.send(from, message);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

interface Command {
  cmd: string;
  match?: string;
  port?: number;
  id?: number;
  node?: string;
  name?: string;
  value?: unknown;
}

const name = process.env.JSV_FIXTURE_NAME ?? `jsv${process.pid}@localhost`;
const node = await startNode(name, {
  network: { cookie: process.env.JSV_FIXTURE_COOKIE ?? 'fixture', acceptors: [{ port: 0 }], registrar: null },
  log: { defaultLogger: { disable: true } },
});
await node.spawnRegister('echo', () => new Echo());
process.on('message', (m: Command) => {
  if (m.cmd === 'route') {
    node.network().addRoute(m.match!, routeTo(m.port!), 0);
    process.send!({ kind: 'routed' });
  } else if (m.cmd === 'call') {
    node.call(new ProcessID(m.name as never, m.node as never), m.value).then(
      (value) => {
        let diff = '';
        try {
          deepStrictEqual(value, m.value);
        } catch (e) {
          diff = String(e);
        }
        process.send!({ kind: 'reply', id: m.id, diff });
      },
      (e: unknown) => process.send!({ kind: 'error', id: m.id, message: String(e) }),
    );
  } else if (m.cmd === 'stop') {
    void node.stop().then(() => process.exit(0));
  }
});
process.send!({ kind: 'ready', name, port: portOf(node) });

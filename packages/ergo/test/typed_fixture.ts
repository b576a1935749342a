// A node in its own OS process for test/typed.remote.test.ts: runs a typed counter registered as
// 'counter' and reports over IPC `{ kind: 'ready', name, port }`. Commands: { cmd: 'stats' }
// answers `{ kind: 'stats', lines, heap }` (the protocol warnings logged so far and the heap
// after a GC); { cmd: 'stop' } stops and exits.

import { Actor, type PID, type Ref } from '../src/index.js';
import { TypedCounter, type Inc } from './typed_protocol.js';
import { startFixtureNode } from './typed_fixture_node.js';

class Counter extends Actor.of(TypedCounter) {
  count = 0;
  override handleMessage(_from: PID, msg: Inc | 'reset'): void {
    if (msg === 'reset') this.count = 0;
    else this.count += msg.by as number;
  }
  override handleCall(_from: PID, _ref: Ref, req: 'get' | Inc): number {
    if (req === 'get') return this.count;
    return (this.count += req.by as number);
  }
}

const { node, lines } = await startFixtureNode('typed');
await node.spawnRegister('counter', Counter, {});
const i = node.network().acceptors()[0]!.info().interface;
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ kind: 'stats', lines: lines.length, heap: process.memoryUsage().heapUsed, text: lines });
  } else if (m.cmd === 'stop') {
    void node.stop().then(() => process.exit(0));
  }
});
process.send!({ kind: 'ready', name: node.name, port: Number(i.slice(i.lastIndexOf(':') + 1)) });

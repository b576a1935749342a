// The README's example, compiled with the demos so it cannot drift from the API.
import { startNode, Actor, type PID, type Ref } from 'ergo-ts';

class Counter extends Actor {
  count = 0;
  override init(start: number) {
    this.count = start;
  }
  override handleMessage(from: PID, msg: unknown) {
    if (msg === 'inc') this.count++;
  }
  override handleCall(from: PID, ref: Ref, req: unknown) {
    if (req === 'get') return this.count;
  }
}

const node = await startNode('demo@localhost');
const pid = await node.spawn(Counter, {}, 5);
node.send(pid, 'inc');
console.log(await node.call(pid, 'get')); // 6
await node.stop();

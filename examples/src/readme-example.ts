// The README's example, compiled with the demos so it cannot drift from the API.
import { startNode, Actor, defineProtocol, schema, type PID, type Ref } from 'ergo-ts';

// One declaration: the compiler checks sends, calls and replies; other nodes' traffic is validated.
const Counter = defineProtocol('counter', {
  messages: { inc: schema.literal('inc') },
  calls: { get: { request: schema.literal('get'), reply: schema.number() } },
});

class CounterActor extends Actor.of(Counter) {
  count = 0;
  override init(start: number) {
    this.count = start;
  }
  override handleMessage(_from: PID, _msg: 'inc') {
    this.count++;
  }
  override handleCall(_from: PID, _ref: Ref, _req: 'get') {
    return this.count;
  }
}

const node = await startNode('demo@localhost');
const pid = await node.spawn(CounterActor, {}, 5); // a PID<typeof Counter>; options; init args
node.send(pid, 'inc'); // node.send(pid, 'dec') does not compile
const n: number = await node.call(pid, 'get'); // the reply type comes from the request
console.log(n); // 6
await node.stop();

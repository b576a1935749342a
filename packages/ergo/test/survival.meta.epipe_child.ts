// Child of the EPIPE test in survival.meta.test.ts (issue 26 item 8): a node logging with the
// default logger to stdout while its parent closes the reading end of stdout and stderr, as
// `node app | head -1` does. With Node's default handling, an unguarded EPIPE ends this process.
//
// IPC in: 'closed' (the parent closed both pipes: log 50 more turns, then prove the node answers),
// 'stop'. IPC out: 'ready', { alive: true, reply }.

import { Actor, startNode, type PID, type Ref } from '../src/index.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return { echo: request };
  }
}

const node = await startNode(`epipe${process.pid}@localhost`);
const echo = await node.spawn(Echo, {});
node.log.info('first line');

process.on('message', (m: unknown) => {
  if (m === 'closed') {
    void (async () => {
      for (let i = 0; i < 50; i++) {
        node.log.info('line %d after the reader left', i);
        await new Promise((r) => setImmediate(r));
      }
      const reply = await node.call(echo, 'still here');
      process.send!({ alive: true, reply });
    })();
  } else if (m === 'stop') {
    node.stop().then(
      () => process.exit(0),
      () => process.exit(3),
    );
  }
});
process.send!('ready');

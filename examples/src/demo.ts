// The ergo-ts demo: a node with a few actors exchanging messages and calls, a pub/sub event, and
// a supervision tree that heals a worker crashing on purpose. `npm start` runs it and exits;
// `npm start -- --stay` keeps the node up until Ctrl-C.

import { startNode } from 'ergo-ts';
import { Counter, Ticker, Watcher, WorkerSupervisor } from './demo_actors.js';

const stay = process.argv.includes('--stay');

const node = await startNode('demo@localhost', {
  log: { defaultLogger: { timeFormat: 'iso', includeName: true } },
  handleSignals: true,
});
node.log.info('node %s is up', node.name);

// Messages and calls.
const counter = await node.spawnRegister('counter', Counter, {}, 40);
node.send(counter, 'inc');
node.send('counter', 'inc');
node.log.info('counter says %d', await node.call(counter, 'get'));

// Events: a watcher subscribed to a ticker.
const ticker = await node.spawnRegister('ticker', Ticker);
await node.spawnRegister('watcher', Watcher);
for (let i = 0; i < 3; i++) node.send(ticker, 'tick');

// A supervision tree that heals itself.
await node.spawnRegister('workers', WorkerSupervisor);
const before = node.processPID('worker1');
node.send('worker1', 'job');
node.send('worker1', 'crash');
const after = await waitFor(() => {
  try {
    const pid = node.processPID('worker1');
    return pid.equals(before) ? undefined : pid;
  } catch {
    return undefined;
  }
});
node.log.info(
  'worker1 healed: %s → %s, jobs so far %d',
  before.toString(),
  after.toString(),
  await node.call('worker1', 'jobs'),
);

node.log.info('counter: %s', await node.call(counter, 'stop'));
node.log.info('processes: %d, names: %d', node.info().processesTotal, node.info().registeredNames);

if (stay) {
  node.log.info('staying up; press Ctrl-C to stop');
  const timer = setInterval(() => node.send(ticker, 'tick'), 2000);
  await node.wait();
  clearInterval(timer);
} else {
  await node.stop();
}
console.log('demo finished');

async function waitFor<T>(probe: () => T | undefined): Promise<T> {
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
}

// The ergo-ts demo: a node with a few actors exchanging messages and calls, a pub/sub event, and
// a supervision tree that heals a worker crashing on purpose. `npm start` runs it and exits;
// `npm start -- --stay` keeps the node up until Ctrl-C.

import {
  Actor,
  Event,
  MessageDownProcessID,
  Stop,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  TerminateReasonNormal,
  startNode,
  type MessageEvent,
  type PID,
  type Ref,
  type SupervisorSpec,
} from 'ergo-ts';

const stay = process.argv.includes('--stay');

/** A counter: messages change it, calls read it. */
class Counter extends Actor {
  private count = 0;

  override init(start: number): void {
    this.count = start;
    this.log.info('counter starts at %d', start);
  }

  override handleMessage(from: PID, message: unknown): void {
    if (message === 'inc') this.count++;
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request === 'get') return this.count;
    if (request === 'stop') return new Stop(TerminateReasonNormal, `stopped at ${this.count}`);
    return undefined;
  }
}

/** Publishes prices on an event; subscribers get each one. */
class Ticker extends Actor {
  private token!: Ref;
  private price = 100;

  override init(): void {
    // Events, links and monitors need a running process: register on the first message.
    this.send(this.pid, 'register');
  }

  override handleMessage(from: PID, message: unknown): void {
    if (message === 'register') this.token = this.registerEvent('prices', { buffer: 3 });
    if (message !== 'tick') return;
    this.price += Math.round(Math.random() * 10 - 5);
    this.sendEvent('prices', this.token, { price: this.price });
  }
}

/** Subscribes to the ticker and watches the counter. */
class Watcher extends Actor {
  override init(): void {
    this.send(this.pid, 'subscribe');
  }

  override handleEvent(m: MessageEvent): void {
    this.log.info('price update: %j', m.message);
  }

  override async handleMessage(from: PID, message: unknown): Promise<void> {
    if (message === 'subscribe') {
      const history = await this.monitorEvent(new Event('prices', this.node.name));
      this.monitor('counter');
      this.log.info('subscribed to prices (%d buffered)', history.length);
      return;
    }
    if (message instanceof MessageDownProcessID) this.log.info('watched process %s went down: %s', message.processID.name, message.reason.message);
  }
}

/** A worker that crashes when told to. */
class Worker extends Actor {
  private jobs = 0;

  override init(id: number): void {
    this.log.info('worker %d is up (%s)', id, this.name);
  }

  override handleMessage(from: PID, message: unknown): void {
    if (message === 'crash') throw new Error('crashing on purpose');
    this.jobs++;
  }

  override handleCall(): unknown {
    return this.jobs;
  }
}

/** Restarts crashed workers, one for one. */
class WorkerSupervisor extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      restart: { strategy: SupervisorStrategy.Transient, intensity: 5, period: 5 },
      children: [
        { name: 'worker1', factory: Worker, args: [1] },
        { name: 'worker2', factory: Worker, args: [2] },
      ],
      enableHandleChild: true,
    };
  }

  override handleChildStart(name: string, pid: PID): void {
    this.log.info('supervisor: %s started as %s', name, pid.toString());
  }

  override handleChildTerminate(name: string, pid: PID, reason: Error): void {
    this.log.warning('supervisor: %s (%s) terminated: %s', name, pid.toString(), reason.message);
  }
}

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
node.log.info('worker1 healed: %s → %s, jobs so far %d', before.toString(), after.toString(), await node.call('worker1', 'jobs'));

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

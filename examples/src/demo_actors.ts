// The demo's actors, in their own module so they can be unit-tested (demo_actors.test.ts) without
// running the demo: a counter, a price ticker publishing an event, a watcher subscribed to it, and
// a supervisor restarting crashing workers.

import {
  Actor,
  childSpec,
  defineProtocol,
  Event,
  MessageDownProcessID,
  schema,
  Stop,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  TerminateReasonNormal,
  type MessageEvent,
  type PID,
  type Ref,
  type SupervisorSpec,
} from 'ergo-ts';

/** The counter's protocol: what it accepts and what each call answers (docs/typed.md). */
export const CounterProtocol = defineProtocol('demo-counter', {
  messages: { inc: schema.literal('inc') },
  calls: {
    get: { request: schema.literal('get'), reply: schema.number() },
    stop: { request: schema.literal('stop'), reply: schema.string() },
  },
});

/** A counter: messages change it, calls read it (a typed actor: `spawn` gives a typed PID). */
export class Counter extends Actor.of(CounterProtocol) {
  private count = 0;

  override init(start: number): void {
    this.count = start;
    this.log.info('counter starts at %d', start);
  }

  override handleMessage(_from: PID, _message: 'inc'): void {
    this.count++;
  }

  override handleCall(_from: PID, _ref: Ref, request: 'get' | 'stop') {
    // Each reply is checked against its own request: 'get' answers a number, 'stop' a string.
    if (request === 'get') return this.reply(request, this.count);
    return new Stop(TerminateReasonNormal, this.reply(request, `stopped at ${this.count}`));
  }
}

/** Publishes prices on an event; subscribers get each one. */
export class Ticker extends Actor {
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
export class Watcher extends Actor {
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
    if (message instanceof MessageDownProcessID)
      this.log.info('watched process %s went down: %s', message.processID.name, message.reason.message);
  }
}

/** A worker that crashes when told to. */
export class Worker extends Actor {
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
export class WorkerSupervisor extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      restart: { strategy: SupervisorStrategy.Transient, intensity: 5, period: 5 },
      children: [
        childSpec({ name: 'worker1', factory: Worker, args: [1] }),
        childSpec({ name: 'worker2', factory: Worker, args: [2] }),
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

// The scenario the browser entry's tests run in three places: in Node (browser.entry.test.ts), in
// a Chromium page and in a Chromium Web Worker (browser.chromium.test.ts, which serve this
// compiled file beside dist/browser/ergo.js). It takes the entry's namespace as its argument and
// imports nothing at run time, so the same JavaScript runs everywhere: a node starts, actors are
// spawned, a typed call, a send, a link that ends the other side, a monitor's down message, an
// event published and received, a supervisor restarting a crashed child, and the network option
// refused. Every step waits for the event it checks (a promise the actors settle), never a delay.

import type * as Ergo from '../src/browser.js';

/** What the scenario saw; the tests assert it field by field. */
export interface ScenarioResult {
  /** The typed call's reply (`{ double: 21 }` → 42). */
  call: number;
  /** What `get` returned after two sends of `add`. */
  sent: number;
  /** The reason a process linked to a failed one ended with, as its monitor saw it. */
  linkedEnded: string;
  /** The reason in the monitor's MessageDownPID of a process that stopped. */
  down: string;
  /** The payloads a subscriber's handleEvent got, in order. */
  events: number[];
  /** The supervised child's PID before and after its crash, and the restarted child's reply. */
  restart: { before: string; after: string; reply: string };
  /** The code the `network` option is refused with. */
  networkRefused: string;
  /** Processes left after the node stopped (the node's own info before stop: the count now). */
  processesBeforeStop: number;
}

/** A promise with its resolver, settled by an actor's handler. */
function signal<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Runs the scenario on `ergo` (the browser entry's namespace) with a node named `name`. */
export async function browserScenario(ergo: typeof Ergo, name: string): Promise<ScenarioResult> {
  const { Actor, Supervisor, SupervisorType, SupervisorStrategy, MessageDownPID, defineProtocol, schema } = ergo;
  const node = await ergo.startNode(name, { log: { level: ergo.LogLevel.Warning } });
  try {
    // --- a typed call and a send ---------------------------------------------------------------
    const Math2 = defineProtocol('math2', {
      messages: { add: schema.object({ add: schema.number() }) },
      calls: {
        double: { request: schema.object({ double: schema.number() }), reply: schema.number() },
        get: { request: schema.literal('get'), reply: schema.number() },
      },
    });
    class Calc extends Actor.of(Math2) {
      total = 0;
      override handleMessage(_from: Ergo.PID, msg: { add: number }): void {
        this.total += msg.add;
      }
      override handleCall(_from: Ergo.PID, _ref: Ergo.Ref, req: { double: number } | 'get'): number {
        return req === 'get' ? this.total : req.double * 2;
      }
    }
    const calc = await node.spawn(Calc, {});
    const call = await node.call(calc, { double: 21 });
    node.send(calc, { add: 2 });
    node.send(calc, { add: 3 });
    const sent = await node.call(calc, 'get');

    // --- monitors: a watcher reports each down message -------------------------------------------
    const downs = new Map<string, (reason: string) => void>();
    class Watcher extends Actor {
      override handleMessage(_from: Ergo.PID, msg: unknown): void {
        if (msg instanceof MessageDownPID) downs.get(msg.pid.toString())?.(msg.reason.message);
        else if (msg instanceof ergo.PID) this.monitorPID(msg);
      }
      override handleCall(_from: Ergo.PID, _ref: Ergo.Ref, req: unknown): unknown {
        if (req instanceof ergo.PID) this.monitorPID(req);
        return 'ok';
      }
    }
    const watcher = await node.spawn(Watcher, {});
    // Wrapped: an async function returning the down promise itself would wait for the down.
    const watch = async (pid: Ergo.PID): Promise<{ down: Promise<string> }> => {
      const s = signal<string>();
      downs.set(pid.toString(), s.resolve);
      await node.call(watcher, pid); // the monitor is set once the call returns
      return { down: s.promise };
    };

    // A process that stops with the reason it is sent.
    class Stopper extends Actor {
      override handleMessage(_from: Ergo.PID, msg: unknown): Ergo.HandlerResult {
        return typeof msg === 'string' ? new Error(msg) : undefined;
      }
    }
    // A process linked to the PID its init gets.
    class Linked extends Actor {
      override init(target: Ergo.PID): void {
        this.linkPID(target);
      }
    }

    // --- a link that ends the other side ---------------------------------------------------------
    const failing = await node.spawn(Stopper, {});
    const linked = await node.spawn(Linked, {}, failing);
    const linkedDown = await watch(linked);
    node.send(failing, 'link broke');
    const linkedEnded = await linkedDown.down;

    // --- a monitor's down message ----------------------------------------------------------------
    const stopping = await node.spawn(Stopper, {});
    const stoppedDown = await watch(stopping);
    node.send(stopping, 'bye');
    const down = await stoppedDown.down;

    // --- an event published and received ---------------------------------------------------------
    const got: number[] = [];
    const gotTwo = signal<void>();
    class Producer extends Actor {
      token!: Ergo.Ref;
      override init(): void {
        this.token = this.registerEvent('ticks');
      }
      override handleMessage(_from: Ergo.PID, msg: unknown): void {
        this.sendEvent('ticks', this.token, msg);
      }
    }
    class Subscriber extends Actor {
      override async init(): Promise<void> {
        await this.monitorEvent(new ergo.Event('ticks', this.node.name));
      }
      override handleEvent(m: Ergo.MessageEvent): void {
        got.push(m.message as number);
        if (got.length === 2) gotTwo.resolve();
      }
    }
    const producer = await node.spawn(Producer, {});
    await node.spawn(Subscriber, {}); // its spawn resolves after init subscribed
    node.send(producer, 1);
    node.send(producer, 2);
    await gotTwo.promise;

    // --- a supervisor restarting a crashed child -------------------------------------------------
    const starts: string[] = [];
    let started = signal<string>();
    class Worker extends Actor {
      override init(): void {
        starts.push(this.pid.toString());
        started.resolve(this.pid.toString());
      }
      override handleCall(_from: Ergo.PID, _ref: Ergo.Ref, req: unknown): unknown {
        if (req === 'crash') throw new Error('crashed on purpose');
        return `pong from ${this.pid.toString()}`;
      }
    }
    class Sup extends Supervisor {
      override init(): Ergo.SupervisorSpec {
        return {
          type: SupervisorType.OneForOne,
          restart: { strategy: SupervisorStrategy.Transient, intensity: 5, period: 5 },
          children: [{ name: 'worker', factory: Worker }],
        };
      }
    }
    await node.spawn(Sup, {});
    const before = await started.promise;
    started = signal<string>();
    await node.call('worker', 'crash').catch(() => undefined); // the child panics: the call fails
    const after = await started.promise;
    const reply = (await node.call('worker', 'ping')) as string;

    // --- no network stack in the browser ----------------------------------------------------------
    let networkRefused = '';
    try {
      await node.networkStart({});
    } catch (e) {
      networkRefused = (e as { code?: string }).code ?? String(e);
    }
    const processesBeforeStop = node.info().processesTotal;
    return {
      call,
      sent,
      linkedEnded,
      down,
      events: got,
      restart: { before, after, reply },
      networkRefused,
      processesBeforeStop,
    };
  } finally {
    await node.stop();
  }
}

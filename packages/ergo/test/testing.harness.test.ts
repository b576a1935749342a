// The test kit's harness (issue 13): spawnTest runs init at once with the args, env, parent and
// name it was given; driving methods run handlers in the test's flow (sync at once, async when
// awaited); calls resolve with the reply or a later sendResponse; exits, events and down notices
// arrive as the engine delivers them; state rules are the engine's; panics and returned reasons
// terminate; the test clock drives sendAfter; the history can be read and cleared.

import { AssertionError, strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  Alias,
  MailboxKind,
  MessagePriority,
  ErrNotAllowed,
  ErrProcessTerminated,
  Event,
  ExitReason,
  LogLevel,
  MessageDownPID,
  type MessageEvent,
  MessageExitPID,
  PID,
  ProcessState,
  Stop,
  TerminateReasonKill,
  TerminateReasonNormal,
  TerminateReasonPanic,
  isError,
  type HandlerResult,
  type Process,
  type ProcessBehavior,
  type Ref,
} from '../src/index.js';
import { anyAlias, anyPID, anyRef, spawnTest, type TestEvent, type TestProcess } from '../src/testing/index.js';

const client = new PID('client@host', 5, 1);

class Recorder extends Actor {
  got: unknown[] = [];
  initArgs: unknown[] = [];
  terminated: Error | undefined;
  override init(...args: unknown[]): void {
    this.initArgs = args;
    this.log.debug('init with %d args', args.length);
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    this.got.push(message);
    if (message === 'stop') return TerminateReasonNormal;
    if (message === 'crash') throw new Error('boom');
    if (message === 'event-now') this.registerEvent('ev');
    if (message instanceof MessageDownPID) this.log.info('down %s', message.reason.message);
    return undefined;
  }
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request === 'ping') return 'pong';
    if (request === 'later') {
      this.pending = [from, ref];
      return undefined;
    }
    if (request === 'bye') return new Stop(TerminateReasonNormal, 'bye-bye');
    return new Error('unexpected request');
  }
  pending: [PID, Ref] | undefined;
  override handleEvent(m: MessageEvent): void {
    this.got.push(m.message);
  }
  override terminate(reason: Error): void {
    this.terminated = reason;
  }
}

describe('testing harness: spawnTest and init', () => {
  test('init runs with the args; env, parent, register, log level and node name are applied', async () => {
    const parent = new PID('test@localhost', 77, 1234567890);
    const actor = await spawnTest(Recorder, {
      args: [1, 'two'],
      env: { Mode: 'test' },
      parent,
      register: 'rec',
      logLevel: LogLevel.Debug,
      nodeName: 'unit@host',
    });
    assert.deepEqual(actor.behavior.initArgs, [1, 'two']);
    assert.equal(actor.behavior.env('MODE'), 'test');
    assert.ok(actor.behavior.parent.equals(parent));
    assert.equal(actor.behavior.name, 'rec');
    assert.equal(actor.node.name, 'unit@host');
    assert.equal(actor.pid.node, 'unit@host');
    assert.equal(actor.process.state(), ProcessState.Sleep);
    actor.shouldLog().level(LogLevel.Debug).containing('init with 2 args').once();
  });

  test('records below the log level are not recorded', async () => {
    const actor = await spawnTest(Recorder);
    actor.shouldNotLog().containing('init with').assert();
  });

  test('init returning or throwing an error rejects spawnTest with it', async () => {
    class Refuses extends Actor {
      override init(): Error {
        return new Error('no thanks');
      }
    }
    class Throws extends Actor {
      override init(): void {
        throw new Error('thrown');
      }
    }
    await assert.rejects(spawnTest(Refuses), /no thanks/);
    await assert.rejects(spawnTest(Throws), /thrown/);
  });

  test('an async init is awaited', async () => {
    class Slow extends Actor {
      ready = false;
      override async init(): Promise<void> {
        await Promise.resolve();
        this.ready = true;
      }
    }
    const actor = await spawnTest(Slow);
    assert.equal(actor.behavior.ready, true);
  });

  test('a factory function works as well as a class', async () => {
    const actor = await spawnTest(() => new Recorder(), { args: ['x'] });
    assert.deepEqual(actor.behavior.initArgs, ['x']);
  });

  test('arguments the engine refuses are refused here too (spawn options, call timeout, names)', async () => {
    class Careless extends Actor {
      errors: string[] = [];
      override async handleMessage(): Promise<void> {
        for (const attempt of [
          () => this.spawn(Careless, { mailboxSize: -1 }),
          () => this.spawnRegister('', Careless),
          () => this.call('x', 'q', { timeout: -5 }),
        ]) {
          try {
            await attempt();
          } catch (e) {
            this.errors.push((e as { code?: string }).code ?? 'no code');
          }
        }
      }
    }
    const actor = await spawnTest(Careless);
    await actor.sendMessage(client, 'go');
    assert.deepEqual(actor.behavior.errors, ['ERR_INCORRECT', 'ERR_INCORRECT', 'ERR_INCORRECT']);
    actor.shouldNotSpawn().assert();
    actor.shouldNotCall().assert();
  });

  test('a custom ProcessBehavior works; mail it queued for itself during init is handled right after', async () => {
    class Raw implements ProcessBehavior {
      process!: Process;
      got: unknown[] = [];
      processInit(process: Process): undefined {
        this.process = process;
        process.forward(process.pid, MailboxKind.Regular, process.pid, 'early', undefined, MessagePriority.Normal);
        return undefined;
      }
      processRun(): undefined {
        const mb = this.process.mailbox();
        while (mb.take()) {
          this.got.push(mb.message);
          mb.release();
        }
        return undefined;
      }
      processTerminate(): undefined {
        return undefined;
      }
    }
    const actor = await spawnTest(Raw);
    assert.deepEqual(actor.behavior.got, ['early']);
    await actor.sendMessage(client, 'later');
    assert.deepEqual(actor.behavior.got, ['early', 'later']);
    assert.equal(actor.process.behaviorName(), 'Raw');
  });

  test('operations the engine refuses in init are refused here too; Ergo 3.2’s wider init is allowed', async () => {
    class EarlyInfo extends Actor {
      override init(): void {
        this.info();
      }
    }
    await assert.rejects(spawnTest(EarlyInfo), (e) => isError(e, ErrNotAllowed));
    class WideInit extends Actor {
      override init(): void {
        this.registerName('wide');
        this.registerEvent('in-init');
        this.createAlias();
        this.link(client);
        this.monitor(client);
        void this.call(client, 'hello');
      }
    }
    const actor = await spawnTest(WideInit);
    assert.equal(actor.process.name, 'wide');
    assert.deepEqual(actor.process.events(), ['in-init']);
    assert.equal(actor.process.aliases().length, 1);
    assert.equal(actor.process.watches.size, 2);
  });
});

describe('testing harness: driving', () => {
  test('sendMessage runs handleMessage at once, with the sender', async () => {
    const actor = await spawnTest(Recorder);
    void actor.sendMessage(client, 'hello');
    assert.deepEqual(actor.behavior.got, ['hello']);
    assert.equal(actor.process.state(), ProcessState.Sleep);
  });

  test('call resolves with the returned reply and records the response', async () => {
    const actor = await spawnTest(Recorder);
    const r = await actor.call(client, 'ping');
    assert.equal(r.response, 'pong');
    assert.equal(r.error, undefined);
    assert.equal(r.responded, true);
    actor.shouldSendResponse().to(client).response('pong').once();
  });

  test('a reply sent later with sendResponse is found by the same CallResult', async () => {
    const actor = await spawnTest(Recorder);
    const r = await actor.call(client, 'later');
    assert.equal(r.responded, false);
    const [from, ref] = actor.behavior.pending!;
    assert.ok(from.equals(client));
    assert.ok(ref.equals(r.ref));
    actor.clearEvents();
    // any handler may answer: here, the test drives one that calls sendResponse
    class Answer {}
    actor.behavior.handleMessage = (_f, m) => {
      if (m instanceof Answer) actor.behavior.sendResponse(from, ref, 'done');
    };
    await actor.sendMessage(client, new Answer());
    assert.equal(r.response, 'done');
    assert.deepEqual(r.asyncResponse(), { response: 'done', error: undefined });
  });

  test('Stop with a reply answers and terminates; an Error from handleCall terminates with it', async () => {
    const a = await spawnTest(Recorder);
    const r = await a.call(client, 'bye');
    assert.equal(r.response, 'bye-bye');
    a.shouldTerminate().withReason(TerminateReasonNormal).once();
    const b = await spawnTest(Recorder);
    const r2 = await b.call(client, 'weird');
    assert.equal(r2.error?.message, 'unexpected request');
    assert.equal(b.terminationReason()?.message, 'unexpected request');
  });

  test('a handler throwing is a panic: logged, TerminateReasonPanic, terminate called', async () => {
    const actor = await spawnTest(Recorder);
    await actor.sendMessage(client, 'crash');
    assert.equal(actor.terminationReason(), TerminateReasonPanic);
    assert.equal(actor.behavior.terminated, TerminateReasonPanic);
    actor.shouldLog().level(LogLevel.Panic).containing('boom').once();
    actor.shouldTerminate().withReason(TerminateReasonPanic).once();
  });

  test('after termination, driving rejects with ErrProcessTerminated', async () => {
    const actor = await spawnTest(Recorder);
    await actor.sendMessage(client, 'stop');
    assert.equal(actor.isTerminated(), true);
    assert.equal(actor.process.state(), ProcessState.Terminated);
    await assert.rejects(actor.sendMessage(client, 'more'), (e) => isError(e, ErrProcessTerminated));
    await assert.rejects(actor.call(client, 'ping'), (e) => isError(e, ErrProcessTerminated));
  });

  test('async handlers run to completion when the driving promise is awaited', async () => {
    class Async extends Actor {
      steps: string[] = [];
      override async handleMessage(_from: PID, m: unknown): Promise<void> {
        this.steps.push(`start ${String(m)}`);
        const reply = await this.call('db', { get: m });
        this.steps.push(`got ${String(reply)}`);
        this.send('out', reply);
      }
    }
    const actor = await spawnTest(Async);
    actor.respondToCalls((c) => `value-of-${(c.request as { get: string }).get}`);
    await actor.sendMessage(client, 'k');
    assert.deepEqual(actor.behavior.steps, ['start k', 'got value-of-k']);
    actor.shouldCall().to('db').request({ get: 'k' }).once();
    actor.shouldSend().to('out').message('value-of-k').once();
  });

  test('one message at a time: mail sent while an async handler is suspended waits its turn', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class Slow extends Actor {
      log2: string[] = [];
      override async handleMessage(_from: PID, m: unknown): Promise<void> {
        this.log2.push(`start ${String(m)}`);
        if (m === 'first') await gate;
        this.log2.push(`end ${String(m)}`);
      }
    }
    const actor = await spawnTest(Slow);
    const first = actor.sendMessage(client, 'first');
    const second = actor.sendMessage(client, 'second');
    assert.deepEqual(actor.behavior.log2, ['start first']);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(actor.behavior.log2, ['start first', 'end first', 'start second', 'end second']);
  });

  test('a remote node disconnected from inside a handler notifies the actor after that handler', async () => {
    class Dropper extends Actor {
      seen: unknown[] = [];
      override async handleMessage(_from: PID, m: unknown): Promise<void> {
        if (m === 'go') {
          const net = (
            this.node as unknown as {
              network(): { getNode(n: string): Promise<{ spawn(n: string): Promise<PID>; disconnect(): void }> };
            }
          ).network();
          const remote = await net.getNode('edge@host');
          this.monitor(await remote.spawn('w'));
          remote.disconnect();
          this.seen.push('handler done');
          return;
        }
        this.seen.push(m);
      }
    }
    const actor = await spawnTest(Dropper);
    await actor.sendMessage(client, 'go');
    assert.equal(actor.behavior.seen[0], 'handler done');
    assert.ok(actor.behavior.seen[1] instanceof MessageDownPID);
  });

  test("a call responder returning an Error makes the actor's call reject", async () => {
    class Caller extends Actor {
      failure: unknown;
      override async handleMessage(): Promise<void> {
        try {
          await this.call('svc', 'q');
        } catch (e) {
          this.failure = e;
        }
      }
    }
    const actor = await spawnTest(Caller, { callResponder: () => new Error('svc down') });
    await actor.sendMessage(client, 'go');
    assert.equal((actor.behavior.failure as Error).message, 'svc down');
  });

  test('sendExit terminates with an ExitReason unless exits are trapped', async () => {
    const a = await spawnTest(Recorder);
    await a.sendExit(client, new Error('linked died'));
    assert.ok(a.terminationReason() instanceof ExitReason);
    assert.match(a.terminationReason()!.message, /linked died/);

    class Trapper extends Recorder {
      override init(): void {
        this.setTrapExit(true);
      }
    }
    const b = await spawnTest(Trapper);
    await b.sendExit(client, new Error('linked died'));
    assert.equal(b.isTerminated(), false);
    assert.ok(b.behavior.got[0] instanceof MessageExitPID);
  });

  test('an exit from the parent terminates even a trapping actor', async () => {
    class Trapper extends Recorder {
      override init(): void {
        this.setTrapExit(true);
      }
    }
    const actor = await spawnTest(Trapper);
    await actor.sendExit(actor.behavior.parent, TerminateReasonNormal);
    assert.equal(actor.isTerminated(), true);
  });

  test('sendEvent reaches handleEvent; deliver() brings down notices as messages', async () => {
    const actor = await spawnTest(Recorder);
    await actor.sendEvent(new Event('prices', 'test@localhost'), { price: 1 });
    assert.deepEqual(actor.behavior.got, [{ price: 1 }]);
    await actor.deliver(new MessageDownPID(client, new Error('gone')));
    actor.shouldLog().containing('down gone').once();
  });

  test('events need the Running state: registerEvent works from a handler', async () => {
    const actor = await spawnTest(Recorder);
    await actor.sendMessage(client, 'event-now');
    actor.shouldRegisterEvent().named('ev').once();
  });

  test('a kill during a suspended async handler stands; what the handler returns later is ignored', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class Suspended extends Actor {
      override async handleMessage(): Promise<Error> {
        await gate;
        throw new Error('late failure');
      }
    }
    const actor = await spawnTest(Suspended);
    const running = actor.sendMessage(client, 'go');
    await actor.kill();
    release();
    await running;
    actor.shouldTerminate().withReason(TerminateReasonKill).once();
    actor.shouldNotLog().level(LogLevel.Panic).assert();
    await assert.rejects(actor.kill(), (e) => isError(e, ErrProcessTerminated));
  });

  test('kill terminates without running a handler', async () => {
    const actor = await spawnTest(Recorder);
    await actor.kill();
    assert.equal(actor.behavior.terminated, TerminateReasonKill);
    assert.deepEqual(actor.behavior.got, []);
  });
});

describe('testing harness: node-level operations', () => {
  test('application starts, kills and logger changes through this.node are recorded', async () => {
    class Operator extends Actor {
      override async handleMessage(from: PID, m: unknown): Promise<void> {
        if (m === 'start') await this.node.applicationStartPermanent('web', { logLevel: LogLevel.Debug });
        if (m === 'kill') this.node.kill(from);
        if (m === 'logger') this.node.loggerAddPID(this.pid, 'audit');
      }
    }
    const actor = await spawnTest(Operator);
    await actor.sendMessage(client, 'start');
    await actor.sendMessage(client, 'kill');
    await actor.sendMessage(client, 'logger');
    actor.shouldCallNode().method('applicationStartPermanent').args('web').once();
    actor.shouldCallNode().method('kill').args(client).once();
    actor.shouldCallNode().method('loggerAddPID').args(actor.pid, 'audit').once();
    actor.shouldNotCallNode().method('applicationStop').assert();
    actor.node.failures.setMethodFailure('applicationStartPermanent', new Error('no such app'));
    await actor.sendMessage(client, 'start');
    actor.shouldTerminate().withReason(TerminateReasonPanic).once();
  });
});

describe('testing harness: meta processes', () => {
  test('spawnMeta is recorded with a fresh alias; sendExitMeta and its delayed form are recorded', async () => {
    class Handler {
      constructor(readonly port: number) {}
    }
    class Owner extends Actor {
      id!: Alias;
      override handleMessage(_from: PID, m: unknown): void {
        // ergo-ts/meta adds spawnMeta to actors; the kit's process already records it
        const p = this.process as unknown as TestProcess;
        if (m === 'spawn') this.id = p.spawnMeta(new Handler(8080), { mailboxSize: 10 });
        if (m === 'stop') p.sendExitMeta(this.id, TerminateReasonNormal);
        if (m === 'stop-later') p.sendExitMetaAfter(this.id, TerminateReasonNormal, 50);
      }
    }
    const actor = await spawnTest(Owner);
    await actor.sendMessage(client, 'spawn');
    const spawned = actor.shouldSpawnMeta().behavior(Handler).options({ mailboxSize: 10 }).once();
    assert.ok(anyAlias().test(spawned.id));
    assert.ok(spawned.id.equals(actor.behavior.id));
    await actor.sendMessage(client, 'stop');
    actor.shouldSendExitMeta().toMeta(spawned.id).withReason(TerminateReasonNormal).once();
    actor.clearEvents();
    await actor.sendMessage(client, 'stop-later');
    actor.advanceTime(50);
    actor.shouldSendExitMeta().toMeta(anyAlias()).times(2); // scheduled, then fired
    actor
      .shouldNotSendExitMeta()
      .toMeta(new Alias('x', 1, [1, 0, 0]))
      .assert();
  });
});

describe('testing harness: self messages and the clock', () => {
  class Ticker extends Actor {
    ticks = 0;
    override init(): void {
      this.sendAfter(this.pid, 'tick', 1000);
    }
    override handleMessage(_from: PID, m: unknown): void {
      if (m !== 'tick') return;
      this.ticks++;
      if (this.ticks < 3) this.sendAfter(this.pid, 'tick', 1000);
    }
  }

  test('sendAfter is recorded, fires when the clock passes it, and self messages can be delivered', async () => {
    const actor = await spawnTest(Ticker);
    actor.shouldSendAfter().to(actor.pid).message('tick').delay(1000).once();
    actor.shouldNotSend().assert();
    actor.advanceTime(999);
    actor.shouldNotSend().assert();
    actor.advanceTime(1);
    actor.shouldSend().to(actor.pid).message('tick').delayed().once();
    assert.equal(await actor.deliverSelfMessages(), 1);
    assert.equal(actor.behavior.ticks, 1);
    for (let i = 0; i < 5; i++) {
      actor.advanceTime(1000);
      await actor.deliverSelfMessages();
    }
    assert.equal(actor.behavior.ticks, 3);
    actor.shouldSendAfter().times(3);
  });

  test('a cancelled timer never fires; timers die with the actor', async () => {
    class Cancels extends Actor {
      override init(): void {
        const cancel = this.sendAfter('x', 'never', 10);
        assert.equal(cancel(), true);
        this.sendAfter('y', 'after-death', 10);
      }
      override handleMessage(): Error {
        return TerminateReasonNormal;
      }
    }
    const actor = await spawnTest(Cancels);
    await actor.sendMessage(client, 'die');
    actor.advanceTime(100);
    actor.shouldNotSend().assert();
  });
});

describe('testing harness: history', () => {
  test('events(), lastEvent(), eventCount(), clearEvents() and captures', async () => {
    const actor = await spawnTest(Recorder);
    class Spawner extends Actor {}
    actor.behavior.handleMessage = async function (this: Recorder) {
      await this.spawn(Spawner);
      this.send('x', 1);
    };
    await actor.sendMessage(client, 'go');
    const kinds = actor.events().map((e: TestEvent) => e.kind);
    assert.deepEqual(kinds, ['spawn', 'send']);
    assert.equal(actor.lastEvent()?.kind, 'send');
    assert.equal(actor.eventCount(), 2);
    const spawned = actor.shouldSpawn().factory(Spawner).capture();
    assert.ok(anyPID().test(spawned.pid));
    actor.capture('child', spawned.pid);
    actor.clearEvents();
    assert.equal(actor.eventCount(), 0);
    assert.equal(actor.lastEvent(), undefined);
    assert.ok(actor.retrieved<PID>('child')!.equals(spawned.pid));
  });

  test('a failing assertion throws AssertionError listing what was recorded', async () => {
    const actor = await spawnTest(Recorder);
    actor.behavior.handleMessage = function (this: Recorder) {
      this.send('abc', 9);
      this.send('abc', 10);
    };
    await actor.sendMessage(client, 'go');
    assert.throws(
      () => actor.shouldSend().to('abc').message(11).once(),
      (e: unknown) => {
        assert.ok(e instanceof AssertionError);
        assert.match(e.message, /expected exactly 1 send to 'abc' with message 11, found 0/);
        assert.match(e.message, /1\. send to 'abc': 9/);
        assert.match(e.message, /2\. send to 'abc': 10/);
        return true;
      },
    );
    assert.throws(() => actor.shouldSend().to('abc').once(), /expected exactly 1 send to 'abc', found 2/);
    assert.throws(() => actor.shouldNotSend().to('abc').assert(), /expected no send to 'abc', found 2/);
    actor.shouldSend().to('abc').times(2);
    actor.shouldSend().atLeast(2);
  });

  test('call refs are Refs of the test node', async () => {
    const actor = await spawnTest(Recorder);
    const r = await actor.call(client, 'ping');
    assert.ok(anyRef().test(r.ref));
    assert.equal(r.ref.node, actor.node.name);
  });
});

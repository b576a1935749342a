// The kit drives any behaviour through its mailbox, not only Actor: split handling (mail
// addressed by name or alias reaches the *Name / *Alias callbacks), a Pool forwarding
// round-robin to the workers it spawned and replacing one that died, and a simple-one-for-one
// supervisor starting children on demand. These are rewrites of ergo-ts's own actor.split and
// pool tests at the unit level.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  childSpec,
  Actor,
  type Alias,
  MailboxKind,
  PID,
  Pool,
  poolOptions,
  Supervisor,
  SupervisorType,
  TerminateReasonPanic,
  type Atom,
  type Ref,
  type SupervisorSpec,
} from '../src/index.js';
import { anyPID, instanceOf, spawnTest, type ForwardEvent } from '../src/testing/index.js';

const client = new PID('test@localhost', 77, 1234567890);

class Split extends Actor {
  override init(): void {
    this.setSplitHandle(true);
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.send('log', ['pid', m]);
  }
  override handleMessageName(name: Atom, _from: PID, m: unknown): void {
    this.send('log', ['name', name, m]);
  }
  override handleMessageAlias(alias: Alias, _from: PID, m: unknown): void {
    this.send('log', ['alias', alias, m]);
  }
  override handleCallName(name: Atom, _from: PID, _ref: Ref, req: unknown): unknown {
    return `${name}:${String(req)}`;
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    if (req === 'alias') return this.createAlias();
    return `pid:${String(req)}`;
  }
}

/** A worker spawned with a tag (the spawns record it). */
class Worker extends Actor {
  override init(_tag: unknown): void {}
}

class WorkerPool extends Pool {
  override init(size: number) {
    return poolOptions({ poolSize: size, workerFactory: Worker, workerArgs: ['w'] });
  }
}

class Dynamic extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.SimpleOneForOne,
      children: [childSpec({ name: 'job', factory: Worker, args: ['base'] })],
    };
  }
  override async handleMessage(_from: PID, m: unknown): Promise<void> {
    if (m === 'default') await this.startChild('job');
    else await this.startChild('job', m);
  }
}

describe('testing kit with other behaviours', () => {
  test('split handling: by PID, by name and by alias', async () => {
    const actor = await spawnTest(Split, { register: 'splitter' });
    await actor.sendMessage(client, 1);
    await actor.sendMessage(client, 2, { via: 'splitter' });
    const alias = (await actor.call(client, 'alias')).response as Alias;
    await actor.sendMessage(client, 3, { via: alias });
    actor.shouldSend().to('log').message(['pid', 1]).once();
    actor.shouldSend().to('log').message(['name', 'splitter', 2]).once();
    actor.shouldSend().to('log').message(['alias', alias, 3]).once();
    assert.equal((await actor.call(client, 'x', { via: 'splitter' })).response, 'splitter:x');
    assert.equal((await actor.call(client, 'y')).response, 'pid:y');
  });

  test('pool: workers spawned linked, mail forwarded round-robin with the caller kept', async () => {
    const pool = await spawnTest(WorkerPool, { args: [2] });
    const workers = pool
      .shouldSpawn()
      .factory(Worker)
      .args('w')
      .times(2)
      .map((e) => e.pid);
    await pool.sendMessage(client, 'a');
    await pool.sendMessage(client, 'b');
    await pool.sendMessage(client, 'c');
    const forwards = pool.events().filter((e): e is ForwardEvent => e.kind === 'forward');
    assert.deepEqual(
      forwards.map((f) => f.message),
      ['a', 'b', 'c'],
    );
    assert.ok(forwards[0].to.equals(workers[0]));
    assert.ok(forwards[1].to.equals(workers[1]));
    assert.ok(forwards[2].to.equals(workers[0]));
    assert.ok(forwards.every((f) => f.from.equals(client) && f.mailboxKind === MailboxKind.Regular));

    const call = await pool.call(client, 'req');
    const fwdCall = pool
      .events()
      .filter((e): e is ForwardEvent => e.kind === 'forward')
      .at(-1)!;
    assert.equal(fwdCall.mailboxKind, MailboxKind.Request);
    assert.equal(call.responded, false); // a worker answers the caller directly

    pool.clearEvents();
    await pool.sendExit(workers[1], TerminateReasonPanic); // a worker died: replaced
    pool.shouldSpawn().factory(Worker).once();
    pool.shouldNotTerminate().assert();
  });

  test('simple-one-for-one supervisor: children start on demand; given args replace the spec args', async () => {
    const sup = await spawnTest(Dynamic);
    sup.shouldNotSpawn().assert();
    await sup.sendMessage(client, 'extra');
    sup.shouldSpawn().factory(Worker).args('extra').once();
    sup.shouldSpawn().options(instanceOf(Object)).once();
    assert.ok(anyPID().test(sup.shouldSpawn().capture().pid));
    await sup.sendMessage(client, 'default');
    sup.shouldSpawn().factory(Worker).args('base').once();
  });
});

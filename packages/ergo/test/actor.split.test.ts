// Split handling (issue 2, item 7; ERGO-API §5.9 TestT8ActorSplit): with split handling on,
// mail addressed by registered name (Atom or ProcessID) goes to handleMessageName /
// handleCallName with the name, mail addressed by alias to handleMessageAlias / handleCallAlias
// with the alias, and mail addressed by PID to the plain callbacks; with it off, everything goes
// to handleMessage / handleCall.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, type Alias, ProcessID, type Atom, type PID, type Ref } from '../src/index.js';
import { deferred, Inbox, withNode, noUnhandled } from './helpers.js';

noUnhandled();

class Splitter extends Actor {
  constructor(readonly inbox: Inbox) {
    super();
  }
  override handleMessage(from: PID, m: unknown) {
    if (Array.isArray(m) && m[0] === 'split') {
      this.setSplitHandle(m[1] as boolean);
      this.inbox.push(['toggled', this.splitHandle()], from);
      return;
    }
    if (m === 'alias') {
      this.inbox.push(['alias', this.createAlias()], from);
      return;
    }
    this.inbox.push(['message', m], from);
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown) {
    return ['call', req];
  }
  override handleMessageName(name: Atom, from: PID, m: unknown) {
    this.inbox.push(['messageName', name, m], from);
  }
  override handleMessageAlias(alias: Alias, from: PID, m: unknown) {
    this.inbox.push(['messageAlias', alias, m], from);
  }
  override handleCallName(name: Atom, _from: PID, _ref: Ref, req: unknown) {
    return ['callName', name, req];
  }
  override handleCallAlias(alias: Alias, _from: PID, _ref: Ref, req: unknown) {
    return ['callAlias', alias, req];
  }
}

/** Sends and calls from inside a process too (the sender does not matter, the address does). */
class Relay extends Actor {
  override async handleCall(_from: PID, _ref: Ref, req: unknown) {
    const [op, to, payload] = req as [string, PID | Atom | Alias | ProcessID, unknown];
    if (op === 'send') {
      this.send(to, payload);
      return 'sent';
    }
    return this.call(to, payload);
  }
}

describe('split handling (§5.9)', () => {
  test('setSplitHandle toggles splitHandle()', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const pid = await node.spawn(() => new Splitter(inbox));
      node.send(pid, ['split', true]);
      node.send(pid, ['split', false]);
      assert.deepEqual(
        (await inbox.count(2)).map((s) => s.message),
        [
          ['toggled', true],
          ['toggled', false],
        ],
      );
    }));

  for (const from of ['node', 'process'] as const) {
    test(`off: PID, name and alias all reach handleMessage / handleCall (from the ${from})`, () =>
      withNode(async (node) => {
        const inbox = new Inbox();
        const pid = await node.spawnRegister('split', () => new Splitter(inbox));
        node.send(pid, 'alias');
        const alias = (await inbox.count(1))[0]!.message as [string, Alias];
        const relay = await node.spawn(Relay);
        const send = (to: PID | string | Alias | ProcessID, m: unknown) =>
          from === 'node' ? Promise.resolve(node.send(to, m)) : node.call(relay, ['send', to, m]);
        const call = (to: PID | string | Alias | ProcessID, m: unknown) =>
          from === 'node' ? node.call(to, m) : node.call(relay, ['call', to, m]);
        await send(pid, 'by pid');
        await send('split', 'by name');
        await send(new ProcessID('split', node.name), 'by processid');
        await send(alias[1], 'by alias');
        assert.deepEqual(
          (await inbox.count(5)).slice(1).map((s) => s.message),
          [
            ['message', 'by pid'],
            ['message', 'by name'],
            ['message', 'by processid'],
            ['message', 'by alias'],
          ],
        );
        assert.deepEqual(await call(pid, 1), ['call', 1]);
        assert.deepEqual(await call('split', 2), ['call', 2]);
        assert.deepEqual(await call(new ProcessID('split'), 3), ['call', 3]);
        assert.deepEqual(await call(alias[1], 4), ['call', 4]);
      }));

    test(`on: PID → plain callbacks, name → *Name(name), alias → *Alias(alias) (from the ${from})`, () =>
      withNode(async (node) => {
        const inbox = new Inbox();
        const pid = await node.spawnRegister('split', () => new Splitter(inbox));
        node.send(pid, 'alias');
        const [, alias] = (await inbox.count(1))[0]!.message as [string, Alias];
        node.send(pid, ['split', true]);
        await inbox.count(2);
        const relay = await node.spawn(Relay);
        const send = (to: PID | string | Alias | ProcessID, m: unknown) =>
          from === 'node' ? Promise.resolve(node.send(to, m)) : node.call(relay, ['send', to, m]);
        const call = (to: PID | string | Alias | ProcessID, m: unknown) =>
          from === 'node' ? node.call(to, m) : node.call(relay, ['call', to, m]);
        await send(pid, 'by pid');
        await send('split', 'by name');
        await send(new ProcessID('split'), 'by processid');
        await send(alias, 'by alias');
        const got = (await inbox.count(6)).slice(2).map((s) => s.message) as unknown[][];
        assert.deepEqual(got[0], ['message', 'by pid']);
        assert.deepEqual(got[1], ['messageName', 'split', 'by name']);
        assert.deepEqual(got[2], ['messageName', 'split', 'by processid']);
        assert.equal(got[3]![0], 'messageAlias');
        assert.ok((got[3]![1] as Alias).equals(alias));
        assert.equal(got[3]![2], 'by alias');

        assert.deepEqual(await call(pid, 1), ['call', 1]);
        assert.deepEqual(await call('split', 2), ['callName', 'split', 2]);
        assert.deepEqual(await call(new ProcessID('split', node.name), 3), ['callName', 'split', 3]);
        const viaAlias = (await call(alias, 4)) as [string, Alias, number];
        assert.equal(viaAlias[0], 'callAlias');
        assert.ok(viaAlias[1].equals(alias));
        assert.equal(viaAlias[2], 4);
      }));
  }

  test('the default *Name / *Alias callbacks only warn; the actor keeps running', () =>
    withNode(async (node) => {
      const ready = deferred<Alias>();
      class Plain extends Actor {
        override init() {
          this.setSplitHandle(true);
        }
        override handleMessage(_f: PID, m: unknown) {
          if (m === 'alias') ready.resolve(this.createAlias());
        }
        override handleCall(_f: PID, _r: Ref, req: unknown) {
          return req;
        }
      }
      const pid = await node.spawnRegister('plain', Plain);
      node.send(pid, 'alias');
      const alias = await ready.promise;
      node.send('plain', 'by name');
      node.send(alias, 'by alias');
      await assert.rejects(node.call('plain', 'x', { timeout: 20 }), { code: 'ERR_TIMEOUT' });
      assert.equal(await node.call(pid, 'by pid'), 'by pid');
    }));
});

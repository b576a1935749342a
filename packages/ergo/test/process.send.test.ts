// Sending (issue 2, item 6; ERGO-API §5.4 TestT3ActorSend): send to PID, name, ProcessID and
// Alias with priority; unknown targets; send during init (self-sends and the spawn-time name);
// important delivery; sendAfter (cancellable; cancelled when the sender terminates); the
// process' default send priority; message counters.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import {
  Actor,
  ErrProcessUnknown,
  isError,
  MessagePriority,
  PID,
  ProcessID,
  TerminateReasonNormal,
  Alias,
  type CancelFunc,
  type Ref,
} from '../src/index.js';
import { deferred, Inbox, probe, thrown, withNode, noUnhandled } from './helpers.js';

noUnhandled();

/** Sends what it is told: ['send', to, msg, opts?] and reports errors back by call reply. */
class Sender extends Actor {
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    const [op, to, msg, extra] = req as [string, unknown, unknown, unknown];
    try {
      switch (op) {
        case 'send':
          this.send(to as PID, msg, extra as never);
          return 'ok';
        case 'sendWithPriority':
          this.sendWithPriority(to as PID, msg, extra as MessagePriority);
          return 'ok';
        case 'important':
          return this.sendImportant(to as PID, msg).then(
            () => 'ok',
            (e: { code: string }) => e.code,
          );
        case 'setPriority':
          this.setSendPriority(msg as MessagePriority);
          return 'ok';
      }
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'unknown op';
  }
}

describe('send between processes (§5.4)', () => {
  test('by PID, registered name (string and ProcessID) and alias; value delivered by reference', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const aliasD = deferred<Alias>();
      const target = await node.spawnRegister(
        'target',
        probe((m, from, self) => {
          if (m === 'make-alias') aliasD.resolve(self.createAlias());
          else inbox.push(m, from);
        }),
      );
      node.send(target, 'make-alias');
      const alias = await aliasD.promise;
      const sender = await node.spawn(Sender);
      const payload = { deep: { value: [1, 2, 3] } };
      assert.equal(await node.call(sender, ['send', target, payload]), 'ok');
      assert.equal(await node.call(sender, ['send', 'target', 'by-name']), 'ok');
      assert.equal(await node.call(sender, ['send', new ProcessID('target'), 'by-processid']), 'ok');
      assert.equal(await node.call(sender, ['send', new ProcessID('target', node.name), 'by-processid-node']), 'ok');
      assert.equal(await node.call(sender, ['send', alias, 'by-alias']), 'ok');
      const got = await inbox.count(5);
      assert.equal(got[0]!.message, payload, 'local messages travel by reference');
      assert.deepEqual(
        got.slice(1).map((s) => s.message),
        ['by-name', 'by-processid', 'by-processid-node', 'by-alias'],
      );
      assert.ok(got.every((s) => s.from.equals(sender)));
    }));

  test('unknown targets fail with ErrProcessUnknown (§5.4 TestSendUnknown)', () =>
    withNode(async (node) => {
      const sender = await node.spawn(Sender);
      const gone = await node.spawn(probe());
      node.kill(gone);
      assert.equal(await node.call(sender, ['send', 'no-such-name', 1]), 'ERR_PROCESS_UNKNOWN');
      assert.equal(await node.call(sender, ['send', new ProcessID('no-such-name'), 1]), 'ERR_PROCESS_UNKNOWN');
      assert.equal(await node.call(sender, ['send', gone, 1]), 'ERR_PROCESS_UNKNOWN');
      const deadAlias = node.makeRef();
      assert.equal(
        await node.call(sender, ['send', new Alias(deadAlias.node, deadAlias.creation, deadAlias.id), 1]),
        'ERR_PROCESS_UNKNOWN',
      );
      assert.equal(await node.call(sender, ['send', 123, 1]), 'ERR_UNSUPPORTED');
      // a PID of another node: no network in this issue
      assert.equal(await node.call(sender, ['send', new PID('other@host', 1001, 1), 1]), 'ERR_NETWORK_STOPPED');
      assert.equal(await node.call(sender, ['sendWithPriority', gone, 1, 9]), 'ERR_INCORRECT');
    }));

  test('a dead PID rejects; the error is a fresh ErgoError with the sentinel code', () =>
    withNode(async (node) => {
      const pid = await node.spawn(probe());
      node.kill(pid);
      const e = thrown(() => node.send(pid, 'x'));
      assert.ok(isError(e, ErrProcessUnknown));
      assert.notEqual(e, ErrProcessUnknown);
      assert.match(e.message, /unknown process/);
    }));

  test('the PID just sent to (the router remembers it) still fails with ErrProcessUnknown once it ended', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const pid = await node.spawn(probe((m, from) => inbox.push(m, from)));
      const other = await node.spawn(probe());
      node.send(pid, 1);
      node.send(pid, 2);
      assert.deepEqual(
        (await inbox.count(2)).map((s) => s.message),
        [1, 2],
      );
      node.kill(pid);
      assert.ok(
        isError(
          thrown(() => node.send(pid, 3)),
          ErrProcessUnknown,
        ),
      );
      // Another target in between, then the same PID object again: still unknown.
      node.send(other, 'x');
      assert.ok(
        isError(
          thrown(() => node.send(pid, 4)),
          ErrProcessUnknown,
        ),
      );
      // A process that is killed while it is the last target is never served by the shortcut.
      const again = await node.spawn(probe((m, from) => inbox.push(m, from)));
      node.send(again, 5);
      await inbox.count(3);
      node.kill(again);
      assert.ok(
        isError(
          thrown(() => node.send(again, 6)),
          ErrProcessUnknown,
        ),
      );
      assert.deepEqual(inbox.messages(), [1, 2, 5]);
    }));
});

describe('priorities', () => {
  test('max → urgent, high → system, normal → main: served in that order', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const target = await node.spawn(probe(inbox.push));
      const sender = await node.spawn(
        probe((m, _f, self) => {
          if (m !== 'go') return;
          self.send(target, 'n1');
          self.send(target, 'h1', { priority: MessagePriority.High });
          self.send(target, 'm1', { priority: MessagePriority.Max });
          self.sendWithPriority(target, 'n2', MessagePriority.Normal);
          self.sendWithPriority(target, 'h2', MessagePriority.High);
          self.sendWithPriority(target, 'm2', MessagePriority.Max);
        }),
      );
      node.send(sender, 'go');
      assert.deepEqual(
        (await inbox.count(6)).map((s) => s.message),
        ['m1', 'm2', 'h1', 'h2', 'n1', 'n2'],
      );
    }));

  test('the process default send priority (option and setSendPriority) applies to send', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const hi = await node.spawn(Sender, { sendPriority: MessagePriority.High });
      const lo = await node.spawn(Sender);
      const mx = await node.spawn(Sender);
      assert.equal(await node.call(mx, ['setPriority', null, MessagePriority.Max]), 'ok');
      assert.equal(await node.call(mx, ['setPriority', null, 5]), 'ERR_INCORRECT');
      // A target kept busy (its handler awaits the gate) so the three sends queue up.
      const gate = deferred<void>();
      const busy = await node.spawn(
        probe(async (m) => {
          if (m === 'wait') await gate.promise;
          else inbox.push(m, node.pid);
        }),
      );
      node.send(busy, 'wait');
      await new Promise((r) => setImmediate(r));
      await node.call(lo, ['send', busy, 'from-normal']);
      await node.call(hi, ['send', busy, 'from-high']);
      await node.call(mx, ['send', busy, 'from-max']);
      gate.resolve();
      assert.deepEqual(
        (await inbox.count(3)).map((s) => s.message),
        ['from-max', 'from-high', 'from-normal'],
      );
      assert.throws(() => node.send(busy, 1, { priority: -1 as never }), { code: 'ERR_INCORRECT' });
    }));
});

describe('send during init', () => {
  test('self-sends and sends to the own spawn-time name are queued and handled right after init', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      class Starter extends Actor {
        override init() {
          this.send(this.pid, 'self-by-pid');
          this.send('starter', 'self-by-name');
          this.send(this.pid, 'urgent-self', { priority: MessagePriority.Max });
          // an equal PID value (not the same object) is still this process
          this.send(new PID(this.pid.node, this.pid.id, this.pid.creation), 'self-by-equal-pid');
        }
        override handleMessage(from: PID, m: unknown) {
          inbox.push(m, from);
        }
      }
      const pid = await node.spawnRegister('starter', Starter);
      const got = await inbox.count(4);
      assert.deepEqual(
        got.map((s) => s.message),
        ['urgent-self', 'self-by-pid', 'self-by-name', 'self-by-equal-pid'],
      );
      assert.ok(got.every((s) => s.from.equals(pid)));
    }));

  test('others can send to a spawn-time name while init is still running; mail waits in order', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const gate = deferred<void>();
      const inInit = deferred<void>();
      class Slow extends Actor {
        override async init() {
          inInit.resolve();
          await gate.promise;
        }
        override handleMessage(from: PID, m: unknown) {
          inbox.push(m, from);
        }
      }
      const spawning = node.spawnRegister('slow', Slow);
      await inInit.promise;
      node.send('slow', 1);
      node.send('slow', 2);
      assert.equal(inbox.items.length, 0);
      gate.resolve();
      await spawning;
      assert.deepEqual(
        (await inbox.count(2)).map((s) => s.message),
        [1, 2],
      );
    }));
});

describe('important delivery', () => {
  test('sendImportant resolves for a live target and fails at once for a missing one', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const target = await node.spawnRegister('t', probe(inbox.push));
      const sender = await node.spawn(Sender);
      assert.equal(await node.call(sender, ['important', target, 'hello']), 'ok');
      assert.equal(await node.call(sender, ['important', 't', 'by-name']), 'ok');
      assert.equal(await node.call(sender, ['important', 'missing', 'x']), 'ERR_PROCESS_UNKNOWN');
      assert.equal(await node.call(sender, ['send', 'missing', 'x', { important: true }]), 'ERR_PROCESS_UNKNOWN');
      assert.deepEqual(
        (await inbox.count(2)).map((s) => s.message),
        ['hello', 'by-name'],
      );
      assert.throws(() => node.send('missing', 1, { important: true }), { code: 'ERR_PROCESS_UNKNOWN' });
    }));
});

describe('sendAfter', () => {
  test('delivers after the delay; cancel before firing returns true and nothing arrives; cancel after returns false', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const target = await node.spawn(probe(inbox.push));
      const cancels: Record<string, CancelFunc> = {};
      const results: Record<string, boolean> = {};
      const timer = await node.spawn(
        probe((m, _f, self) => {
          if (m === 'arm') {
            cancels.cancelled = self.sendAfter(target, 'cancelled', 5);
            cancels.fired = self.sendAfter(target, 'fired', 10);
            cancels.sentinel = self.sendAfter(target, 'sentinel', 40, MessagePriority.High);
            results.cancel = cancels.cancelled();
            results.cancelTwice = cancels.cancelled();
          }
        }),
      );
      node.send(timer, 'arm');
      const got = await inbox.count(2);
      assert.deepEqual(
        got.map((s) => s.message),
        ['fired', 'sentinel'],
      );
      assert.ok(got.every((s) => s.from.equals(timer)));
      assert.equal(results.cancel, true);
      assert.equal(results.cancelTwice, false);
      assert.equal(cancels.fired!(), false, 'already fired');
      assert.equal(inbox.items.length, 2, 'the cancelled message never arrived');
    }));

  test('timers are cancelled when their process terminates', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const target = await node.spawn(probe(inbox.push));
      const shortLived = await node.spawn(
        probe((m, _f, self) => {
          self.sendAfter(target, 'from-dead', 5);
          self.sendExitAfter(target, new Error('late exit'), 5);
          return TerminateReasonNormal;
        }),
      );
      const other = await node.spawn(
        probe((_m, _f, self) => {
          self.sendAfter(target, 'sentinel', 40);
        }),
      );
      node.send(shortLived, 'go');
      node.send(other, 'go');
      await inbox.count(1);
      assert.deepEqual(inbox.messages(), ['sentinel']);
      assert.equal(node.info().processesTotal, 2, 'target was not hit by the exit either');
    }));

  test('sendAfter to a target that is gone by then is logged, not thrown', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const target = await node.spawn(probe());
      const sink = await node.spawn(probe(inbox.push));
      const s = await node.spawn(
        probe((_m, _f, self) => {
          self.sendAfter(target, 'lost', 1);
          self.sendAfter(sink, 'after', 30);
        }),
      );
      node.send(s, 'go');
      node.kill(target);
      await inbox.count(1);
      assert.ok(node.isAlive());
    }));

  test('bad delays are rejected', () =>
    withNode(async (node) => {
      const res = deferred<string[]>();
      await node.spawn(
        class extends Actor {
          override init() {
            const out: string[] = [];
            // 2^31 ms and more: Node would fire such a timer after 1 ms
            for (const d of [-1, Number.NaN, Infinity, 2 ** 31, 30 * 24 * 3600 * 1000]) {
              try {
                this.sendAfter(this.pid, 'x', d);
                out.push('ok');
              } catch (e) {
                out.push((e as { code: string }).code);
              }
            }
            res.resolve(out);
          }
        },
      );
      assert.deepEqual(await res.promise, Array(5).fill('ERR_INCORRECT'));
    }));
});

describe('counters', () => {
  test('messagesIn / messagesOut in process info', () =>
    withNode(async (node) => {
      const inbox = new Inbox();
      const a = await node.spawn(probe(inbox.push));
      const b = await node.spawn(
        probe((_m, _f, self) => {
          for (let i = 0; i < 3; i++) self.send(a, i);
        }),
      );
      node.send(b, 'go');
      await inbox.count(3);
      assert.equal(node.processInfo(a).messagesIn, 3);
      assert.equal(node.processInfo(b).messagesIn, 1);
      assert.equal(node.processInfo(b).messagesOut, 3);
    }));
});

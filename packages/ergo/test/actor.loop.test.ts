// Actor's mailbox loop runs from a copy compiled for each busy actor class (act/actor.ts:
// actorLoop, ownLoop; after a warm-up of batches on the shared loop), so its call to
// handleMessage sees one class, and the send path has fast branches
// (ProcessImpl.send without options, Router.routeSend to the last target). These tests check that
// the copies exist and behave exactly as the shared loop: FIFO per sender across batches, the
// zombee rule (a kill stops handling after the current message), mailbox limits, the repeated
// target that dies, and the fallback to the shared loop where code generation is off or the
// prototype is frozen.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, ACTOR_BATCH, ProcessState, TerminateReasonKill, type Node, type PID } from '../src/index.js';
import { deferred, Inbox, noUnhandled, runScript, thrown, withNode } from './helpers.js';

noUnhandled();

/** The loop an actor class runs (own or inherited), found by its symbol's description. */
function loopOf(cls: abstract new () => Actor): unknown {
  for (let p: object | null = cls.prototype as object; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const key = Object.getOwnPropertySymbols(p).find((s) => s.description === 'ergo-ts.actorLoop');
    if (key !== undefined) return (p as Record<symbol, unknown>)[key];
  }
  return undefined;
}

/** Records every message (with its sender) in order. */
class Recorder extends Actor {
  seen: [string, unknown][] = [];
  done: (seen: [string, unknown][]) => void = () => {};
  expect = 0;
  override init(expect: number, done: (seen: [string, unknown][]) => void): void {
    this.expect = expect;
    this.done = done;
  }
  override handleMessage(from: PID, message: unknown): void {
    this.seen.push([from.toString(), message]);
    if (this.seen.length === this.expect) this.done(this.seen);
  }
}

/** A subclass with its own handler: gets its own loop too. */
class TaggedRecorder extends Recorder {
  override handleMessage(from: PID, message: unknown): void {
    super.handleMessage(from, ['tagged', message]);
  }
}

/** On "go" sends `count` numbered messages to `to` (one handler call: the fast send path). */
class Burst extends Actor {
  override handleMessage(_from: PID, message: unknown): void {
    const [to, count] = message as [PID, number];
    for (let i = 0; i < count; i++) this.send(to, i);
  }
}

async function record(
  node: Node,
  cls: typeof Recorder,
  expect: number,
): Promise<{ pid: PID; seen: Promise<[string, unknown][]> }> {
  const d = deferred<[string, unknown][]>();
  const pid = await node.spawn(cls, {}, expect, (s: [string, unknown][]) => d.resolve(s));
  return { pid, seen: d.promise };
}

describe('actor mailbox loop per class', () => {
  test('every actor class runs its own copy of the loop (a subclass too); messages keep FIFO per sender across batches', () =>
    withNode(async (node) => {
      const n = ACTOR_BATCH * 20 + 7;
      const a = await record(node, Recorder, 2 * n);
      const b = await record(node, TaggedRecorder, n);
      const s1 = await node.spawn(Burst);
      const s2 = await node.spawn(Burst);
      const shared = loopOf(Actor);
      assert.equal(typeof shared, 'function');
      // before any traffic every class runs the shared loop
      for (const cls of [Recorder, TaggedRecorder, Burst]) assert.equal(loopOf(cls), shared, cls.name);

      // two senders into one receiver (interleaved in batches), one into the other
      node.send(s1, [a.pid, n]);
      node.send(s2, [a.pid, n]);
      node.send(s1, [b.pid, n]);
      const seenA = await a.seen;
      await b.seen;
      // the busy classes (dozens of batches) got their own copies, a subclass too; the senders
      // (two messages each) still share the loop
      for (const cls of [Recorder, TaggedRecorder])
        assert.notEqual(loopOf(cls), shared, `${cls.name} runs its own loop`);
      assert.notEqual(loopOf(Recorder), loopOf(TaggedRecorder));
      assert.equal(loopOf(Burst), shared);
      for (const s of [s1, s2]) {
        const mine = seenA.filter(([from]) => from === s.toString()).map(([, m]) => m);
        assert.deepEqual(
          mine,
          Array.from({ length: n }, (_, i) => i),
          `FIFO from ${s}`,
        );
      }
      assert.deepEqual(
        (await b.seen).map(([, m]) => m),
        Array.from({ length: n }, (_, i) => ['tagged', i]),
      );
    }));

  test('a kill during a batch: the message being handled is the last one (zombee rule)', () =>
    withNode(async (node) => {
      const handled: number[] = [];
      const killAt = 10;
      class KillsItself extends Actor {
        override handleMessage(_from: PID, message: unknown): void {
          handled.push(message as number);
          if (message === killAt) {
            node.kill(this.pid);
            assert.equal(node.processState(this.pid), ProcessState.Zombee);
          }
        }
        override terminate(reason: Error): void {
          ended.resolve(reason);
        }
      }
      const ended = deferred<Error>();
      const pid = await node.spawn(KillsItself);
      // all queued before the first batch runs: the kill lands mid-batch
      for (let i = 0; i < ACTOR_BATCH * 3; i++) node.send(pid, i);
      assert.equal(await ended.promise, TerminateReasonKill);
      assert.deepEqual(
        handled,
        Array.from({ length: killAt + 1 }, (_, i) => i),
      );
    }));

  test('repeated sends to one target (the routing fast path): a full mailbox refuses, a killed target fails from the next send on', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const parked = deferred<void>();
      const inbox = new Inbox();
      class Parks extends Actor {
        override async handleMessage(from: PID, message: unknown): Promise<void> {
          if (message === 'park') {
            parked.resolve();
            await gate.promise;
            return;
          }
          inbox.push(message, from);
        }
      }
      class Sends extends Actor {
        override handleMessage(_from: PID, message: unknown): void {
          const [to, count] = message as [PID, number];
          const codes: string[] = [];
          for (let i = 0; i < count; i++) {
            try {
              this.send(to, i);
              codes.push('ok');
            } catch (e) {
              codes.push(String((e as { code?: string }).code));
            }
          }
          results.resolve(codes);
        }
      }
      let results = deferred<string[]>();
      const target = await node.spawn(Parks, { mailboxSize: 3 });
      const sender = await node.spawn(Sends);
      node.send(target, 'park');
      await parked.promise;
      node.send(sender, [target, 5]);
      assert.deepEqual(await results.promise, [
        'ok',
        'ok',
        'ok',
        'ERR_PROCESS_MAILBOX_FULL',
        'ERR_PROCESS_MAILBOX_FULL',
      ]);
      gate.resolve();
      assert.deepEqual(
        (await inbox.count(3)).map((s) => s.message),
        [0, 1, 2],
      );

      // the target is the sender's last target (cached); kill it while it is parked again
      const gate2 = deferred<void>();
      class Parks2 extends Actor {
        override async handleMessage(): Promise<void> {
          parked2.resolve();
          await gate2.promise;
        }
      }
      const parked2 = deferred<void>();
      const victim = await node.spawn(Parks2);
      results = deferred<string[]>();
      node.send(sender, [victim, 1]);
      assert.deepEqual(await results.promise, ['ok']);
      await parked2.promise;
      node.kill(victim);
      results = deferred<string[]>();
      node.send(sender, [victim, 2]);
      assert.deepEqual(await results.promise, ['ERR_PROCESS_TERMINATED', 'ERR_PROCESS_TERMINATED']);
      gate2.resolve();
      thrown(() => node.send(victim, 'late'));
    }));

  test('a frozen actor class keeps the shared loop and behaves the same', () =>
    withNode(async (node) => {
      class Frozen extends Recorder {}
      Object.freeze(Frozen.prototype);
      const n = ACTOR_BATCH * 40 + 1;
      const r = await record(node, Frozen, n);
      const again = await record(node, Frozen, 1);
      const s = await node.spawn(Burst);
      node.send(s, [r.pid, n]);
      assert.deepEqual(
        (await r.seen).map(([, m]) => m),
        Array.from({ length: n }, (_, i) => i),
      );
      assert.equal(loopOf(Frozen), loopOf(Recorder), 'past its warm-up it still runs its parent class loop');
      node.send(again.pid, 'x');
      assert.deepEqual(
        (await again.seen).map(([, m]) => m),
        ['x'],
      );
    }));

  test('with code generation disallowed, actors run the shared loop and behave the same', async () => {
    const r = await runScript(
      `
      import { Actor, startNode } from 'INDEX';
      const node = await startNode('nocodegen@localhost', { log: { defaultLogger: { disable: true } } });
      let done;
      const finished = new Promise((res) => (done = res));
      const seen = [];
      class R extends Actor {
        handleMessage(_f, m) { seen.push(m); if (seen.length === 4000) done(); }
      }
      class S extends Actor {
        handleMessage(_f, [to, n]) { for (let i = 0; i < n; i++) this.send(to, i); }
      }
      const r = await node.spawn(R);
      const s = await node.spawn(S);
      node.send(s, [r, 4000]);
      await finished;
      const key = (p) => Object.getOwnPropertySymbols(p).find((x) => x.description === 'ergo-ts.actorLoop');
      const ordered = seen.length === 4000 && seen.every((m, i) => m === i);
      // R (60 batches) was given a loop of its own: the shared one, as no copy can be compiled
      const own = key(R.prototype) !== undefined;
      console.log(JSON.stringify({ ordered, own, shared: R.prototype[key(R.prototype)] === Actor.prototype[key(Actor.prototype)] }));
      await node.stopForce();
      `,
      ['--disallow-code-generation-from-strings'],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { ordered: true, own: true, shared: true });
  });
});

// The scheduler (issue 2, item 8; ARCHITECTURE §3): a run queue of ready processes, a bounded
// batch per process per turn (fairness), yielding to the event loop so a long burst of messages
// never starves timers, immediates or sockets, no Promise allocated on the synchronous message
// path, and an async handler that suspends only its own process. No timing thresholds: every
// assertion is about what ran before what.

import { strict as assert } from 'node:assert';
import { createHook } from 'node:async_hooks';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';

import { Actor, type PID } from '../src/index.js';
import { deferred, Inbox, probe, withNode, noUnhandled } from './helpers.js';

noUnhandled();

/** Sends itself a message for every message it handles until `stop` is set or `cap` is reached. */
class Storm extends Actor {
  count = 0;
  constructor(
    readonly state_: { stop: boolean; count: number; capped: boolean },
    readonly cap: number,
    readonly done: () => void,
  ) {
    super();
  }
  override handleMessage() {
    this.state_.count = ++this.count;
    if (this.state_.stop || this.count >= this.cap) {
      this.state_.capped = this.count >= this.cap;
      this.done();
      return;
    }
    this.send(this.pid, 'again');
  }
}

describe('event-loop yielding', () => {
  test(
    'a self-sustaining message storm does not starve a timer, an immediate or a TCP round trip',
    { timeout: 60_000 },
    () =>
      withNode(async (node) => {
        const server = createServer((sock) => sock.on('data', (d) => sock.write(d)));
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const port = (server.address() as AddressInfo).port;
        try {
          const CAP = 5_000_000; // far more than a few event-loop turns' worth
          const st = { stop: false, count: 0, capped: false };
          const finished = deferred<void>();
          const pid = await node.spawn(() => new Storm(st, CAP, finished.resolve));

          const seen: Record<string, number> = {};
          const timer = deferred<void>();
          const immediate = deferred<void>();
          const echo = deferred<void>();
          node.send(pid, 'start');
          setTimeout(() => {
            seen.timer = st.count;
            timer.resolve();
          }, 0);
          setImmediate(() => {
            seen.immediate = st.count;
            immediate.resolve();
          });
          const client = createConnection(port, '127.0.0.1', () => client.write('ping'));
          client.on('data', () => {
            seen.echo = st.count;
            client.destroy();
            echo.resolve();
          });
          await Promise.all([timer.promise, immediate.promise, echo.promise]);
          st.stop = true;
          await finished.promise;
          assert.equal(st.capped, false, `the storm reached its cap (${CAP}) before timers and sockets got a turn`);
          for (const [k, v] of Object.entries(seen))
            assert.ok(v < st.count, `${k} ran while the storm was still going (${v} < ${st.count})`);
        } finally {
          server.close();
        }
      }),
  );

  test('a large pre-queued burst is processed in slices: a timer runs before it is done', () =>
    withNode(async (node) => {
      const N = 1_000_000;
      let handled = 0;
      const done = deferred<void>();
      const pid = await node.spawn(
        probe(() => {
          if (++handled === N) done.resolve();
        }),
      );
      for (let i = 0; i < N; i++) node.send(pid, i);
      let atTimer = -1;
      setTimeout(() => (atTimer = handled), 0);
      await done.promise;
      assert.ok(atTimer >= 0, 'the timer ran');
      assert.ok(atTimer < N, `the timer ran before the burst was fully processed (${atTimer} < ${N})`);
    }));
});

describe('event-loop yielding with async handlers', () => {
  // Handlers that return promises settle in microtasks: a storm through them is a chain of
  // short drains that must still give the event loop its turn.
  test('a self-sustaining storm through an async handler does not starve a timer', { timeout: 60_000 }, () =>
    withNode(async (node) => {
      const CAP = 2_000_000;
      let count = 0;
      let stop = false;
      const finished = deferred<void>();
      const pid = await node.spawn(
        probe(async (_m, _f, self) => {
          count++;
          if (stop || count >= CAP) return void finished.resolve();
          self.send(self.pid, 'again');
        }),
      );
      let atTimer = -1;
      node.send(pid, 'start');
      setTimeout(() => {
        atTimer = count;
        stop = true;
      }, 0);
      await finished.promise;
      assert.ok(
        atTimer >= 0 && count < CAP,
        `the timer ran before the storm hit its cap (${atTimer}, ${count} < ${CAP})`,
      );
    }),
  );

  test('a call ping-pong storm between two processes does not starve a timer', { timeout: 60_000 }, () =>
    withNode(async (node) => {
      const CAP = 1_000_000;
      let calls = 0;
      let stop = false;
      const finished = deferred<void>();
      const echo = await node.spawn(probe());
      const caller = await node.spawn(
        probe(async (_m, _f, self) => {
          while (!stop && calls < CAP) {
            await self.call(echo, calls);
            calls++;
          }
          finished.resolve();
        }),
      );
      let atTimer = -1;
      node.send(caller, 'start');
      setTimeout(() => {
        atTimer = calls;
        stop = true;
      }, 0);
      await finished.promise;
      assert.ok(
        atTimer >= 0 && calls < CAP,
        `the timer ran before the call storm hit its cap (${atTimer}, ${calls} < ${CAP})`,
      );
    }),
  );
});

describe('event-loop yielding when the clock is read rarely', () => {
  // Short batches are timed 1 in 16 (runningTime is sampled), so the budget rests on the
  // readings the scheduler still takes: after at most 64 untimed batches, across drains.
  test('a storm of one-message batches over many processes does not starve a timer', { timeout: 60_000 }, () =>
    withNode(async (node) => {
      const CAP = 2_000_000;
      const workers: PID[] = [];
      for (let i = 0; i < 8; i++) workers.push(await node.spawn(probe()));
      let rounds = 0;
      let stop = false;
      const finished = deferred<void>();
      // One message to each worker per turn, and the next turn to itself: every batch is one
      // message, the run queue never empties, and no batch is long.
      const driver = await node.spawn(
        probe((_m, _f, self) => {
          for (const w of workers) self.send(w, rounds);
          if (stop || ++rounds >= CAP) return void finished.resolve();
          self.send(self.pid, 'turn');
        }),
      );
      let atTimer = -1;
      node.send(driver, 'turn');
      setTimeout(() => {
        atTimer = rounds;
        stop = true;
      }, 0);
      await finished.promise;
      assert.ok(
        atTimer >= 0 && rounds < CAP,
        `the timer ran before the storm hit its cap (${atTimer}, ${rounds} < ${CAP})`,
      );
    }),
  );
});

describe('fairness', () => {
  test('batches: a process with a long queue does not run to completion before others get a turn', () =>
    withNode(async (node) => {
      const order: string[] = [];
      const both = deferred<void>();
      let left = 2 * 2000;
      const mk = (tag: string) =>
        probe((m) => {
          order.push(`${tag}${String(m)}`);
          if (--left === 0) both.resolve();
        });
      const a = await node.spawn(mk('a'));
      const b = await node.spawn(mk('b'));
      for (let i = 0; i < 2000; i++) node.send(a, i);
      for (let i = 0; i < 2000; i++) node.send(b, i);
      await both.promise;
      assert.ok(order.indexOf('b0') < order.indexOf('a1999'), 'b started before a finished');
      // per-process FIFO still holds
      const as = order.filter((s) => s.startsWith('a')).map((s) => Number(s.slice(1)));
      assert.deepEqual(
        as,
        Array.from({ length: 2000 }, (_, i) => i),
      );
    }));

  test('many processes each with mail are all served in one drain round-robin', () =>
    withNode(async (node) => {
      const P = 200;
      let total = 0;
      let lastFirst = -1;
      let firstLast = Infinity;
      const done = deferred<void>();
      const pids: PID[] = [];
      for (let i = 0; i < P; i++) {
        pids.push(
          await node.spawn(
            probe((m) => {
              const at = total++;
              if (m === 0) lastFirst = Math.max(lastFirst, at);
              if (m === 99) firstLast = Math.min(firstLast, at);
              if (total === P * 100) done.resolve();
            }),
          ),
        );
      }
      for (let k = 0; k < 100; k++) for (const p of pids) node.send(p, k);
      await done.promise;
      assert.ok(lastFirst < firstLast, 'every process got its first message handled before any got its last');
    }));
});

describe('the synchronous path', () => {
  test('sending and handling messages with sync handlers allocates no Promise per message', () =>
    withNode(async (node) => {
      const N = 20_000;
      let handled = 0;
      const done = deferred<void>();
      const a = await node.spawn(
        probe(() => {
          if (++handled === N) done.resolve();
        }),
      );
      const relay = await node.spawn(
        probe((m, _f, self) => {
          self.send(a, m);
        }),
      );
      let promises = 0;
      const hook = createHook({
        init(_id, type) {
          if (type === 'PROMISE') promises++;
        },
      });
      hook.enable();
      try {
        for (let i = 0; i < N; i++) node.send(relay, i);
        await done.promise;
      } finally {
        hook.disable();
      }
      assert.equal(handled, N);
      // A Promise per message would show as ≥ 2N; the few here come from the await above and from
      // the test runner itself when the drain yields to the event loop.
      assert.ok(promises < N / 10, `${promises} promises for ${2 * N} deliveries`);
    }));
});

describe('async handlers', () => {
  test('an awaiting handler suspends only its process; its mail waits in order; others run', () =>
    withNode(async (node) => {
      const gate = deferred<void>();
      const slowSeen: unknown[] = [];
      const slowDone = deferred<void>();
      const slow = await node.spawn(
        probe(async (m) => {
          slowSeen.push(m);
          if (m === 'first') await gate.promise;
          if (m === 'last') slowDone.resolve();
        }),
      );
      const fastInbox = new Inbox();
      const fast = await node.spawn(probe(fastInbox.push));
      node.send(slow, 'first');
      for (let i = 0; i < 5; i++) node.send(slow, i);
      node.send(slow, 'last');
      for (let i = 0; i < 100; i++) node.send(fast, i);
      await fastInbox.count(100);
      assert.deepEqual(slowSeen, ['first'], 'the suspended process handled nothing else');
      gate.resolve();
      await slowDone.promise;
      assert.deepEqual(slowSeen, ['first', 0, 1, 2, 3, 4, 'last']);
    }));
});

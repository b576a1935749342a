// Pool (ERGO-API §5.15 TestT14Pool, §2.8, §1 pool rows): high/max priority mail handled by the
// pool itself; normal messages, calls and events forwarded round-robin (from and ref preserved,
// workers reply directly); addWorkers / removeWorkers (oldest first, ErrPoolEmpty); dead workers
// replaced when their exit arrives (worker_restarts); full workers skipped and
// ErrProcessMailboxFull when no worker can take a call; a call whose worker dies fails at once;
// inspect; defaults and init errors; the parent's exit; no logger role.

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import {
  Actor,
  Event,
  MessagePriority,
  Pool,
  TerminateReasonNormal,
  type ErgoError,
  type HandlerResult,
  type MessageEvent,
  type Node,
  type PID,
  poolOptions,
  type PoolOptions,
  type ProcessBehavior,
  type Ref,
} from '../src/index.js';
import {
  Block,
  Crash,
  Quit,
  Recorder,
  deferred,
  guardUnhandled,
  inspectOf,
  rejectsCode,
  seen,
  within,
  withNode,
} from './supervision_helpers.js';

guardUnhandled();

/** A pool worker: records its start, the messages/events it gets (with their sender), answers calls with its PID. */
class PoolWorker extends Actor {
  rec!: Recorder;
  override init(rec: Recorder, ...args: unknown[]): unknown {
    this.rec = rec;
    rec.push({ ev: 'init', tag: 'pw', pid: this.pid, args });
    return undefined;
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    this.rec.push({ ev: 'message', tag: 'pw', pid: this.pid, message: { from, message } });
    if (message instanceof Quit) return message.reason;
    if (message instanceof Crash) throw message.error;
    if (message instanceof Block) {
      message.entered?.resolve();
      return message.until.then(() => undefined);
    }
    return undefined;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request === 'crash') throw new Error('worker crash on a call');
    return { worker: this.pid, request };
  }
  override handleEvent(m: MessageEvent): HandlerResult {
    this.rec.push({ ev: 'message', tag: 'pw', pid: this.pid, message: { event: m.message } });
    return undefined;
  }
  override terminate(reason: Error): void {
    this.rec.push({ ev: 'terminate', tag: 'pw', pid: this.pid, reason });
  }
}

class PoolExec {
  constructor(readonly fn: (p: TestPool) => unknown) {}
}

interface PoolCfg {
  rec: Recorder;
  options?: Partial<PoolOptions<ProcessBehavior>>;
}

class TestPool extends Pool {
  cfg!: PoolCfg;
  override init(cfg: PoolCfg) {
    this.cfg = cfg;
    // The options a test gives override the checked ones (bad values on purpose, to see them refused).
    return {
      ...poolOptions({ poolSize: 5, workerFactory: PoolWorker, workerArgs: [cfg.rec, 'shared-arg'] }),
      ...cfg.options,
    };
  }
  override handleMessage(from: PID, message: unknown): HandlerResult {
    this.cfg.rec.push({ ev: 'message', tag: 'pool', pid: this.pid, message: { from, message } });
    return undefined;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request instanceof PoolExec) {
      try {
        const r = request.fn(this);
        if (r instanceof Promise)
          return r.then(
            (ok) => ({ ok }),
            (err: unknown) => ({ err }),
          );
        return { ok: r };
      } catch (err) {
        return { err };
      }
    }
    return { pool: request };
  }
  override terminate(reason: Error): void {
    this.cfg.rec.push({ ev: 'supTerminate', sup: 'pool', pid: this.pid, reason });
  }
}

/** Runs `fn` inside the pool (a high-priority call, so the pool handles it itself). */
async function poolExec<T>(node: Node, pool: PID, fn: (p: TestPool) => T | Promise<T>): Promise<T> {
  const r = (await within(node.call(pool, new PoolExec(fn), { priority: MessagePriority.High }), 'poolExec')) as {
    ok?: T;
    err?: unknown;
  };
  if ('err' in r) throw r.err;
  return r.ok as T;
}

function workerPids(rec: Recorder): PID[] {
  return rec.log.filter((r) => r.ev === 'init' && r.tag === 'pw').map((r) => r.pid);
}

/** Index (1-based, in start order) of each PID. */
function indexes(rec: Recorder, pids: PID[]): number[] {
  const all = workerPids(rec);
  return pids.map((p) => all.findIndex((q) => q.equals(p)) + 1);
}

async function callMany(node: Node, pool: PID, n: number): Promise<PID[]> {
  const out: PID[] = [];
  for (let i = 0; i < n; i++) out.push(((await node.call(pool, `req${i}`)) as { worker: PID }).worker);
  return out;
}

function workerMessages(rec: Recorder, mark: number): { pid: PID; from?: PID; message?: unknown; event?: unknown }[] {
  return rec
    .since(mark)
    .flatMap((r) => (r.ev === 'message' && r.tag === 'pw' ? [{ pid: r.pid, ...(r.message as object) }] : []));
}

describe('pool (§5.15 TestBasic, PoolSize 5)', () => {
  it('high and max priority calls and messages are handled by the pool itself', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec });
      assert.equal(workerPids(rec).length, 5, 'workers started before the spawn resolved');
      assert.deepEqual(await node.call(pool, 'hi', { priority: MessagePriority.High }), { pool: 'hi' });
      assert.deepEqual(await node.call(pool, 'max', { priority: MessagePriority.Max }), { pool: 'max' });
      node.send(pool, 'h', { priority: MessagePriority.High });
      node.send(pool, 'm', { priority: MessagePriority.Max });
      const got = await rec.until((r) => r.ev === 'message' && r.tag === 'pool', 2, 'pool messages');
      assert.deepEqual(got.map((r) => (r as { message: { message: unknown } }).message.message).sort(), ['h', 'm']);
      assert.equal(
        rec.count((r) => r.ev === 'message' && r.tag === 'pw'),
        0,
        'no worker got them',
      );
      const i = await inspectOf(node, pool);
      assert.equal(i.messages_forwarded, '0');
    }));

  it('normal calls and messages go round-robin to workers 1..5; workers reply directly; from is preserved', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec });
      const answered = await callMany(node, pool, 10);
      assert.deepEqual(indexes(rec, answered), [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]);
      const mark = rec.mark();
      for (let i = 0; i < 10; i++) node.send(pool, `msg${i}`);
      await rec.until((r) => r.ev === 'message' && r.tag === 'pw', 10, 'forwarded messages');
      const msgs = workerMessages(rec, mark);
      const byMessage = Array.from({ length: 10 }, (_, i) => msgs.find((m) => m.message === `msg${i}`)!.pid);
      assert.deepEqual(
        indexes(rec, byMessage),
        [1, 2, 3, 4, 5, 1, 2, 3, 4, 5],
        'message i went to worker (i mod 5) + 1',
      );
      for (const pid of workerPids(rec)) {
        const own = msgs.filter((m) => m.pid.equals(pid)).map((m) => m.message);
        assert.deepEqual(own, [...own].sort(), 'each worker got its share in order');
      }
      assert.ok(
        msgs.every((m) => m.from!.equals(node.pid)),
        'the original sender is kept',
      );
      const inits = rec.log.filter((r) => r.ev === 'init') as { args: unknown[] }[];
      assert.ok(
        inits.every((r) => r.args[0] === 'shared-arg'),
        'workerArgs delivered to every worker',
      );
      const i = await inspectOf(node, pool);
      assert.equal(i.messages_forwarded, '20');
    }));

  it('addWorkers(3) → 8 and the rotation covers 1..8; removeWorkers(5) → 3 removes the five oldest', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec });
      assert.equal(await poolExec(node, pool, (p) => p.addWorkers(3)), 8);
      assert.equal(workerPids(rec).length, 8);
      assert.deepEqual(indexes(rec, await callMany(node, pool, 16)), [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
      const mark = rec.mark();
      assert.equal(await poolExec(node, pool, (p) => p.removeWorkers(5)), 3);
      const gone = await rec.until((r) => r.ev === 'terminate' && r.tag === 'pw', 5, 'removed workers');
      assert.deepEqual(
        indexes(
          rec,
          gone.map((r) => r.pid),
        ).sort(),
        [1, 2, 3, 4, 5],
      );
      for (const r of gone)
        assert.equal(seen((r as { reason: Error }).reason), TerminateReasonNormal, 'removed with a normal exit');
      assert.deepEqual(indexes(rec, await callMany(node, pool, 10)), [6, 7, 8, 6, 7, 8, 6, 7, 8, 6]);
      assert.equal(
        rec.count((r) => r.ev === 'init'),
        8,
        'removed workers are not replaced',
      );
      const i = await inspectOf(node, pool);
      assert.equal(i.pool_size, '3');
      assert.equal(i.worker_restarts, '0');
      assert.ok(rec.since(mark).every((r) => r.ev !== 'init'));
    }));

  it('removeWorkers beyond the size fails with ErrPoolEmpty; addWorkers/removeWorkers outside a handler with ErrNotAllowed', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      let captured: TestPool | undefined;
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 2 } });
      await rejectsCode(
        poolExec(node, pool, (p) => {
          captured = p;
          return p.removeWorkers(3);
        }),
        'ERR_POOL_EMPTY',
      );
      assert.throws(() => captured!.removeWorkers(1), { code: 'ERR_NOT_ALLOWED' });
      await rejectsCode(captured!.addWorkers(1), 'ERR_NOT_ALLOWED');
      await rejectsCode(
        poolExec(node, pool, (p) => p.addWorkers(-1)),
        'ERR_INCORRECT',
      );
    }));
});

describe('pool: worker recovery', () => {
  for (const [how, end] of [
    ['killed', (node: Node, pid: PID) => node.kill(pid)],
    ['crashed', (node: Node, pid: PID) => node.send(pid, new Crash())],
    ['stopped normally', (node: Node, pid: PID) => node.send(pid, new Quit(TerminateReasonNormal))],
  ] as [string, (node: Node, pid: PID) => void][]) {
    it(`a worker that ${how} is replaced when its exit arrives and counted in worker_restarts`, () =>
      withNode(async (node) => {
        const rec = new Recorder();
        const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 3 } });
        const [w1] = workerPids(rec) as [PID];
        end(node, w1);
        await rec.until((r) => r.ev === 'init', 4, 'the replacement worker');
        const i = await inspectOf(node, pool);
        assert.equal(i.pool_size, '3');
        assert.equal(i.worker_restarts, '1');
        assert.deepEqual(
          indexes(rec, await callMany(node, pool, 6)),
          [2, 3, 4, 2, 3, 4],
          'the replacement joins the rotation at its end',
        );
        const info = node.processInfo(workerPids(rec)[3]!);
        assert.ok(info.parent.equals(pool));
        assert.ok(
          info.linksPID.some((p) => p.equals(pool)),
          'linked to the pool',
        );
      }));
  }

  it('a call whose worker dies while handling it fails at once (not by timeout)', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 2 } });
      const err = await rejectsCode(node.call(pool, 'crash', { timeout: 60_000 }), 'ERR_PROCESS_TERMINATED');
      assert.ok(err);
      await rec.until((r) => r.ev === 'init', 3, 'the replacement worker');
      assert.equal((await inspectOf(node, pool)).pool_size, '2');
    }));
});

describe('pool: full workers', () => {
  it('a full worker is skipped; when none can take a call the caller gets ErrProcessMailboxFull', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 3, workerMailboxSize: 1 } });
      const release = deferred();
      const entered = [deferred(), deferred(), deferred()];
      for (const e of entered) node.send(pool, new Block(release.promise, e));
      await Promise.all(entered.map((e) => e.promise)); // every worker is busy, its mailbox empty
      for (let i = 0; i < 3; i++) node.send(pool, `fill${i}`); // one queued message each: all full
      await inspectOf(node, pool); // barrier (urgent): the pool has forwarded the fills
      assert.equal((await inspectOf(node, pool)).messages_forwarded, '6');
      await rejectsCode(node.call(pool, 'nobody'), 'ERR_PROCESS_MAILBOX_FULL');
      node.send(pool, 'dropped');
      await node.call(pool, 'barrier', { priority: MessagePriority.High });
      const i = await inspectOf(node, pool);
      assert.equal(i.messages_unhandled, '2');
      assert.equal(i.messages_forwarded, '6');
      release.resolve();
      await rec.until(
        (r) =>
          r.ev === 'message' &&
          r.tag === 'pw' &&
          String((r as { message: { message: unknown } }).message.message).startsWith('fill'),
        3,
        'fills',
      );
      const answered = await callMany(node, pool, 3);
      assert.equal(new Set(answered.map(String)).size, 3, 'workers answer again once drained');
      assert.equal(
        rec.count(
          (r) =>
            r.ev === 'message' &&
            r.tag === 'pw' &&
            (r as { message: { message: unknown } }).message.message === 'dropped',
        ),
        0,
      );
    }));

  it('a full worker is skipped and the next one takes the call', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 2, workerMailboxSize: 1 } });
      const [w1, w2] = workerPids(rec) as [PID, PID];
      const release = deferred();
      const entered = deferred();
      node.send(w1, new Block(release.promise, entered));
      await entered.promise;
      node.send(w1, 'fill'); // w1 is full now
      const answered = await callMany(node, pool, 2);
      assert.ok(
        answered.every((p) => p.equals(w2)),
        'both calls skip the full w1',
      );
      release.resolve();
    }));
});

describe('pool: events, inspect, options, termination', () => {
  it('events the pool subscribed to are forwarded round-robin', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 2 } });
      const token = node.registerEvent('ticks');
      await poolExec(node, pool, (p) => void p.monitorEvent(new Event('ticks', node.name)));
      for (let i = 0; i < 4; i++) node.sendEvent('ticks', token, i);
      const got = await rec.until((r) => r.ev === 'message' && r.tag === 'pw', 4, 'events');
      const byEvent = [0, 1, 2, 3].map(
        (i) => got.find((r) => (r as { message: { event: unknown } }).message.event === i)!.pid,
      );
      assert.deepEqual(indexes(rec, byEvent), [1, 2, 1, 2]);
    }));

  it('inspect reports the pool state', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 4, workerMailboxSize: 7 } });
      await callMany(node, pool, 3);
      node.kill(workerPids(rec)[0]!);
      await rec.until((r) => r.ev === 'init', 5, 'replacement');
      assert.deepEqual(await inspectOf(node, pool), {
        pool_size: '4',
        worker_behavior: 'PoolWorker',
        worker_mailbox_size: '7',
        worker_restarts: '1',
        messages_forwarded: '3',
        messages_unhandled: '0',
      });
    }));

  it('poolSize below 1 means 3 workers; a missing factory or a failing worker init fails the spawn', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      await node.spawn(TestPool, {}, { rec, options: { poolSize: 0 } });
      assert.equal(workerPids(rec).length, 3);
      await rejectsCode(
        node.spawn(TestPool, {}, { rec, options: { workerFactory: undefined as never } }),
        'ERR_INCORRECT',
      );
      class BadWorker extends Actor {
        override init(): unknown {
          return new Error('no worker');
        }
      }
      await assert.rejects(node.spawn(TestPool, {}, { rec, options: { workerFactory: BadWorker } }), {
        message: 'no worker',
      });
      assert.equal(node.processList().length, 4, 'the first pool and its workers only');
    }));

  it("the parent's exit terminates the pool and its workers follow", () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 3 } });
      const exit = new Error('pool exit');
      node.sendExit(pool, exit);
      const r = (await rec.until((x) => x.ev === 'supTerminate', 1, 'pool terminate'))[0] as { reason: Error };
      assert.equal(seen(r.reason), exit);
      await rec.until((x) => x.ev === 'terminate' && x.tag === 'pw', 3, 'workers');
      assert.equal(
        rec.count((x) => x.ev === 'init'),
        3,
        'no replacement during the pool shutdown',
      );
      assert.equal(node.processList().length, 0);
    }));

  it('a pool cannot be a logger', () =>
    withNode(async (node) => {
      const rec = new Recorder();
      const pool = await node.spawn(TestPool, {}, { rec, options: { poolSize: 1 } });
      node.loggerAddPID(pool, 'poollogger');
      node.log.info('hello');
      const r = (await rec.until((x) => x.ev === 'supTerminate', 1, 'pool terminate'))[0] as { reason: Error };
      assert.equal((r.reason as ErgoError).code, 'ERR_NOT_ALLOWED');
    }));
});

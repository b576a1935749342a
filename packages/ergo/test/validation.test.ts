// Bad input (issue 8 §3): every option is checked by the same validator as its setter, so spawn,
// startNode, pools, supervisors, applications, cron and loggers refuse what the setters refuse,
// with ERR_INCORRECT (ERR_ATOM_TOO_LONG for an over-long name) and nothing half-created. Also:
// classes that are not behaviours, non-Error throws from init, and error messages that quote a
// huge user input.

import { strict as assert } from 'node:assert';
import { after, describe, test } from 'node:test';

import {
  Actor,
  createCronActionMessage,
  ErgoError,
  LogLevel,
  PID,
  Pool,
  startNode,
  Supervisor,
  type ApplicationBehavior,
  type ApplicationSpec,
  type CronJob,
  type Node,
  type PoolOptions,
  type ProcessOptions,
  type SupervisorSpec,
} from '../src/index.js';
import { nodeName, noUnhandled, quietNode, rejectsWith, thrown, within } from './helpers.js';

noUnhandled();

const nodes: Node[] = [];
after(async () => {
  for (const n of nodes) await n.stopForce().catch(() => undefined);
});
async function node(): Promise<Node> {
  const n = await quietNode();
  nodes.push(n);
  return n;
}

class Idle extends Actor {}

/** Runs `fn` inside a fresh Idle process (state Running) and returns its result. */
async function inProcess<T>(n: Node, fn: (a: Actor) => T): Promise<T> {
  let result: { ok: true; v: T } | { ok: false; e: unknown } | undefined;
  class Runner extends Actor {
    override handleCall(): unknown {
      try {
        result = { ok: true, v: fn(this) };
      } catch (e) {
        result = { ok: false, e };
      }
      return 'done';
    }
  }
  const pid = await n.spawn(Runner);
  await n.call(pid, 'run');
  if (result === undefined) assert.fail('the handler did not run');
  if (!result.ok) throw result.e;
  return result.v;
}

/** The spawn is refused with `code` and no process was created. */
async function spawnRefused(
  n: Node,
  options: unknown,
  code = 'ERR_INCORRECT',
  factory: unknown = Idle,
): Promise<ErgoError> {
  const before = n.processList().length;
  const e = await rejectsWith(n.spawn(factory as typeof Idle, options as ProcessOptions), code);
  assert.ok(e instanceof ErgoError, `an ErgoError, got ${String(e)}`);
  assert.equal(n.processList().length, before, 'nothing was spawned');
  return e;
}

describe('spawn options', () => {
  test('initTimeout must fit a timer: Infinity, 2^31, NaN and strings are refused; 2^31-1 works', async () => {
    const n = await node();
    for (const bad of [Infinity, 2 ** 31, NaN, -1, '100']) {
      const e = await spawnRefused(n, { initTimeout: bad });
      assert.match(e.message, /initTimeout/);
    }
    const pid = await n.spawn(Idle, { initTimeout: 2 ** 31 - 1 });
    assert.ok(pid instanceof PID);
    // An async init with the largest timeout is not cut short (Node would fire a longer one after 1 ms).
    class SlowInit extends Actor {
      override async init(): Promise<void> {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.ok((await n.spawn(SlowInit, { initTimeout: 2 ** 31 - 1 })) instanceof PID);
  });

  test('leader must be a PID: a string or a PID-shaped plain object is refused at spawn', async () => {
    const n = await node();
    await spawnRefused(n, { leader: 'bogus' });
    await spawnRefused(n, { leader: { node: n.name, id: 1, creation: n.pid.creation } });
    const pid = await n.spawn(Idle, { leader: n.pid });
    assert.equal(n.processInfo(pid).leader.toString(), n.pid.toString());
  });

  test('logLevel, env, compression, fallback, mailboxSize, sendPriority and flags are checked like their setters', async () => {
    const n = await node();
    const cases: [string, unknown][] = [
      ['logLevel', { logLevel: 99 }],
      ['logLevel', { logLevel: LogLevel.System }],
      ['env', { env: 'str' }],
      ['env', { env: ['a'] }],
      ['env name', { env: { '': 1 } }],
      ['compression.level', { compression: { enable: true, level: 9 } }],
      ['compression.type', { compression: { enable: true, type: 'brotli' } }],
      ['compression.threshold', { compression: { enable: true, threshold: 10 } }],
      ['compression', { compression: 'on' }],
      ['fallback.name', { mailboxSize: 1, fallback: { enable: true } }],
      ['fallback.name', { mailboxSize: 1, fallback: { enable: true, name: '' } }],
      ['fallback.tag', { mailboxSize: 1, fallback: { enable: false, name: 'x', tag: 5 } }],
      ['mailboxSize', { mailboxSize: -1 }],
      ['mailboxSize', { mailboxSize: Infinity }],
      ['sendPriority', { sendPriority: 7 }],
      ['linkParent', { linkParent: 'yes' }],
      ['spawn options', 'options'],
    ];
    for (const [what, options] of cases) {
      const e = await spawnRefused(n, options);
      assert.ok(e.message.includes(what), `${JSON.stringify(options)}: message names ${what}: ${e.message}`);
    }
    await spawnRefused(n, { mailboxSize: 1, fallback: { enable: true, name: 'x'.repeat(256) } }, 'ERR_ATOM_TOO_LONG');
    // The setters refuse the same values with the same code.
    await inProcess(n, (a) => {
      thrown(() => a.log.setLevel(99 as LogLevel), 'ERR_INCORRECT');
      thrown(() => a.setCompressionLevel(9 as 0), 'ERR_INCORRECT');
      thrown(() => a.setCompressionType('brotli' as 'gzip'), 'ERR_INCORRECT');
      thrown(() => a.setCompressionThreshold(10), 'ERR_INCORRECT');
      thrown(() => a.setEnv('', 1), 'ERR_INCORRECT');
    });
    thrown(() => n.setLogLevelProcess(n.processList()[0]!, 99 as LogLevel), 'ERR_INCORRECT');
    // Valid values still work.
    const pid = await n.spawn(Idle, {
      logLevel: LogLevel.Debug,
      env: { a: 1 },
      compression: { enable: true, level: 2, type: 'zlib', threshold: 2048 },
      mailboxSize: 1,
      fallback: { enable: true, name: 'fb' },
    });
    assert.equal(n.logLevelProcess(pid), LogLevel.Debug);
  });

  test('a class that does not extend a behaviour is ERR_INCORRECT, not a TypeError', async () => {
    const n = await node();
    const e = await spawnRefused(n, {}, 'ERR_INCORRECT', class NotABehaviour {});
    assert.match(e.message, /NotABehaviour does not extend a process behaviour/);
    await spawnRefused(n, {}, 'ERR_INCORRECT', class {});
    // Factory functions and arrow functions still work.
    assert.ok((await n.spawn(() => new Idle())) instanceof PID);
    assert.ok(
      (await n.spawn(function make() {
        return new Idle();
      })) instanceof PID,
    );
  });
});

describe('init throwing a non-Error', () => {
  test('a thrown or rejected non-Error is wrapped (code ERR_THROWN_VALUE, the value as cause)', async () => {
    const n = await node();
    class ThrowsString extends Actor {
      override init(): void {
        throw 'boom';
      }
    }
    class RejectsNumber extends Actor {
      override async init(): Promise<void> {
        await Promise.resolve();
        throw 42;
      }
    }
    const e1 = await rejectsWith(n.spawn(ThrowsString), 'ERR_THROWN_VALUE');
    assert.ok(e1 instanceof ErgoError);
    assert.equal(e1.cause, 'boom');
    const e2 = await rejectsWith(n.spawn(RejectsNumber), 'ERR_THROWN_VALUE');
    assert.ok(e2 instanceof Error);
    assert.equal(e2.cause, 42);
  });
});

describe('env names', () => {
  test('setEnv with an empty or non-string name is ERR_INCORRECT on the node and in a process', async () => {
    const n = await node();
    thrown(() => n.setEnv('', 1), 'ERR_INCORRECT');
    thrown(() => n.setEnv(42 as unknown as string, 1), 'ERR_INCORRECT');
    assert.deepEqual(n.envList(), {});
    await inProcess(n, (a) => {
      thrown(() => a.setEnv('', 1), 'ERR_INCORRECT');
      thrown(() => a.setEnv(42 as unknown as string, 1), 'ERR_INCORRECT');
      assert.deepEqual(a.envList(), {});
    });
  });
});

describe('startNode options', () => {
  test('a log level of 42, an env with an empty name or a bad logger filter fails startNode', async () => {
    await rejectsWith(
      startNode(nodeName(), { log: { level: 42 as LogLevel, defaultLogger: { disable: true } } }),
      'ERR_INCORRECT',
    );
    await rejectsWith(
      startNode(nodeName(), { env: { '': 1 }, log: { defaultLogger: { disable: true } } }),
      'ERR_INCORRECT',
    );
    await rejectsWith(
      startNode(nodeName(), {
        env: 'x' as unknown as Record<string, unknown>,
        log: { defaultLogger: { disable: true } },
      }),
      'ERR_INCORRECT',
    );
    await rejectsWith(
      startNode(nodeName(), {
        log: {
          defaultLogger: { disable: true },
          loggers: [{ name: 'l', logger: { log() {} }, filter: [99 as LogLevel] }],
        },
      }),
      'ERR_INCORRECT',
    );
  });

  test('LogLevel.Default means Info (as in Ergo)', async () => {
    const n = await startNode(nodeName(), { log: { level: LogLevel.Default, defaultLogger: { disable: true } } });
    nodes.push(n);
    assert.equal(n.log.level(), LogLevel.Info);
  });
});

describe('loggers', () => {
  test('loggerAdd with a level outside Trace..Panic is ERR_INCORRECT and adds nothing', async () => {
    const n = await node();
    const before = n.loggers();
    for (const bad of [99, LogLevel.Disabled, LogLevel.Default, LogLevel.System, 'verbose', 'disabled']) {
      thrown(() => n.loggerAdd('bad', { log() {} }, bad as LogLevel), 'ERR_INCORRECT');
    }
    assert.deepEqual(n.loggers(), before);
    const pid = await n.spawn(Idle);
    thrown(() => n.loggerAddPID(pid, 'badpid', 99 as LogLevel), 'ERR_INCORRECT');
    assert.deepEqual(n.loggers(), before);
    n.loggerAdd('good', { log() {} }, LogLevel.Warning, LogLevel.Error);
    assert.deepEqual(n.loggerLevels('good'), [LogLevel.Warning, LogLevel.Error]);
  });
});

describe('pool options', () => {
  class W extends Actor {}
  class P extends Pool {
    override init(o: Partial<PoolOptions>): PoolOptions {
      return { workerFactory: W, ...o };
    }
  }

  test('poolSize Infinity, -1, 1.5 or NaN and workerArgs that is not an array are ERR_INCORRECT', async () => {
    const n = await node();
    for (const o of [
      { poolSize: Infinity },
      { poolSize: -1 },
      { poolSize: 1.5 },
      { poolSize: NaN },
      { workerArgs: 'x' },
      { workerMailboxSize: -1 },
    ]) {
      const before = n.processList().length;
      // The guard turns the old behaviour (spawning workers until the heap is gone) into a failure.
      await within(
        rejectsWith(n.spawn(P, {}, o as Partial<PoolOptions>), 'ERR_INCORRECT', JSON.stringify(o)),
        `pool ${JSON.stringify(o)}`,
      );
      assert.equal(n.processList().length, before, `nothing left behind by ${JSON.stringify(o)}`);
    }
    // 0 and absent mean the default of 3 workers.
    const pid = await n.spawn(P, {}, { poolSize: 0 });
    assert.equal((await inProcess(n, (a) => a.inspect(pid))).pool_size, '3');
  });
});

describe('supervisor specs', () => {
  class C extends Actor {}
  class S extends Supervisor {
    override init(spec: SupervisorSpec): SupervisorSpec {
      return spec;
    }
  }
  const child = { name: 'c', factory: C };

  test('intensity and period NaN, Infinity or negative are ERR_INCORRECT; 0 means the default', async () => {
    const n = await node();
    for (const restart of [
      { intensity: NaN },
      { period: NaN },
      { intensity: Infinity },
      { period: Infinity },
      { intensity: -1 },
      { period: -5 },
      { intensity: 1.5 },
    ]) {
      await rejectsWith(
        n.spawn(S, {}, { children: [child], restart } as SupervisorSpec),
        'ERR_INCORRECT',
        JSON.stringify(restart),
      );
    }
    const pid = await n.spawn(S, {}, { children: [{ ...child, name: 'c0' }], restart: { intensity: 0, period: 0 } });
    const info = await inProcess(n, (a) => a.inspect(pid));
    assert.equal(info.intensity, '5');
    assert.equal(info.period, '5');
  });

  test('child specs are checked with the spawn validators (options, args, name length)', async () => {
    const n = await node();
    await rejectsWith(
      n.spawn(S, {}, { children: [{ ...child, options: { logLevel: 99 as LogLevel } }] }),
      'ERR_INCORRECT',
    );
    await rejectsWith(
      n.spawn(S, {}, { children: [{ ...child, options: { initTimeout: Infinity } }] }),
      'ERR_INCORRECT',
    );
    await rejectsWith(n.spawn(S, {}, { children: [{ ...child, args: 'x' as unknown as [] }] }), 'ERR_INCORRECT');
    await rejectsWith(n.spawn(S, {}, { children: [{ ...child, name: 'n'.repeat(256) }] }), 'ERR_ATOM_TOO_LONG');
  });
});

describe('application specs', () => {
  const app = (spec: Partial<ApplicationSpec>): ApplicationBehavior => ({
    load: () => ({ name: 'app', group: [{ factory: Idle }], ...spec }) as ApplicationSpec,
  });

  test('depends.applications must be an array of names (a string is not read one character at a time)', async () => {
    const n = await node();
    const e = await rejectsWith(
      n.applicationLoad(app({ depends: { applications: 'db' as unknown as string[] } })),
      'ERR_INCORRECT',
    );
    assert.match(e.message, /depends\.applications/);
    await rejectsWith(n.applicationLoad(app({ depends: { applications: [''] } })), 'ERR_INCORRECT');
    await rejectsWith(
      n.applicationLoad(app({ depends: 'db' as unknown as ApplicationSpec['depends'] })),
      'ERR_INCORRECT',
    );
    assert.deepEqual(n.applications(), []);
  });

  test('env, logLevel and member options are checked at load; start options at start', async () => {
    const n = await node();
    await rejectsWith(n.applicationLoad(app({ env: 'str' as unknown as Record<string, unknown> })), 'ERR_INCORRECT');
    await rejectsWith(n.applicationLoad(app({ logLevel: 42 as LogLevel })), 'ERR_INCORRECT');
    await rejectsWith(
      n.applicationLoad(app({ group: [{ factory: Idle, options: { compression: { enable: true, level: 9 as 0 } } }] })),
      'ERR_INCORRECT',
    );
    assert.deepEqual(n.applications(), []);
    const name = await n.applicationLoad(app({}));
    await rejectsWith(n.applicationStart(name, { logLevel: 42 as LogLevel }), 'ERR_INCORRECT');
    await rejectsWith(n.applicationStart(name, { env: { '': 1 } }), 'ERR_INCORRECT');
    assert.deepEqual(n.applicationsRunning(), []);
    await n.applicationStart(name, { logLevel: LogLevel.Warning });
    assert.deepEqual(n.applicationsRunning(), [name]);
    // A stop timeout Node cannot honour (it would fire after 1 ms) is refused; nothing is stopped.
    for (const bad of [Infinity, 2 ** 31, 0, -1, NaN])
      await rejectsWith(n.applicationStopWithTimeout(name, bad), 'ERR_INCORRECT', String(bad));
    assert.deepEqual(n.applicationsRunning(), [name]);
    await n.applicationStopWithTimeout(name, 2 ** 31 - 1);
    assert.deepEqual(n.applicationsRunning(), []);
  });
});

describe('cron jobs', () => {
  test('a job name over 255 bytes is ERR_ATOM_TOO_LONG; a fallback without a name is ERR_INCORRECT', async () => {
    const n = await node();
    const act = createCronActionMessage('w');
    const job = (name: string, extra: Partial<CronJob> = {}): CronJob => ({
      name,
      spec: '* * * * *',
      location: 'UTC',
      action: act,
      ...extra,
    });
    thrown(() => n.cron().addJob(job('j'.repeat(256))), 'ERR_ATOM_TOO_LONG');
    thrown(() => n.cron().addJob(job('é'.repeat(128))), 'ERR_ATOM_TOO_LONG'); // 256 bytes, 128 chars
    thrown(() => n.cron().addJob(job('fb', { fallback: { enable: true } as CronJob['fallback'] })), 'ERR_INCORRECT');
    assert.deepEqual(n.cron().info().jobs, []);
    n.cron().addJob(job('j'.repeat(255)));
    assert.equal(n.cron().info().jobs.length, 1);
  });
});

describe('error messages quoting user input', () => {
  const MB = 1 << 20;
  const huge = 'N'.repeat(MB);

  /** The message is short, keeps its start, and says how long the quoted input was. */
  function bounded(e: Error): void {
    assert.ok(e.message.length < 1000, `message of ${e.message.length} chars`);
    assert.match(e.message, /…\[\d{7} chars\]…/);
  }

  test('a 1 MB name gives a short message through registerName, spawnRegister, send, call and processPID', async () => {
    const n = await node();
    const pid = await n.spawn(Idle);
    bounded(thrown(() => n.registerName(huge, pid), 'ERR_ATOM_TOO_LONG'));
    bounded(await rejectsWith(n.spawnRegister(huge, Idle), 'ERR_ATOM_TOO_LONG'));
    bounded(thrown(() => n.send(huge, 'hi'), 'ERR_PROCESS_UNKNOWN'));
    bounded(await rejectsWith(n.call(huge, 'hi'), 'ERR_PROCESS_UNKNOWN'));
    bounded(thrown(() => n.processPID(huge), 'ERR_PROCESS_UNKNOWN'));
    bounded(
      await rejectsWith(n.spawn(Idle, { env: { [huge]: 1 }, logLevel: huge as unknown as LogLevel }), 'ERR_INCORRECT'),
    );
    // A thrown 1 MB string from init is wrapped with a short message; the value is the cause.
    class Throws extends Actor {
      override init(): void {
        throw huge;
      }
    }
    const e = await rejectsWith(n.spawn(Throws), 'ERR_THROWN_VALUE');
    bounded(e);
    assert.equal(e.cause, huge);
  });

  test('the engine and the option validators describe a bad value alike: by its kind, strings quoted', async () => {
    const n = await node();
    const message = (f: () => unknown): string => thrown(f, 'ERR_INCORRECT').message;
    // The engine's checks (node.ts, names.ts) and the validators' (gen/validate.ts) share one describeValue.
    assert.match(
      message(() => n.kill({ node: n.name } as unknown as PID)),
      /kill: an object is not a PID/,
    );
    assert.match(
      message(() => n.kill([1, 2] as unknown as PID)),
      /an array of 2 is not a PID/,
    );
    assert.match(
      message(() => n.processPID(42 as unknown as string)),
      /processPID: 42 is not a name/,
    );
    const inspected = await rejectsWith(n.inspect(Symbol('s') as unknown as PID), 'ERR_INCORRECT');
    assert.match(inspected.message, /inspect: a symbol is neither a PID nor a registered name/);
    assert.match(
      message(() => n.setEnv(7 as unknown as string, 1)),
      /not 7$/,
    );
    const spawned = await rejectsWith(n.spawn(Idle, { logLevel: 'loud' as unknown as LogLevel }), 'ERR_INCORRECT');
    assert.match(spawned.message, /"loud"/);
  });

  test('short details are kept whole; long ones keep their head and tail, never half a surrogate pair', () => {
    const err = new ErgoError('ERR_X', 'x');
    assert.equal(err.with('short detail').message, 'x: short detail');
    const long = `option ${'😀'.repeat(400)} end`;
    const m = err.with(long).message;
    assert.ok(m.startsWith('x: option 😀'));
    assert.ok(m.endsWith('😀 end'));
    assert.match(m, /…\[\d+ chars\]…/);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(m), 'no lone surrogate');
  });
});

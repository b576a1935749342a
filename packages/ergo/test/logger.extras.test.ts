// Ergo's extra loggers (issue 22 item 4, EXTRAS.md §8): the colored and rotate loggers of
// ergo-ts/logger (golden lines with a fixed clock), the time formats they share with the default
// logger (Go layouts, 'human'), rotation by period on an injected clock, gzip contents read back,
// depth pruning, unwritable and deleted directories; and log level names ('info', 'warn',
// 'disabled') accepted wherever a level is, with ERR_INCORRECT for unknown names.

process.env.TZ = 'UTC'; // golden times and rotated file names are local time

import { strict as assert } from 'node:assert';
import { mkdtempSync, symlinkSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { createDefaultLogger } from '../src/node/default_logger.js';
import {
  LogLevel,
  MessageLog,
  MessageLogMeta,
  MessageLogNetwork,
  MessageLogNode,
  MessageLogProcess,
  PID,
  type Atom,
  type LogField,
  type Node,
} from '../src/index.js';
import { Alias } from '../src/gen/ref.js';
import { createColoredLogger, createRotateLogger, formatGoLayout, MIN_ROTATE_PERIOD } from '../src/logger/index.js';
import { Capture, exec, guardUnhandled, spawnTest, testNode, throwsCode } from './lifecycle_helpers.js';

guardUnhandled();

const NODE = 'demo@localhost' as Atom;
const NODE_CRC = '9F35C982'; // crc32 of "demo@localhost", as Ergo prints a node
const PEER_CRC = 'C6224286'; // crc32 of "peer@localhost"
// 2026-11-22 10:04:05.678 UTC
const T = new Date(Date.UTC(2026, 10, 22, 10, 4, 5, 678));
const pid = new PID(NODE, 1001, 1);
const alias = new Alias(NODE, 1, [7, 8, 9]);

function rec(
  level: LogLevel,
  source: MessageLog['source'],
  format: string,
  args: unknown[] = [],
  fields: LogField[] = [],
): MessageLog {
  return new MessageLog(T, level, source, format, args, fields);
}
const nodeSrc = new MessageLogNode(NODE, 1);
const procSrc = new MessageLogProcess(NODE, pid, 'busy' as Atom, 'Worker');
const metaSrc = new MessageLogMeta(NODE, pid, alias, 'TCPMeta');
const netSrc = new MessageLogNetwork(NODE, 'peer@localhost' as Atom, 1);

const tmp = mkdtempSync(join(tmpdir(), 'ergo-log22-'));
const nodes: Node[] = [];
after(async () => {
  for (const n of nodes) if (n.isAlive()) await n.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Captures stderr writes while `fn` runs. */
function stderrOf(fn: () => void): string {
  const orig = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    out += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = orig;
  }
  return out;
}

describe('time formats', () => {
  test('Go layouts print as Go does (reference time Mon Jan 2 15:04:05 MST 2006)', () => {
    assert.equal(formatGoLayout(T, '2006-01-02 15:04:05.000'), '2026-11-22 10:04:05.678');
    assert.equal(formatGoLayout(T, '200601021504'), '202611221004');
    assert.equal(formatGoLayout(T, 'Jan _2 03:04:05PM'), 'Nov 22 10:04:05AM');
    assert.equal(formatGoLayout(T, 'Mon, 02 Jan 2006 15:04:05 -0700'), 'Sun, 22 Nov 2026 10:04:05 +0000');
    assert.equal(formatGoLayout(T, '2006-01-02T15:04:05.999999999Z07:00'), '2026-11-22T10:04:05.678Z');
    assert.equal(formatGoLayout(T, '15:04:05.000000'), '10:04:05.678000');
  });

  test("the default logger takes 'human' and Go layouts; a bad format is ERR_INCORRECT", () => {
    const cap = new Capture();
    createDefaultLogger({ output: cap.output, timeFormat: 'human' }).log(rec(LogLevel.Info, nodeSrc, 'up'));
    createDefaultLogger({ output: cap.output, timeFormat: '15:04:05' }).log(rec(LogLevel.Info, nodeSrc, 'up'));
    assert.deepEqual(cap.lines, [`2026-11-22 10:04:05.678 [info] ${NODE_CRC}: up`, `10:04:05 [info] ${NODE_CRC}: up`]);
    throwsCode(() => createDefaultLogger({ timeFormat: 42 as never }), 'ERR_INCORRECT');
  });

  test('JSON: the process name has no quotes', () => {
    const cap = new Capture();
    createDefaultLogger({ output: cap.output, enableJSON: true, includeName: true, timeFormat: 'iso' }).log(
      rec(LogLevel.Info, procSrc, 'hi'),
    );
    assert.equal(
      cap.lines[0],
      `{"time":"2026-11-22T10:04:05.678Z","level":"info","source":{"type":"process","pid":"${pid}","name":"busy"},"message":"hi"}`,
    );
  });
});

describe('colored logger', () => {
  const all = (o: Parameters<typeof createColoredLogger>[0]): string[] => {
    const cap = new Capture();
    const l = createColoredLogger({ output: cap.output, disableBanner: true, timeFormat: '15:04:05', ...o });
    l.log(rec(LogLevel.Trace, nodeSrc, 'trace %s', [pid]));
    l.log(rec(LogLevel.Debug, procSrc, 'debug'));
    l.log(rec(LogLevel.Info, procSrc, 'to %s', [pid], [{ name: 'order', value: 42 }]));
    l.log(rec(LogLevel.Warning, metaSrc, 'warn'));
    l.log(rec(LogLevel.Error, netSrc, 'error'));
    l.log(rec(LogLevel.Panic, nodeSrc, 'panic'));
    return cap.lines;
  };

  test('golden lines with colours on: faint time, coloured level and source, PIDs among the args', () => {
    const e = '\x1b[';
    assert.deepEqual(all({ color: true, includeName: true, includeBehavior: true, includeFields: true }), [
      `${e}37;2m10:04:05 [trace] ${NODE_CRC}: trace ${pid}${e}0m`,
      `${e}37;2m10:04:05${e}0m ${e}35m[debug]${e}0m ${e}34m${pid}${e}0m ${e}32m'busy'${e}0m Worker: debug`,
      `${e}37;2m10:04:05${e}0m [info] ${e}34m${pid}${e}0m ${e}32m'busy'${e}0m Worker: to ${e}34m${pid}${e}0m`,
      `\tfields [order:42]`,
      `${e}37;2m10:04:05${e}0m ${e}33m[warning]${e}0m ${e}36m${alias}${e}0m TCPMeta: warn`,
      `${e}37;2m10:04:05${e}0m ${e}31;1m[error]${e}0m ${e}32m${NODE_CRC}-${PEER_CRC}${e}0m: error`,
      `${e}37;2m10:04:05${e}0m ${e}37;41;1m[panic]${e}0m ${e}32m${NODE_CRC}${e}0m: panic`,
    ]);
  });

  test('golden lines with colours off and short level names', () => {
    assert.deepEqual(all({ color: false, shortLevelName: true }), [
      `10:04:05 [TRC] ${NODE_CRC}: trace ${pid}`,
      `10:04:05 [DBG] ${pid}: debug`,
      `10:04:05 [INF] ${pid}: to ${pid}`,
      `10:04:05 [WRN] ${alias}: warn`,
      `10:04:05 [ERR] ${NODE_CRC}-${PEER_CRC}: error`,
      `10:04:05 [PNC] ${NODE_CRC}: panic`,
    ]);
  });

  test('NO_COLOR, FORCE_COLOR and a terminal decide when the option does not', () => {
    const colored = (env: Record<string, string>, isTTY: boolean): boolean => {
      const cap = new Capture();
      const output = { write: cap.output.write, isTTY };
      createColoredLogger({ output, env, disableBanner: true }).log(rec(LogLevel.Warning, nodeSrc, 'x'));
      return cap.lines[0]!.includes('\x1b[');
    };
    assert.equal(colored({}, true), true, 'a terminal: colours');
    assert.equal(colored({}, false), false, 'a pipe or file: none');
    assert.equal(colored({ NO_COLOR: '1' }, true), false);
    assert.equal(colored({ FORCE_COLOR: '1' }, false), true);
    assert.equal(colored({ FORCE_COLOR: '0' }, true), false);
    assert.equal(colored({ NO_COLOR: '1', FORCE_COLOR: '1' }, true), false, 'NO_COLOR wins');
  });

  test('the banner: printed at creation, each line prefixed with the time; not with disableBanner', () => {
    const cap = new Capture();
    createColoredLogger({ output: cap.output, color: false, timeFormat: () => 'T' });
    assert.equal(cap.lines.length, 3);
    for (const l of cap.lines) assert.match(l, /^T /);
    assert.match(cap.text(), /ergo-ts/);
    const none = new Capture();
    createColoredLogger({ output: none.output, disableBanner: true });
    assert.equal(none.lines.length, 0);
  });

  test('an output that throws is reported once on stderr; logging goes on', () => {
    let calls = 0;
    const output = {
      write(): never {
        calls++;
        throw new Error('EPIPE: broken pipe');
      },
    };
    const l = createColoredLogger({ output, disableBanner: true });
    const err = stderrOf(() => {
      l.log(rec(LogLevel.Info, nodeSrc, 'a'));
      l.log(rec(LogLevel.Info, nodeSrc, 'b'));
    });
    assert.equal(calls, 1, 'a failed output is written to no more');
    assert.equal(err.match(/the colored logger stopped writing to its output stream: EPIPE/g)?.length, 1, err);
  });

  test('bad options are ERR_INCORRECT', () => {
    throwsCode(() => createColoredLogger({ color: 'yes' as never }), 'ERR_INCORRECT');
    throwsCode(() => createColoredLogger({ shortLevelName: 1 as never }), 'ERR_INCORRECT');
    throwsCode(() => createColoredLogger({ output: {} as never }), 'ERR_INCORRECT');
  });
});

describe('rotate logger', () => {
  let seq = 0;
  const dirOf = (): string => join(tmp, `r${++seq}`);
  const minute = MIN_ROTATE_PERIOD;
  // 10:04:05.678 → the period [10:04, 10:05) when period is one minute.
  const start = T.getTime();

  test('golden plain lines in <path>/<prefix>.log', () => {
    const path = dirOf();
    const l = createRotateLogger({
      path,
      prefix: 'app',
      now: () => start,
      timeFormat: 'human',
      includeName: true,
      includeBehavior: true,
      includeFields: true,
    });
    l.log(rec(LogLevel.Info, procSrc, 'to %s', [pid], [{ name: 'order', value: 42 }]));
    l.log(rec(LogLevel.Warning, netSrc, 'link down'));
    l.log(rec(LogLevel.Debug, metaSrc, 'meta'));
    l.log(rec(LogLevel.Error, nodeSrc, 'node'));
    l.flush();
    assert.equal(l.file, join(path, 'app.log'));
    assert.equal(
      readFileSync(l.file, 'utf8'),
      `2026-11-22 10:04:05.678 [info] ${pid} 'busy' Worker: to ${pid} fields [order:42]\n` +
        `2026-11-22 10:04:05.678 [warning] demo@localhost-peer@localhost: link down\n` +
        `2026-11-22 10:04:05.678 [debug] ${alias} TCPMeta: meta\n` +
        `2026-11-22 10:04:05.678 [error] ${NODE_CRC}: node\n`,
    );
  });

  test('rotates on the first write after the period, named after the period start; no write, no file', () => {
    const path = dirOf();
    let now = start;
    const l = createRotateLogger({ path, prefix: 'app', now: () => now, shortLevelName: true, timeFormat: '15:04' });
    l.log(rec(LogLevel.Info, nodeSrc, 'first'));
    l.flush();
    now = start + 30_000; // 10:04:35, same period
    l.log(rec(LogLevel.Info, nodeSrc, 'second'));
    l.flush();
    assert.deepEqual(readdirSync(path).sort(), ['app.log']);
    now = start + minute; // 10:05:05: the period [10:04, 10:05) is over
    l.log(rec(LogLevel.Info, nodeSrc, 'third'));
    l.flush();
    assert.deepEqual(readdirSync(path).sort(), ['app.202611221004.log', 'app.log']);
    assert.equal(
      readFileSync(join(path, 'app.202611221004.log'), 'utf8'),
      `10:04 [INF] ${NODE_CRC}: first\n10:04 [INF] ${NODE_CRC}: second\n`,
    );
    assert.equal(readFileSync(join(path, 'app.log'), 'utf8'), `10:04 [INF] ${NODE_CRC}: third\n`);
    now = start + 10 * minute; // 10:14:05: nine quiet periods make no files
    l.log(rec(LogLevel.Info, nodeSrc, 'fourth'));
    l.flush();
    assert.deepEqual(readdirSync(path).sort(), ['app.202611221004.log', 'app.202611221005.log', 'app.log']);
    now = start + 11 * minute; // the next boundary follows the write after the gap: 10:15
    l.log(rec(LogLevel.Info, nodeSrc, 'fifth'));
    l.flush();
    assert.ok(readdirSync(path).includes('app.202611221014.log'));
    l.terminate();
  });

  test('compress: rotated files are gzip, read back; depth keeps the newest N this logger rotated', () => {
    const path = dirOf();
    let now = start;
    const l = createRotateLogger({
      path,
      prefix: 'z',
      now: () => now,
      compress: true,
      depth: 2,
      timeFormat: () => 'T',
    });
    for (let i = 0; i < 5; i++) {
      l.log(rec(LogLevel.Info, nodeSrc, `period ${i}`));
      l.flush();
      now += minute;
    }
    l.log(rec(LogLevel.Info, nodeSrc, 'last'));
    l.flush();
    const files = readdirSync(path).sort();
    assert.deepEqual(files, ['z.202611221007.log.gz', 'z.202611221008.log.gz', 'z.log']);
    assert.deepEqual(l.rotated(), [join(path, 'z.202611221007.log.gz'), join(path, 'z.202611221008.log.gz')]);
    assert.equal(
      gunzipSync(readFileSync(join(path, 'z.202611221008.log.gz'))).toString(),
      `T [info] ${NODE_CRC}: period 4\n`,
    );
    assert.equal(readFileSync(join(path, 'z.log'), 'utf8'), `T [info] ${NODE_CRC}: last\n`);
  });

  test('period: below a minute is raised to it; a bad period, depth or path is ERR_INCORRECT', () => {
    const path = dirOf();
    let now = start;
    const l = createRotateLogger({ path, prefix: 'p', now: () => now, period: 1000 });
    l.log(rec(LogLevel.Info, nodeSrc, 'a'));
    l.flush();
    now += 30_000;
    l.log(rec(LogLevel.Info, nodeSrc, 'b'));
    l.flush();
    assert.deepEqual(readdirSync(path), ['p.log'], 'no rotation within the minute');
    throwsCode(() => createRotateLogger({ path, period: -1 }), 'ERR_INCORRECT');
    throwsCode(() => createRotateLogger({ path, depth: 1.5 }), 'ERR_INCORRECT');
    throwsCode(() => createRotateLogger({ path, prefix: 'a/b' }), 'ERR_INCORRECT');
    const file = join(tmp, 'a-file');
    writeFileSync(file, '');
    throwsCode(() => createRotateLogger({ path: join(file, 'sub') }), 'ERR_INCORRECT');
  });

  test('records queue and are written after the current turn (logging never waits for the disk)', async () => {
    const path = dirOf();
    const l = createRotateLogger({ path, prefix: 'q', timeFormat: () => 'T' });
    l.log(rec(LogLevel.Info, nodeSrc, 'queued'));
    assert.deepEqual(readdirSync(path), [], 'nothing written in the same turn');
    await new Promise((r) => setImmediate(r));
    assert.equal(readFileSync(l.file, 'utf8'), `T [info] ${NODE_CRC}: queued\n`);
  });

  test('a deleted directory is made again; an unwritable one is reported once, never thrown', () => {
    const path = dirOf();
    const l = createRotateLogger({ path, prefix: 'd', timeFormat: () => 'T' });
    rmSync(path, { recursive: true });
    l.log(rec(LogLevel.Info, nodeSrc, 'after delete'));
    l.flush();
    assert.equal(readFileSync(l.file, 'utf8'), `T [info] ${NODE_CRC}: after delete\n`);
    // The directory replaced by a file: every write fails (as a full disk or EACCES would).
    rmSync(path, { recursive: true });
    writeFileSync(path, 'not a directory');
    const err = stderrOf(() => {
      for (let i = 0; i < 3; i++) {
        l.log(rec(LogLevel.Info, nodeSrc, `lost ${i}`));
        l.flush();
      }
    });
    assert.equal(err.match(/cannot write/g)?.length, 1, err);
    rmSync(path);
    const back = stderrOf(() => {
      l.log(rec(LogLevel.Info, nodeSrc, 'back'));
      l.flush();
    });
    assert.match(back, /writing again \(3 record\(s\) were dropped\)/);
    assert.equal(readFileSync(l.file, 'utf8'), `T [info] ${NODE_CRC}: back\n`);
    l.terminate();
    l.log(rec(LogLevel.Info, nodeSrc, 'after terminate'));
    l.flush();
    assert.equal(readFileSync(l.file, 'utf8'), `T [info] ${NODE_CRC}: back\n`);
  });

  test('a full disk (ENOSPC: the active file is /dev/full) is reported once; the node logs on', () => {
    const path = dirOf();
    const l = createRotateLogger({ path, prefix: 'full' });
    symlinkSync('/dev/full', l.file);
    const err = stderrOf(() => {
      for (let i = 0; i < 3; i++) {
        l.log(rec(LogLevel.Info, nodeSrc, 'x'));
        l.flush();
      }
    });
    assert.equal(err.match(/cannot write \(records are dropped until it can\): ENOSPC/g)?.length, 1, err);
    l.terminate();
  });

  test('as a node logger: records of a process reach the file; terminate on node stop writes the queue', async () => {
    const path = dirOf();
    const node = await testNode();
    nodes.push(node);
    node.loggerAdd(
      'rotate',
      createRotateLogger({ path, prefix: 'node', timeFormat: () => 'T', includeName: true }),
      'info',
      'warn',
    );
    const p = await spawnTest(node, { name: 'rot_proc' });
    await exec(node, p.pid, (a) => {
      a.log.info('hello %d', 1);
      a.log.debug('dropped');
    });
    await node.stop();
    assert.equal(readFileSync(join(path, 'node.log'), 'utf8'), `T [info] ${p.pid} 'rot_proc': hello 1\n`);
  });
});

describe('level names', () => {
  test('setLevel, setLogLevelProcess, spawn and startNode options and logger filters take names', async () => {
    const cap = new Capture();
    const node = await testNode({
      log: { level: 'debug', defaultLogger: { output: cap.output, filter: ['warn', 'error'], timeFormat: () => 'T' } },
    });
    nodes.push(node);
    assert.equal(node.log.level(), LogLevel.Debug);
    node.log.setLevel('WARNING' as never); // any letter case at run time
    assert.equal(node.log.level(), LogLevel.Warning);
    node.log.setLevel('silent');
    assert.equal(node.log.level(), LogLevel.Disabled);
    node.log.setLevel('disabled');
    assert.equal(node.log.level(), LogLevel.Disabled);
    node.log.setLevel('info');
    assert.deepEqual(node.loggerLevels('default'), [LogLevel.Warning, LogLevel.Error]);
    node.loggerAdd('named', { log: () => undefined }, 'trace', 'fatal');
    assert.deepEqual(node.loggerLevels('named'), [LogLevel.Trace, LogLevel.Panic]);
    const p = await spawnTest(node, { options: { logLevel: 'error' } });
    assert.equal(node.logLevelProcess(p.pid), LogLevel.Error);
    node.setLogLevelProcess(p.pid, 'trace');
    assert.equal(node.logLevelProcess(p.pid), LogLevel.Trace);
    assert.equal(
      await exec(node, p.pid, (a) => {
        a.log.setLevel('panic');
        return a.log.level();
      }),
      LogLevel.Panic,
    );
    node.log.warning('seen');
    node.log.info('not seen');
    assert.deepEqual(cap.lines, [`T [warning] ${node.pid.toString().slice(1).split('.')[0]}: seen`]);
  });

  test('unknown names are ERR_INCORRECT and change nothing', async () => {
    const node = await testNode();
    nodes.push(node);
    const e = throwsCode(() => node.log.setLevel('verbose' as never), 'ERR_INCORRECT');
    assert.match(e.message, /"verbose".*'info'/);
    assert.equal(node.log.level(), LogLevel.Info);
    throwsCode(() => node.loggerAdd('x', { log: () => undefined }, 'disabled' as never), 'ERR_INCORRECT');
    throwsCode(() => node.loggerAdd('x', { log: () => undefined }, 'nope' as never), 'ERR_INCORRECT');
    assert.ok(!node.loggers().includes('x'));
    await assert.rejects(testNode({ log: { level: 'loud' as never } }), { code: 'ERR_INCORRECT' });
    await assert.rejects(spawnTest(node, { options: { logLevel: 'x' as never } }), { code: 'ERR_INCORRECT' });
  });
});

// Logging (issue 3 item 5, ERGO-API §1 logging rows, §3.2 MessageLog, §7 item 17, Ergo's
// gen/default_logger_test.go): levels of the node and of each process, the default console
// logger's text and JSON lines, function loggers with level filters, hidden/dedicated loggers,
// process loggers fed through the log queue, structured fields, pino-compatible sinks, and
// loggers that throw without hurting the code that logged.

import { strict as assert } from 'node:assert';
import { after, describe, test } from 'node:test';
import { format } from 'node:util';

import { createDefaultLogger } from '../src/node/default_logger.js';
import {
  Alias,
  LogLevel,
  MessageLog,
  MessageLogMeta,
  MessageLogNetwork,
  MessageLogNode,
  MessageLogProcess,
  startNode,
  type LoggerBehavior,
  type Node,
  type PID,
} from '../src/index.js';
import {
  Capture,
  deferred,
  exec,
  guardUnhandled,
  Hold,
  Inbox,
  spawnChild,
  spawnTest,
  testNode,
  throwsCode,
} from './lifecycle_helpers.js';

guardUnhandled();

const text = (m: MessageLog): string => format(m.format, ...m.args);

/** A function logger collecting records into an Inbox. */
function collector(): { logger: LoggerBehavior; inbox: Inbox; terminated: { count: number } } {
  const inbox = new Inbox();
  const terminated = { count: 0 };
  return {
    inbox,
    terminated,
    logger: {
      log: (m) => inbox.push({ kind: 'log', message: m }),
      terminate: () => void terminated.count++,
    },
  };
}
const logsOf = (inbox: Inbox): MessageLog[] => inbox.ofKind('log').map((s) => s.message);
const textsOf = (inbox: Inbox): string[] => logsOf(inbox).map(text);

/** CRC32 part of the node's printed PIDs (`<CRC.0.id>`): how Ergo prints a node source. */
const nodeCRC = (node: Node): string => node.pid.toString().slice(1).split('.')[0]!;

const nodes: Node[] = [];
async function logNode(options: Parameters<typeof testNode>[0] = {}): Promise<Node> {
  const n = await testNode(options);
  nodes.push(n);
  return n;
}
after(async () => {
  for (const n of nodes) if (n.isAlive()) await n.stop();
});

describe('levels', () => {
  test('node level: Info by default; lower levels dropped; setLevel changes it; Disabled drops panic too', async () => {
    const node = await logNode();
    const c = collector();
    node.loggerAdd('c', c.logger);
    assert.equal(node.log.level(), LogLevel.Info);
    node.log.trace('t0');
    node.log.debug('d0');
    node.log.info('i0');
    node.log.warning('w0');
    node.log.error('e0');
    node.log.panic('p0');
    node.log.setLevel(LogLevel.Debug);
    node.log.debug('d1');
    node.log.trace('t1');
    node.log.setLevel(LogLevel.Trace); // Port decision: allowed (Ergo refuses)
    assert.equal(node.log.level(), LogLevel.Trace);
    node.log.trace('t2');
    node.log.setLevel(LogLevel.Disabled);
    node.log.panic('p1');
    node.log.error('e1');
    assert.deepEqual(textsOf(c.inbox), ['i0', 'w0', 'e0', 'p0', 'd1', 't2']);
    assert.deepEqual(
      logsOf(c.inbox).map((m) => m.level),
      [LogLevel.Info, LogLevel.Warning, LogLevel.Error, LogLevel.Panic, LogLevel.Debug, LogLevel.Trace],
    );
    throwsCode(() => node.log.setLevel(LogLevel.Default), 'ERR_INCORRECT');
    throwsCode(() => node.log.setLevel(LogLevel.System), 'ERR_INCORRECT');
    throwsCode(() => node.log.setLevel(42 as LogLevel), 'ERR_INCORRECT');
    assert.equal(node.log.level(), LogLevel.Disabled);
  });

  test('node records carry the node source, time, level, format, args', async () => {
    const node = await logNode({ log: { level: LogLevel.Debug } });
    const c = collector();
    node.loggerAdd('c', c.logger);
    const t0 = Date.now();
    node.log.debug('x=%d y=%s', 5, 'why');
    const [m] = logsOf(c.inbox);
    assert.ok(m instanceof MessageLog);
    assert.ok(m.source instanceof MessageLogNode);
    assert.equal(m.source.node, node.name);
    assert.equal(m.source.creation, node.creation);
    assert.ok(m.time instanceof Date && m.time.getTime() >= t0 && m.time.getTime() <= Date.now());
    assert.equal(m.level, LogLevel.Debug);
    assert.equal(m.format, 'x=%d y=%s');
    assert.deepEqual(m.args, [5, 'why']);
    assert.equal(text(m), 'x=5 y=why');
  });

  test('process level: inherited from the node at spawn, from the parent for children; per-process changes', async () => {
    const node = await logNode({ log: { level: LogLevel.Warning } });
    const c = collector();
    node.loggerAdd('c', c.logger);
    const p = await spawnTest(node);
    assert.equal(node.logLevelProcess(p.pid), LogLevel.Warning);
    await exec(node, p.pid, (a) => {
      assert.equal(a.log.level(), LogLevel.Warning);
      a.log.info('dropped');
      a.log.warning('kept');
    });
    // The node's level changing later does not touch existing processes (copied at spawn).
    node.log.setLevel(LogLevel.Debug);
    await exec(node, p.pid, (a) => a.log.info('still dropped'));
    // node.setLogLevelProcess and the process' own setLevel.
    node.setLogLevelProcess(p.pid, LogLevel.Debug);
    assert.equal(node.logLevelProcess(p.pid), LogLevel.Debug);
    await exec(node, p.pid, (a) => {
      a.log.debug('debug now');
      a.log.setLevel(LogLevel.Error);
      a.log.warning('dropped again');
      a.log.error('error kept');
    });
    throwsCode(() => node.setLogLevelProcess(p.pid, LogLevel.Default), 'ERR_INCORRECT');
    // A child inherits its parent's level; spawn options override it.
    await exec(node, p.pid, (a) => a.log.setLevel(LogLevel.Info));
    node.setLogLevelProcess(p.pid, LogLevel.Error);
    const child = await spawnChild(node, p.pid);
    assert.equal(node.logLevelProcess(child.pid), LogLevel.Error);
    const child2 = await spawnChild(node, p.pid, { options: { logLevel: LogLevel.Trace } });
    assert.equal(node.logLevelProcess(child2.pid), LogLevel.Trace);
    await exec(node, child2.pid, (a) => a.log.trace('trace from options'));
    const spawnedWithLevel = await spawnTest(node, { options: { logLevel: LogLevel.Panic } });
    assert.equal(node.logLevelProcess(spawnedWithLevel.pid), LogLevel.Panic);
    assert.deepEqual(textsOf(c.inbox), ['kept', 'debug now', 'error kept', 'trace from options']);
  });

  test('process records carry MessageLogProcess (node, PID, name, behaviour); logging works in terminate', async () => {
    const node = await logNode();
    const c = collector();
    node.loggerAdd('c', c.logger);
    const p = await spawnTest(node, {
      name: 'logging_proc',
      hooks: { terminate: (a) => a.log.info('bye from terminate') },
    });
    await exec(node, p.pid, (a) => a.log.info('hello %s', 'there'));
    node.kill(p.pid);
    await c.inbox.next((s) => s.kind === 'log' && text(s.message) === 'bye from terminate', 'a record from terminate');
    for (const m of logsOf(c.inbox).filter((x) => x.source instanceof MessageLogProcess)) {
      const src = m.source as MessageLogProcess;
      assert.equal(src.node, node.name);
      assert.ok(src.pid.equals(p.pid));
      assert.equal(src.name, 'logging_proc');
      assert.equal(src.behavior, 'TestActor');
    }
    assert.ok(textsOf(c.inbox).includes('hello there'));
  });

  test('a name registered after the first log call shows up in later records (source stays a MessageLogProcess)', async () => {
    const cap = new Capture();
    const node = await logNode({ log: { defaultLogger: { output: cap.output, includeName: true } } });
    const c = collector();
    node.loggerAdd('c', c.logger);
    const p = await spawnTest(node);
    await exec(node, p.pid, (a) => {
      a.log.info('before the name');
      a.registerName('late_name');
      a.log.info('after the name');
    });
    const [m1, m2] = logsOf(c.inbox) as [MessageLog, MessageLog];
    assert.ok(m1.source instanceof MessageLogProcess);
    assert.equal(m1.source.name, '');
    assert.ok(m2.source instanceof MessageLogProcess, 'still a MessageLogProcess');
    assert.equal(m2.source.name, 'late_name');
    assert.ok(m2.source.pid.equals(p.pid));
    assert.match(
      cap.lines[1]!,
      new RegExp(`^\\d+ \\[info\\] ${p.pid.toString().replace(/[.<>]/g, '\\$&')} 'late_name': after the name$`),
    );
  });

  test('panic-level logging just logs (the process lives on)', async () => {
    const node = await logNode();
    const c = collector();
    node.loggerAdd('c', c.logger);
    const p = await spawnTest(node);
    await exec(node, p.pid, (a) => a.log.panic('not a real panic'));
    assert.equal(await exec(node, p.pid, () => 'alive'), 'alive');
    assert.deepEqual(textsOf(c.inbox), ['not a real panic']);
  });
});

describe('default logger', () => {
  async function withDefault(opts: Record<string, unknown>): Promise<{ node: Node; cap: Capture }> {
    const cap = new Capture();
    const node = await logNode({ log: { level: LogLevel.Trace, defaultLogger: { output: cap.output, ...opts } } });
    return { node, cap };
  }

  test('is registered as "default"; plain text "time [level] source: message" (time in Unix ns)', async () => {
    const { node, cap } = await withDefault({});
    assert.ok(node.loggers().includes('default'));
    node.log.info('node says %s', 'hi');
    const p = await spawnTest(node, { name: 'dl_proc' });
    await exec(node, p.pid, (a) => a.log.warning('proc says %d', 42));
    assert.equal(cap.lines.length, 2);
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const [l1, l2] = cap.lines as [string, string];
    const m1 = /^(\d+) \[info\] ([0-9A-F]{8}): node says hi$/.exec(l1);
    assert.ok(m1, l1);
    assert.equal(m1[2], nodeCRC(node));
    assert.ok(BigInt(m1[1]!) <= t0 && BigInt(m1[1]!) > t0 - 60_000_000_000n, 'unix nanoseconds');
    assert.equal(l2.replace(/^\d+ /, ''), `[warning] ${p.pid.toString()}: proc says 42`);
  });

  test('includeName, includeBehavior, includeFields (aligned fields line), timeFormat iso', async () => {
    const { node, cap } = await withDefault({
      includeName: true,
      includeBehavior: true,
      includeFields: true,
      timeFormat: 'iso',
    });
    const p = await spawnTest(node, { name: 'named' });
    await exec(node, p.pid, (a) => {
      a.log.addFields({ name: 'k1', value: 'v1' }, { name: 'k2', value: 42 });
      a.log.info('with fields');
    });
    const [line, fields] = cap.lines as [string, string];
    const m = /^(\S+) \[info\] (\S+) 'named' TestActor: with fields$/.exec(line);
    assert.ok(m, line);
    assert.ok(!Number.isNaN(Date.parse(m[1]!)), 'ISO time');
    assert.equal(m[2], p.pid.toString());
    assert.equal(fields, `${' '.repeat(m[1]!.length - 6)}fields k1:v1 k2:42`);
  });

  test('timeFormat as a function; filter writes only the listed levels', async () => {
    const { node, cap } = await withDefault({ timeFormat: () => 'TIME', filter: [LogLevel.Error, LogLevel.Panic] });
    node.log.info('no');
    node.log.warning('no');
    node.log.error('yes');
    node.log.panic('also');
    assert.deepEqual(cap.lines, [`TIME [error] ${nodeCRC(node)}: yes`, `TIME [panic] ${nodeCRC(node)}: also`]);
    assert.deepEqual(node.loggerLevels('default'), [LogLevel.Error, LogLevel.Panic]);
  });

  test('JSON lines (Ergo TestDefaultLoggerJSON / TestJSONEscaping)', async () => {
    const { node, cap } = await withDefault({
      enableJSON: true,
      includeName: true,
      includeBehavior: true,
      includeFields: true,
      timeFormat: 'iso',
    });
    const p = await spawnTest(node, { name: 'test_process' });
    await exec(node, p.pid, (a) => {
      a.log.addFields({ name: 'key1', value: 'value1' }, { name: 'key2', value: 42 });
      a.log.info('Test message with %s', 'arguments');
      a.log.error('Error with "quotes" and \n newlines and \t tabs');
    });
    node.log.warning('from the node');
    assert.equal(cap.lines.length, 3, 'one line per record (newlines escaped)');
    const [j1, j2, j3] = cap.lines.map((l) => JSON.parse(l) as Record<string, unknown>) as [
      Record<string, any>,
      Record<string, any>,
      Record<string, any>,
    ];
    assert.ok(!Number.isNaN(Date.parse(j1.time)));
    assert.equal(j1.level, 'info');
    assert.equal(j1.message, 'Test message with arguments');
    assert.deepEqual(j1.source, {
      type: 'process',
      pid: p.pid.toString(),
      name: 'test_process', // no quotes (issue 22; Ergo prints them)
      behavior: 'TestActor',
    });
    assert.deepEqual(j1.fields, { key1: 'value1', key2: '42' });
    assert.equal(j2.level, 'error');
    assert.equal(j2.message, 'Error with "quotes" and \n newlines and \t tabs');
    assert.deepEqual(j3.source, { type: 'node', node: nodeCRC(node) });
    assert.equal(j3.fields, undefined);
  });

  test('JSON with the default Unix-ns time writes it as a bare integer', async () => {
    const { node, cap } = await withDefault({ enableJSON: true });
    node.log.info('x');
    assert.match(
      cap.lines[0]!,
      /^\{"time":\d+,"level":"info","source":\{"type":"node","node":"[0-9A-F]{8}"\},"message":"x"\}$/,
    );
  });

  test('meta and network sources (the formatter on its own, as Ergo’s default_logger_test does)', async () => {
    const node = await logNode();
    const alias = new Alias(node.name, node.creation, [7, 8, 9]);
    const cap = new Capture();
    const plain = createDefaultLogger({ output: cap.output, timeFormat: () => 'T', includeBehavior: true });
    const json = createDefaultLogger({
      output: cap.output,
      timeFormat: () => 'T',
      includeBehavior: true,
      enableJSON: true,
    });
    const meta = new MessageLog(
      new Date(),
      LogLevel.Info,
      new MessageLogMeta(node.name, node.pid, alias, 'TCPMeta'),
      'meta %s',
      ['says'],
      [],
    );
    const net = new MessageLog(
      new Date(),
      LogLevel.Warning,
      new MessageLogNetwork(node.name, 'peer@host', 1),
      'link down',
      [],
      [],
    );
    plain.log(meta);
    plain.log(net);
    json.log(meta);
    json.log(net);
    assert.equal(cap.lines[0], `T [info] ${alias.toString()} TCPMeta: meta says`);
    assert.match(cap.lines[1]!, new RegExp(`^T \\[warning\\] ${nodeCRC(node)}-[0-9A-F]{8}: link down$`));
    assert.deepEqual(JSON.parse(cap.lines[2]!).source, { type: 'meta', meta: alias.toString(), behavior: 'TCPMeta' });
    const j = JSON.parse(cap.lines[3]!);
    assert.equal(j.source.type, 'network');
    assert.equal(j.source.node, nodeCRC(node));
    assert.match(j.source.peer, /^[0-9A-F]{8}$/);
  });

  test('disable: no default logger', async () => {
    const node = await logNode({ log: { defaultLogger: { disable: true } } });
    assert.ok(!node.loggers().includes('default'));
  });
});

describe('extra loggers', () => {
  test('function loggers: add with a level filter, list, levels, duplicate name, delete calls terminate', async () => {
    const node = await logNode();
    const all = collector();
    const errorsOnly = collector();
    node.loggerAdd('all', all.logger);
    node.loggerAdd('errors', errorsOnly.logger, LogLevel.Error, LogLevel.Panic);
    assert.deepEqual(node.loggers().sort(), ['all', 'errors']);
    assert.deepEqual(node.loggerLevels('all'), [
      LogLevel.Trace,
      LogLevel.Debug,
      LogLevel.Info,
      LogLevel.Warning,
      LogLevel.Error,
      LogLevel.Panic,
    ]);
    assert.deepEqual(node.loggerLevels('errors'), [LogLevel.Error, LogLevel.Panic]);
    throwsCode(() => node.loggerAdd('all', collector().logger), 'ERR_TAKEN');
    const info = node.info().loggers.find((l) => l.name === 'errors');
    assert.deepEqual(info?.levels, [LogLevel.Error, LogLevel.Panic]);
    node.log.info('info');
    node.log.error('error');
    assert.deepEqual(textsOf(all.inbox), ['info', 'error']);
    assert.deepEqual(textsOf(errorsOnly.inbox), ['error']);
    node.loggerDelete('errors');
    assert.equal(errorsOnly.terminated.count, 1);
    node.log.error('after delete');
    assert.deepEqual(textsOf(errorsOnly.inbox), ['error']);
    assert.deepEqual(node.loggers(), ['all']);
  });

  test('hidden loggers (".name") get nothing from the fan-out; setLogger routes a source to one logger', async () => {
    const node = await logNode();
    const visible = collector();
    const hidden = collector();
    node.loggerAdd('visible', visible.logger);
    node.loggerAdd('.hidden', hidden.logger);
    node.log.info('fan-out');
    const p = await spawnTest(node);
    await exec(node, p.pid, (a) => {
      a.log.setLogger('.hidden');
      assert.equal(a.log.logger(), '.hidden');
      a.log.info('only to hidden');
      a.log.setLogger('');
      a.log.info('fan-out again');
    });
    assert.deepEqual(textsOf(visible.inbox), ['fan-out', 'fan-out again']);
    assert.deepEqual(textsOf(hidden.inbox), ['only to hidden']);
  });

  test('a logger that deletes itself (or adds another) while logging does not make the others miss the record', async () => {
    const node = await logNode();
    const after1 = collector();
    const after2 = collector();
    node.loggerAdd('first', {
      log: () => {
        node.loggerDelete('first');
        node.loggerAdd('late', collector().logger);
      },
    });
    node.loggerAdd('second', after1.logger);
    node.loggerAdd('third', after2.logger);
    const removed = collector();
    node.loggerAdd('removed-by-second', removed.logger);
    after1.logger.log = (m) => {
      after1.inbox.push({ kind: 'log', message: m });
      if (node.loggers().includes('removed-by-second')) node.loggerDelete('removed-by-second');
    };
    node.log.info('one record');
    assert.deepEqual(textsOf(after1.inbox), ['one record']);
    assert.deepEqual(textsOf(after2.inbox), ['one record']);
    assert.deepEqual(
      textsOf(removed.inbox),
      [],
      'a logger removed during the dispatch gets nothing after its terminate',
    );
    assert.equal(removed.terminated.count, 1);
    assert.deepEqual(node.loggers().sort(), ['late', 'second', 'third']);
  });

  test('loggers given in the node options', async () => {
    const c = collector();
    const node = await logNode({ log: { loggers: [{ name: 'opt', logger: c.logger, filter: [LogLevel.Warning] }] } });
    node.log.info('no');
    node.log.warning('yes');
    assert.deepEqual(textsOf(c.inbox), ['yes']);
  });

  test('structured fields: add, push/pop scopes, delete (refused while scopes are pushed)', async () => {
    const node = await logNode();
    const c = collector();
    node.loggerAdd('c', c.logger);
    const p = await spawnTest(node);
    await exec(node, p.pid, (a) => {
      const log = a.log;
      log.addFields({ name: 'request', value: 'r1' });
      log.info('one');
      assert.equal(log.pushFields(), 1);
      log.addFields({ name: 'step', value: 2 });
      log.info('two');
      assert.deepEqual(
        log.fields().map((f) => f.name),
        ['request', 'step'],
      );
      log.deleteFields('request'); // refused (logged as an error, as in Ergo)
      assert.deepEqual(
        log.fields().map((f) => f.name),
        ['request', 'step'],
      );
      assert.equal(log.popFields(), 0);
      log.info('three');
      log.deleteFields('request');
      log.info('four');
      assert.equal(log.popFields(), 0, 'popping an empty stack is harmless');
    });
    const recs = logsOf(c.inbox);
    const byText = new Map(recs.map((m) => [text(m), m.fields.map((f) => `${f.name}=${String(f.value)}`)]));
    assert.deepEqual(byText.get('one'), ['request=r1']);
    assert.deepEqual(byText.get('two'), ['request=r1', 'step=2']);
    assert.deepEqual(byText.get('three'), ['request=r1']);
    assert.deepEqual(byText.get('four'), []);
    const refusal = recs.find((m) => m.level === LogLevel.Error);
    assert.ok(refusal, 'deleting fields inside a scope is reported');
    assert.match(text(refusal), /popFields|PopFields/);
  });

  test('pino-compatible sinks: (obj, msg) with source and fields; levels mapped (warning→warn, panic→fatal)', async () => {
    const calls: [string, Record<string, unknown>, string | undefined][] = [];
    const mk = (lvl: string) => (obj: object, msg?: string) =>
      void calls.push([lvl, obj as Record<string, unknown>, msg]);
    const pino = {
      trace: mk('trace'),
      debug: mk('debug'),
      info: mk('info'),
      warn: mk('warn'),
      error: mk('error'),
      fatal: mk('fatal'),
      level: 'trace',
      child: () => pino,
    };
    const node = await logNode({ log: { level: LogLevel.Trace } });
    node.loggerAdd('pino', pino);
    const p = await spawnTest(node);
    await exec(node, p.pid, (a) => {
      a.log.addFields({ name: 'user', value: 'u1' });
      a.log.trace('t');
      a.log.debug('d');
      a.log.info('i %d', 1);
      a.log.warning('w');
      a.log.error('e');
      a.log.panic('p');
    });
    assert.deepEqual(
      calls.map(([l, , m]) => `${l}:${m}`),
      ['trace:t', 'debug:d', 'info:i 1', 'warn:w', 'error:e', 'fatal:p'],
    );
    assert.equal(calls[2]![1].user, 'u1');
    assert.equal(String(calls[2]![1].source), p.pid.toString());
    // Also accepted in the node options.
    const calls2: string[] = [];
    const mk2 = (lvl: string) => (_o: object, msg?: string) => void calls2.push(`${lvl}:${msg}`);
    const node2 = await logNode({
      log: {
        loggers: [
          {
            name: 'pino',
            logger: {
              trace: mk2('trace'),
              debug: mk2('debug'),
              info: mk2('info'),
              warn: mk2('warn'),
              error: mk2('error'),
              fatal: mk2('fatal'),
            },
          },
        ],
      },
    });
    node2.log.warning('from options');
    assert.deepEqual(calls2, ['warn:from options']);
  });

  test('a logger that throws (or rejects) never breaks the process that logged; others still get the record', async () => {
    const node = await logNode();
    const good = collector();
    const reported: string[] = [];
    const origWrite = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      reported.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      node.loggerAdd('throws', {
        log() {
          throw new Error('logger exploded');
        },
      });
      node.loggerAdd('rejects', {
        log() {
          return Promise.reject(new Error('logger rejected')) as unknown as void;
        },
      });
      const pinoThrows = {
        trace() {},
        debug() {},
        info() {
          throw new Error('pino exploded');
        },
        warn() {},
        error() {},
        fatal() {},
      };
      node.loggerAdd('pino-throws', pinoThrows);
      node.loggerAdd('good', good.logger);
      const p = await spawnTest(node);
      const r = await exec(node, p.pid, (a) => {
        a.log.info('still fine');
        return 'returned normally';
      });
      assert.equal(r, 'returned normally');
      assert.equal(await exec(node, p.pid, () => 'alive'), 'alive');
      assert.deepEqual(textsOf(good.inbox), ['still fine']);
      node.log.info('node logging is safe too');
      // The rejection is reported once the microtask queue runs.
      await new Promise((res) => setImmediate(res));
      // Removed while stderr is captured: their failure counts are printed at removal.
      for (const name of ['throws', 'rejects', 'pino-throws']) node.loggerDelete(name);
    } finally {
      process.stderr.write = origWrite;
    }
    const all = reported.join('');
    assert.match(all, /logger "throws" failed/);
    assert.match(all, /logger "rejects" failed/);
    assert.match(all, /logger "pino-throws" failed/);
  });

  /** Runs `fn` with stderr captured; returns the reports written meanwhile. */
  async function stderrOf(fn: () => Promise<void>): Promise<string[]> {
    const reported: string[] = [];
    const origWrite = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      reported.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await fn();
    } finally {
      process.stderr.write = origWrite;
    }
    return reported;
  }

  test('a logger that always throws is reported once with its error, then once with a count when removed or at node stop', async () => {
    for (const end of ['delete', 'stop'] as const) {
      const node = await logNode();
      const reports = await stderrOf(async () => {
        node.loggerAdd('broken', {
          log() {
            throw new Error('disk full');
          },
        });
        for (let i = 0; i < 100; i++) node.log.info('record %d', i);
        if (end === 'delete') node.loggerDelete('broken');
        else await node.stop();
      });
      assert.equal(reports.length, 2, `${end}: ${reports.join('')}`);
      assert.match(
        reports[0]!,
        /logger "broken" failed \(further failures are counted until it logs successfully again\): Error: disk full/,
      );
      assert.match(reports[1]!, /logger "broken" failed 99 more time\(s\) until it was removed/);
    }
  });

  test('a logger that keeps failing gets a count line at most once a minute, with its last error', async () => {
    const node = await logNode();
    const realNow = Date.now;
    let shift = 0;
    Date.now = () => realNow() + shift; // the summary clock only: no timer is involved
    try {
      const reports = await stderrOf(async () => {
        node.loggerAdd('stuck', {
          log(m) {
            throw new Error(`cannot write ${String(m.args[0])}`);
          },
        });
        for (let i = 0; i < 5; i++) node.log.info('%d', i);
        shift = 61_000;
        node.log.info('%d', 5);
        node.log.info('%d', 6);
        node.loggerDelete('stuck');
      });
      assert.equal(reports.length, 3, reports.join(''));
      assert.match(reports[0]!, /logger "stuck" failed .*cannot write 0/);
      assert.match(reports[1]!, /logger "stuck" is still failing: 5 more failure\(s\), the last: cannot write 5/);
      assert.match(reports[2]!, /logger "stuck" failed 1 more time\(s\) until it was removed/);
    } finally {
      Date.now = realNow;
    }
  });

  test('a failing logger that recovers gets one count line; a new failure is reported in full again', async () => {
    const node = await logNode();
    let failing = true;
    const reports = await stderrOf(async () => {
      node.loggerAdd('flaky', {
        log() {
          if (failing) return Promise.reject(new Error('network down')) as unknown as void;
        },
      });
      for (let i = 0; i < 10; i++) node.log.info('lost %d', i);
      await new Promise((res) => setImmediate(res)); // rejections are seen once microtasks ran
      failing = false;
      node.log.info('delivered');
      failing = true;
      node.log.info('lost again');
      await new Promise((res) => setImmediate(res));
    });
    assert.equal(reports.length, 3, reports.join(''));
    assert.match(reports[0]!, /logger "flaky" failed .*network down/);
    assert.match(reports[1]!, /logger "flaky" failed 9 more time\(s\), then logged successfully again/);
    assert.match(reports[2]!, /logger "flaky" failed .*network down/);
  });
});

describe('process loggers', () => {
  test('records arrive through handleLog in the log queue; the logger process does not log itself', async () => {
    const node = await logNode();
    const lg = await spawnTest(node);
    node.loggerAddPID(lg.pid, 'plog', LogLevel.Info, LogLevel.Warning);
    assert.ok(node.loggers().includes('plog'));
    assert.deepEqual(node.loggerLevels('plog'), [LogLevel.Info, LogLevel.Warning]);
    throwsCode(() => node.loggerAddPID(lg.pid, 'plog2'), 'ERR_NOT_ALLOWED');
    const src = await spawnTest(node);
    await exec(node, src.pid, (a) => {
      a.log.info('to the process logger');
      a.log.error('filtered out');
    });
    const rec = (await lg.inbox.next((s) => s.kind === 'log')) as { message: MessageLog };
    assert.equal(text(rec.message), 'to the process logger');
    assert.ok((rec.message.source as MessageLogProcess).pid.equals(src.pid));
    // The logger's own logging is off while it is a logger.
    await exec(node, lg.pid, (a) => {
      assert.equal(a.log.level(), LogLevel.Disabled);
      a.log.warning('from the logger itself');
    });
    await exec(node, src.pid, (a) => a.log.warning('second'));
    await lg.inbox.next((s) => s.kind === 'log' && text(s.message) === 'second');
    assert.deepEqual(
      lg.inbox.ofKind('log').map((s) => text(s.message)),
      ['to the process logger', 'second'],
    );
    // Deleting it restores its logging; records stop.
    node.loggerDeletePID(lg.pid);
    assert.ok(!node.loggers().includes('plog'));
    await exec(node, lg.pid, (a) => assert.equal(a.log.level(), LogLevel.Info));
    await exec(node, src.pid, (a) => a.log.info('not delivered'));
    await exec(node, lg.pid, () => undefined);
    assert.equal(lg.inbox.ofKind('log').length, 2);
  });

  test('the log queue comes last: queued normal messages are handled before log records', async () => {
    const node = await logNode();
    const lg = await spawnTest(node);
    node.loggerAddPID(lg.pid, 'slow');
    const release = deferred<void>();
    const entered = deferred<void>();
    node.send(lg.pid, new Hold(release.promise, entered));
    await entered.promise;
    node.log.info('log record');
    node.send(lg.pid, 'normal message');
    const q = node.processInfo(lg.pid).mailboxQueues;
    assert.equal(q.log, 1);
    assert.equal(q.main, 1);
    release.resolve();
    await lg.inbox.next((s) => s.kind === 'log');
    assert.deepEqual(
      lg.inbox.items.map((s) => s.kind),
      ['message', 'message', 'log'],
    );
  });

  test('a process logger is removed when it terminates (a throwing handleLog is its own panic only)', async () => {
    const node = await logNode();
    const other = collector();
    const lg = await spawnTest(node, {
      hooks: {
        log() {
          throw new Error('handleLog failed');
        },
        // Ergo turns a logger's own logging back on (Info) before its Terminate runs.
        terminate: (a) => a.log.info('logger says goodbye'),
      },
    });
    await exec(node, lg.pid, (a) => a.log.level()); // its log handle exists before it becomes a logger
    node.loggerAddPID(lg.pid, 'fragile', LogLevel.Info);
    node.loggerAdd('other', other.logger, LogLevel.Info);
    const src = await spawnTest(node);
    await exec(node, src.pid, (a) => a.log.info('kills the logger'));
    await lg.inbox.terminated();
    assert.ok(!node.loggers().includes('fragile'));
    assert.ok(textsOf(other.inbox).includes('logger says goodbye'), 'its terminate can log again');
    assert.equal(await exec(node, src.pid, () => 'alive'), 'alive');
    await exec(node, src.pid, (a) => a.log.info('no logger now'));
  });

  test('loggerAddPID of an unknown process; loggerDeletePID of a non-logger', async () => {
    const node = await logNode();
    const p = await spawnTest(node);
    node.kill(p.pid);
    throwsCode(() => node.loggerAddPID(p.pid, 'ghost'), 'ERR_PROCESS_UNKNOWN');
    const q = await spawnTest(node);
    assert.throws(() => node.loggerDeletePID(q.pid as PID));
  });
});

describe('node stop', () => {
  test('loggers are terminated when the node stops; nothing is logged after', async () => {
    const c = collector();
    const node = await startNode(`logstop_${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
    node.loggerAdd('c', c.logger);
    await node.stop();
    assert.equal(c.terminated.count, 1);
    node.log.info('after stop');
    assert.deepEqual(textsOf(c.inbox), []);
  });
});

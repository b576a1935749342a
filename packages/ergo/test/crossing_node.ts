// One OS process of the crossing-dial tests (net.crossing.test.ts): it runs one node at a time,
// a fresh one per round. Commands over IPC, each answered with `{ id, ok, value }` or
// `{ id, ok: false, code, message }`:
//   { cmd: 'start', name, host, registrar: 'none' | 'embedded', handshakeTimeout? }  starts a
//        node (an `echo` process answers every call with its request); value: { name, port }
//   { cmd: 'routes', routes: [{ match, host, port }] }  static routes
//   { cmd: 'callAll', targets, timeout, hogMs? }  one call to `echo` on every target at once;
//        value: { results: one { target, ok, value | code, message } per target, lines: every
//        log line above debug level since the start }. With `hogMs`, the process's event loop is
//        held `hogMs` at a time until every call has settled, one loop turn between (a node
//        starved of CPU, as on a host where many nodes start and connect at once)
//   { cmd: 'stop' }  stops the node; value: { lines } — the log lines above debug since callAll
// A process with no command left exits when the test disconnects.

import { format } from 'node:util';
import {
  Actor,
  LogLevel,
  ProcessID,
  startNode,
  type Atom,
  type MessageLog,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import { portOf } from './route_helpers.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

const V = { name: '', release: '' };
let node: Node | null = null;
let lines: string[] = [];

type Cmd = { id: number; cmd: string } & Record<string, unknown>;

async function start(m: Cmd): Promise<unknown> {
  lines = [];
  const host = String(m.host);
  const n = await startNode(`${String(m.name)}@${host}`, {
    network: {
      cookie: 'crossing',
      acceptors: [{ host, port: 0 }],
      ...(m.registrar === 'none' ? { registrar: null } : {}),
      ...(m.handshakeTimeout === undefined ? {} : { handshakeTimeout: Number(m.handshakeTimeout) }),
    },
    log: {
      level: 'debug',
      defaultLogger: { disable: true },
      loggers: [
        {
          name: 'lines',
          logger: {
            log: (l: MessageLog) => {
              if (l.level > LogLevel.Debug) lines.push(`[${l.level}] ${format(l.format, ...l.args)}`);
            },
          },
        },
      ],
    },
  });
  node = n;
  await n.spawnRegister('echo', () => new Echo());
  return { name: n.name, port: portOf(n) };
}

async function callOne(target: string, timeout: number): Promise<Record<string, unknown>> {
  try {
    const value = await node!.call(new ProcessID('echo' as Atom, target as Atom), `to ${target}`, { timeout });
    return { target, ok: true, value };
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    return { target, ok: false, code: err.code, message: String(err.message ?? e) };
  }
}

/**
 * Holds the event loop `ms` at a time, one turn between, until `stop()` is true: the thread is
 * blocked (Atomics.wait, no CPU spent) as a process that the OS does not schedule would be.
 */
async function hog(ms: number, stop: () => boolean): Promise<void> {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!stop()) {
    Atomics.wait(cell, 0, 0, ms);
    await new Promise((r) => setImmediate(r));
  }
}

async function run(m: Cmd): Promise<unknown> {
  switch (m.cmd) {
    case 'start':
      return start(m);
    case 'routes':
      for (const r of m.routes as { match: string; host: string; port: number }[]) {
        node!
          .network()
          .addRoute(
            r.match,
            { route: { host: r.host, port: r.port, tls: false, handshakeVersion: V, protoVersion: V } },
            0,
          );
      }
      return 'ok';
    case 'callAll': {
      let settled = false;
      const all = Promise.all((m.targets as string[]).map((t) => callOne(t, Number(m.timeout))));
      if (m.hogMs !== undefined) void hog(Number(m.hogMs), () => settled);
      const results = await all;
      settled = true;
      return { results, lines: lines.splice(0) };
    }
    case 'stop': {
      const n = node!;
      node = null;
      await n.stop();
      return { lines };
    }
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

process.on('message', (m: Cmd) => {
  run(m).then(
    (value) => process.send!({ id: m.id, ok: true, value }),
    (e: unknown) => {
      const err = e as { code?: unknown; message?: unknown };
      process.send!({ id: m.id, ok: false, code: err.code, message: String(err.message ?? e) });
    },
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ kind: 'ready' });

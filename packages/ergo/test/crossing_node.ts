// One OS process of the crossing-dial tests (net.crossing.test.ts): it runs one node at a time,
// a fresh one per round. Commands over IPC, each answered with `{ id, ok, value }` or
// `{ id, ok: false, code, message }`:
//   { cmd: 'start', name, host, registrar: 'none' | 'embedded' }  starts a node (an `echo`
//        process answers every call with its request); value: { name, port }
//   { cmd: 'routes', routes: [{ match, host, port }] }  static routes
//   { cmd: 'callAll', targets, timeout }  one call to `echo` on every target at once; value:
//        { results: one { target, ok, value | code, message } per target, lines: every log line
//        above debug level since the start }
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
      const results = await Promise.all((m.targets as string[]).map((t) => callOne(t, Number(m.timeout))));
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

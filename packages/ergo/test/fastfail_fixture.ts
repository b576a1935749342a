// A node in its own OS process for calls.fastfail.test.ts: it holds the requests of callers on
// another node and ends the holder on command, so the test can check that those callers fail at
// once. Driven over IPC like dist_fixture.ts: `{ cmd, id, ...fields }` in, `{ id, ok } |
// { id, err }` out, and `{ kind: 'report', what: 'held', name, request }` when a holder got a
// request. Holders (spawned by `spawn`): request 'defer' is held for later (ReplyLater, the
// holder goes idle); 'block' keeps the holder in its handler until `end` says how it ends:
// 'normal' (returns TerminateReasonNormal) or 'panic' (throws); other requests are answered.
// `end` of a holder that is idle sends it the same word as a message. `kill` is node.kill;
// `stop` is a graceful node.stop (then the process exits); `requests` counts the requests from
// other nodes its processes hold.

import {
  Actor,
  ProcessID,
  ReplyLater,
  TerminateReasonNormal,
  startNode,
  type Atom,
  type HandlerResult,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import { engineOf } from '../src/node/internals.js';
import { portOf, routeTo } from './route_helpers.js';

type Fields = Record<string, unknown>;
const report = (what: string, fields: Fields = {}): void => void process.send!({ kind: 'report', what, ...fields });

/** How each blocked holder is told to end (by name). */
const gates = new Map<string, (how: string) => void>();

function ending(how: string): HandlerResult {
  if (how === 'normal') return TerminateReasonNormal;
  if (how === 'panic') throw new Error('holder panicked on purpose');
  return undefined;
}

class Holder extends Actor {
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    return ending(message as string);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    report('held', { name: this.name, request });
    if (request === 'defer') return ReplyLater;
    if (request === 'block') return new Promise<string>((resolve) => gates.set(this.name, resolve)).then(ending);
    return request;
  }
}

const name = process.env.FASTFAIL_FIXTURE_NAME ?? `fastfail${process.pid}@localhost`;
const node: Node = await startNode(name, {
  network: { cookie: process.env.FASTFAIL_FIXTURE_COOKIE ?? 'fixture', acceptors: [{ port: 0 }], registrar: null },
  log: { defaultLogger: { disable: true } },
});

async function run(m: Fields & { cmd: string }): Promise<unknown> {
  switch (m.cmd) {
    case 'route':
      node.network().addRoute(m.match as string, routeTo(m.port as number), 0);
      return 'ok';
    case 'spawn':
      await node.spawnRegister(m.name as string, () => new Holder());
      return 'ok';
    case 'end': {
      const gate = gates.get(m.name as string);
      gates.delete(m.name as string);
      if (gate !== undefined) gate(m.how as string);
      else node.send(new ProcessID(m.name as Atom), m.how);
      return 'ok';
    }
    case 'requests':
      // Requests from other nodes its processes hold (engine internals, for the test's waits).
      return engineOf(node).remoteRequests.size;
    case 'kill':
      node.kill(node.processPID(m.name as string));
      return 'ok';
    case 'stop':
      await node.stop();
      process.exit(0);
    // falls through (never reached)
    default:
      throw new Error(`unknown command ${m.cmd}`);
  }
}

process.on('message', (m: Fields & { cmd: string; id: number }) => {
  run(m).then(
    (ok) => process.send!({ id: m.id, ok: ok === undefined ? null : ok }),
    (e: unknown) => process.send!({ id: m.id, err: e instanceof Error ? e.message : String(e) }),
  );
});
process.send!({ kind: 'ready', name, port: portOf(node), creation: node.creation });

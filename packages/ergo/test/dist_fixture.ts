// A node in its own OS process for the distributed suites (dist.process.test.ts), driven over IPC
// like ergo-peer is over stdin: `{ cmd, id, ...fields }` in, `{ id, ok } | { id, err }` out, and
// unsolicited `{ kind: 'report', what, ... }` lines for what its processes see. Processes:
//   watcher — traps exits; links/monitors/subscribes/calls/sends on command; reports exit/down/event
//   events  — owns the event `child_events` (notify on, buffer 2); reports event_start/stop
//   echo    — answers calls with the request, 'ping' with 'pong'
// Factories: `child_worker` (enabled for remote spawn by `enable_spawn`): reports `spawned`
// with its parent, leader, args and env; 'stop' ends it normally, 'crash' with reason 'crash'.
// Application `child_app` (one member `child_app_worker`), enabled by `enable_app_start`.

import {
  Actor,
  Alias,
  Event,
  MessageEventStart,
  MessageEventStop,
  PID,
  ProcessID,
  TerminateReasonNormal,
  createApplication,
  startNode,
  type Atom,
  type HandlerResult,
  type MessageEvent,
  type Node,
  type Ref,
} from '../src/index.js';
import { portOf, routeTo } from './route_helpers.js';
import { engineOf, keyedHostsOf } from '../src/node/internals.js';

type Fields = Record<string, unknown>;
const report = (what: string, fields: Fields = {}): void => void process.send!({ kind: 'report', what, ...fields });

/** PIDs, names, aliases and events as plain JSON for IPC. */
function plain(v: unknown): unknown {
  if (v instanceof PID) return { pid: { node: v.node, id: v.id, creation: v.creation } };
  if (v instanceof ProcessID) return { name: v.name, node: v.node };
  if (v instanceof Event) return { event: v.name, node: v.node };
  if (v instanceof Alias) return { alias: String(v) };
  if (v instanceof Error) return { error: v.message };
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** The target a command names: `{pid}`, `{name, node}`, `{event, node}` or `{node}`. */
function target(t: Fields): PID | ProcessID | Event | string {
  if (t.pid !== undefined) {
    const p = t.pid as { node: string; id: number; creation: number };
    return new PID(p.node as Atom, p.id, p.creation);
  }
  if (t.name !== undefined) return new ProcessID(t.name as Atom, t.node as Atom);
  if (t.event !== undefined) return new Event(t.event as Atom, t.node as Atom);
  return t.node as string;
}

class Worker extends Actor {
  override init(...args: unknown[]): void {
    report('spawned', {
      pid: plain(this.pid),
      name: this.name,
      parent: plain(this.parent),
      leader: plain(this.leader),
      args,
      env: this.envList(),
    });
  }
  override terminate(reason: Error): void {
    report('terminated', { pid: plain(this.pid), reason: reason.message });
  }
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message === 'stop') return TerminateReasonNormal;
    if (message === 'crash') return new Error('crash');
    if (typeof message === 'object' && message !== null && 'monitor' in message) {
      this.monitor(target((message as { monitor: Fields }).monitor) as ProcessID);
    }
    return undefined;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request === 'hang') return new Promise(() => undefined);
    return request === 'ping' ? 'pong' : request;
  }
}

class Watcher extends Actor {
  override init(): void {
    this.setTrapExit(true);
  }
  override handleMessage(_from: PID, message: unknown): void {
    const name = (message as object)?.constructor?.name ?? typeof message;
    const m = message as { reason?: Error };
    report('message', { type: name, reason: m.reason?.message, target: plain(Object.values(message as object)[0]) });
  }
  override handleEvent(message: MessageEvent): void {
    report('event', { event: plain(message.event), msg: message.message });
  }
  override async handleCall(_from: PID, _ref: Ref, request: unknown): Promise<unknown> {
    const r = request as Fields & { op: string };
    const t = target(r.target as Fields);
    switch (r.op) {
      case 'link':
      case 'monitor': {
        const link = r.op === 'link';
        if (t instanceof Event)
          return plain((await (link ? this.linkEvent(t) : this.monitorEvent(t))).map((e) => e.message));
        if (typeof t === 'string') link ? this.linkNode(t) : this.monitorNode(t);
        else link ? this.link(t) : this.monitor(t);
        return 'ok';
      }
      case 'unlink':
      case 'demonitor':
        if (t instanceof Event) r.op === 'unlink' ? this.unlinkEvent(t) : this.demonitorEvent(t);
        else if (typeof t === 'string') r.op === 'unlink' ? this.unlinkNode(t) : this.demonitorNode(t);
        else r.op === 'unlink' ? this.unlink(t) : this.demonitor(t);
        return 'ok';
      case 'call':
        // Bounds against a hang only (the command's own bound is longer): a loaded host answers late.
        return this.call(t as PID, r.req, { timeout: (r.timeout as number | undefined) ?? 30_000 });
      case 'send':
        this.send(t as PID, r.msg);
        return 'ok';
      case 'send_important':
        // The refusal is the answer (a rejection left in the handler would end the watcher).
        return this.sendImportant(t as PID, r.msg).then(
          () => 'ok',
          (e: unknown) => ({ refused: (e as { code?: string }).code ?? String(e) }),
        );
      case 'remote_spawn':
        return plain(
          await this.remoteSpawnRegister(
            r.node as string,
            (r.register as string) ?? '',
            r.name as string,
            {},
            ...((r.args as unknown[]) ?? []),
          ),
        );
      default:
        throw new Error(`unknown op ${r.op}`);
    }
  }
}

class Events extends Actor {
  token: Ref | undefined;
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message instanceof MessageEventStart) report('event_start');
    else if (message instanceof MessageEventStop) report('event_stop');
    return undefined;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    const r = request as { op: string; msg?: unknown; msgs?: unknown[] };
    if (r.op === 'register') this.token = this.registerEvent('child_events', { notify: true, buffer: 2 });
    else if (r.op === 'unregister') this.unregisterEvent('child_events');
    // Several events in one turn (one batch per subscriber node between ergo-ts nodes).
    else if (r.op === 'burst') for (const m of r.msgs as unknown[]) this.sendEvent('child_events', this.token!, m);
    else this.sendEvent('child_events', this.token!, r.msg);
    return 'ok';
  }
}

const name = process.env.DIST_FIXTURE_NAME ?? `distfixture${process.pid}@localhost`;
const node: Node = await startNode(name, {
  network: {
    cookie: process.env.DIST_FIXTURE_COOKIE ?? 'fixture',
    // DIST_FIXTURE_HOST: the address to listen on (a test host's own address); default loopback.
    acceptors: [{ host: process.env.DIST_FIXTURE_HOST, port: 0 }],
    registrar: null,
  },
  log: { defaultLogger: { disable: true } },
  env: { fixture_env: 'from-child' },
  security: { exposeEnvRemoteSpawn: true },
});
await node.spawnRegister('watcher', () => new Watcher());
await node.spawnRegister('events', () => new Events());
await node.spawnRegister('echo', () => new Worker());
await node.call(new ProcessID('events' as Atom), { op: 'register' });
await node.applicationLoad(
  createApplication({
    name: 'child_app',
    group: [{ name: 'child_app_worker', factory: () => new Worker() }],
    tags: ['blue'],
    map: { worker: 'child_app_worker' },
  }),
);
const workers: PID[] = [];
const workerFactory = (): Worker => new Worker();

async function run(m: Fields & { cmd: string }): Promise<unknown> {
  const net = node.network();
  switch (m.cmd) {
    case 'route':
      net.addRoute(m.match as string, routeTo(m.port as number, {}, false, m.host as string | undefined), 0);
      return 'ok';
    case 'enable_spawn':
      net.enableSpawn('child_worker', workerFactory, ...((m.nodes as string[]) ?? []));
      return 'ok';
    case 'disable_spawn':
      net.disableSpawn('child_worker', ...((m.nodes as string[]) ?? []));
      return 'ok';
    case 'enable_app_start':
      net.enableApplicationStart('child_app', ...((m.nodes as string[]) ?? []));
      return 'ok';
    case 'app_info': {
      const i = node.applicationInfo('child_app');
      return { state: i.state, mode: i.mode, parent: i.parent, group: i.group.length };
    }
    case 'watcher':
      return node.call(new ProcessID('watcher' as Atom), m.req, { timeout: 45_000 });
    case 'call':
      // A call made by the node itself: a failure is this command's error (in the watcher it
      // would end the watcher).
      return node.call(target(m.target as Fields) as ProcessID, m.req, { timeout: (m.timeout as number) ?? 30_000 });
    case 'events':
      return node.call(new ProcessID('events' as Atom), m.req);
    case 'spawn_remote': {
      const remote = await net.getNode(m.node as string);
      return plain(
        await remote.spawnRegister(
          (m.register as string) ?? '',
          m.name as string,
          {},
          ...((m.args as unknown[]) ?? []),
        ),
      );
    }
    case 'app_start_remote': {
      const remote = await net.getNode(m.node as string);
      const mode = m.mode as string | undefined;
      if (mode === 'permanent') await remote.applicationStartPermanent(m.app as string);
      else if (mode === 'transient') await remote.applicationStartTransient(m.app as string);
      else await remote.applicationStart(m.app as string);
      return 'ok';
    }
    case 'spawn_many': {
      // `n` workers, each monitoring `monitor` (a target in another node).
      const pids: unknown[] = [];
      for (let i = 0; i < (m.n as number); i++) {
        const pid = await node.spawn(() => new Worker());
        workers.push(pid);
        if (m.monitor !== undefined) node.send(pid, { monitor: m.monitor });
        pids.push(plain(pid));
      }
      // Round-trip through every worker so each monitor request has been sent (a worker answers
      // once its remote monitor is asked: seconds behind 10k of them on a loaded machine; the
      // bound only keeps a worker that never answers from hanging the command).
      for (const pid of workers) await node.call(pid, 'ping', { timeout: 60_000 });
      return m.list === true ? pids : pids.length;
    }
    case 'whereis':
      return plain(node.processPID(m.name as string));
    case 'tables': {
      const e = engineOf(node);
      return {
        keyed: keyedHostsOf(e).reduce((n, h) => n + h.tCount, 0),
        nodeIndex: e.targets.nodeIndex(m.node as Atom) !== undefined,
        calls: e.calls.size,
        connected: net.nodes(),
      };
    }
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
    (e: unknown) =>
      process.send!({
        id: m.id,
        err: e instanceof Error ? `${(e as { code?: string }).code ?? ''} ${e.message}`.trim() : String(e),
      }),
  );
});
process.send!({ kind: 'ready', name, port: portOf(node), creation: node.creation });

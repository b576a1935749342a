// One ergo-ts node of the cluster-scale harness (cluster/harness.ts), alone in a network-namespace
// test host. Environment: SC_NAME (`sK`), SC_ADDRESS (the host's address), SC_COOKIE, SC_EXPECT
// (how many nodes the cluster has), SC_ETCD (etcd endpoints, comma-separated; absent: the
// embedded registrar, each host its own), SC_STALL (peerStallTimeout in ms; absent: the default),
// SC_LINKS (TCP links per connection between ergo-ts nodes, the acceptor's ergoPoolSize; absent: the default),
// SC_ENTITIES (a postgres:// URL: the entities runtime, scale_entities.ts, starts before the node
// reports ready — the entities phase's joiners), SC_MEMBERS (the entities runtime's members,
// comma-separated; absent: the registrar's), SC_PROFILE (a folder: the mesh phase is CPU-profiled
// into it, profiled() below, and the fan-out, profileFrom()), SC_LOG_LEVEL (the node's log level, `warning` by default). Everything it reports carries `at`: the wall clock in
// ms (`performance.timeOrigin + performance.now()`), which every process of the machine shares,
// Erlang's nodes included (os:system_time), so the driver can subtract a moment it took itself.
//
// Reports over IPC:
//   { kind: 'ready', name, at, timeline } started (registered, acceptor listening); timeline: the
//                                         process's start, imports, startNode (members.ts's StartTimeline)
//   { kind: 'seen-all', at }              (etcd) the registrar has told it of every other node
//   { kind: 'joined', node, at }          (etcd) the registrar told it of `node` for the first time
//   { kind: 'down', node, at }            a connection to `node` was lost (monitorNodes)
//   { kind: 'left', node, at }            (etcd) `node`'s key went away
//   { kind: 'leader-obs', obs, node, term, leader, at }
//                                         its Leader member became leader (`obs: 'leader'`) or
//                                         follower (`'follower'`), in `term`, `leader` the
//                                         leader's node name ('' for none)
// Commands over IPC, each answered `{ id, ok, value }` or `{ id, ok: false, code, message }`:
//   { cmd: 'mesh', nodes, inflight, timeout }  a call to `echo` on each of `nodes`, `inflight` at
//                                              a time → { calls, ms, lat: µs each, failed: code → n }
//   { cmd: 'connected' }                       how many nodes it has a connection to
//   { cmd: 'fresh', nodes, timeout }           waits until each connection to `nodes` read since
//   { cmd: 'subscribe', node }                 a subscriber of event `fanout` of `node`
//   { cmd: 'publish', count }                  registers event `fanout` and publishes `count`
//                                              events, each carrying the moment it was sent
//   { cmd: 'received', count, timeout }        once the subscriber has `count` events:
//                                              { count, lat: µs each from publish, lastAt }
//   { cmd: 'leader', voters }                  spawns a Leader member registered as `leader`,
//                                              `voters` (node names) its bootstrap members
//   { cmd: 'leader-status' }                   its member's { term, leader, isLeader }
//   { cmd: 'entities', url, members? }         starts the entities runtime on the shared store
//                                              (members: node names; absent: the registrar's)
//   { cmd: 'entity-calls', keys, inflight, timeout }
//                                              a `bump` call to each key's counter, `inflight` at
//                                              a time → EntityCallsAnswer (scale_entities.ts)
//   { cmd: 'entity-view', keys? }              its runtime's live members, shards owned, keys active;
//                                              for each of `keys` its shard's lease holder and route
//   { cmd: 'stop' }                            stops the node (which drains its entities) and exits

import {
  Actor,
  Event,
  Leader,
  MessageNodeDown,
  ProcessID,
  startNode,
  type Atom,
  type HandlerResult,
  type LeaderOptions,
  type MessageEvent,
  type PID,
  type Ref,
} from 'ergo-ts';
import type { ScaleEntities } from './scale_entities.js';
import type { StartTimeline } from './members.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const now = (): number => performance.timeOrigin + performance.now();
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`scale_node: ${k} is not set`);
  return v;
};
const address = env('SC_ADDRESS');
const name = `${env('SC_NAME')}@${address}`;
const expect = Number(env('SC_EXPECT'));
const etcd = process.env['SC_ETCD'];
const stall = process.env['SC_STALL'];
const links = process.env['SC_LINKS'];
const entitiesUrl = process.env['SC_ENTITIES'];
const entityMembers = process.env['SC_MEMBERS'];
const profileDir = process.env['SC_PROFILE'];
// What only some runs use is imported only by them: the etcd registrar (its gRPC client costs a
// few hundred ms of CPU to load), the entities runtime (with pg) and the profiler. A node on the
// embedded registrar imports what a user's node would: ergo-ts.
const etcdModule = etcd === undefined ? undefined : await import('@ergo-ts/etcd');
const startEntities = async (url: string, members: string[] | undefined): Promise<ScaleEntities> =>
  (await import('./scale_entities.js')).ScaleEntities.start(node, url, members);
/** Node's start ended here (boot_mark.ts, preloaded by the harness; absent: the process's start). */
const boot = ((globalThis as Record<symbol, unknown>)[Symbol.for('ergo-ts.bench.scale.boot')] as
  { at: number; cpu: number } | undefined) ?? { at: performance.timeOrigin, cpu: 0 };
/** The start timeline's next marks: every import the node starts with has been evaluated by now. */
const importedAt = now();
const cpuImported = cpuMs();

/**
 * Runs `f`; with SC_PROFILE set, under V8's CPU profiler, written to `<dir>/<name>.<phase>.cpuprofile`
 * (Chrome DevTools opens it): what a node spends on one phase, start-up excluded.
 */
async function profiled<T>(phase: string, f: () => Promise<T>): Promise<T> {
  if (profileDir === undefined) return f();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await f();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(profileDir, `${env('SC_NAME')}.${phase}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
const report = (m: object): void => void process.send?.(m);

/**
 * With SC_PROFILE set, starts V8's CPU profiler for `phase` and returns what stops it and writes
 * `<dir>/<name>.<phase>.cpuprofile`; else a no-op. For a phase that spans commands (the fan-out:
 * a subscriber's from its subscription until it has every event).
 */
async function profileFrom(phase: string): Promise<() => Promise<void>> {
  if (profileDir === undefined) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(profileDir, `${env('SC_NAME')}.${phase}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
let fanoutProfile: (() => Promise<void>) | undefined;

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

/** Reports each node-down (every connection the node had) and, on etcd, who the registrar knows. */
class Watcher extends Actor {
  readonly known = new Set<string>();
  allSeen = false;

  override async init(): Promise<void> {
    this.monitorNodes();
    if (etcd === undefined) return;
    const registrar = this.node.network().registrar();
    await this.monitorEvent(registrar.event());
    for (const n of await registrar.nodes()) if (n !== name) this.known.add(n);
    this.check();
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageNodeDown) report({ kind: 'down', node: message.name, at: now() });
  }

  override handleEvent(m: MessageEvent): void {
    const e = m.message;
    if (etcdModule === undefined) return;
    if (e instanceof etcdModule.EventNodeJoined && e.name !== name) {
      if (!this.known.has(e.name)) report({ kind: 'joined', node: e.name, at: now() });
      this.known.add(e.name);
    } else if (e instanceof etcdModule.EventNodeLeft) {
      this.known.delete(e.name);
      report({ kind: 'left', node: e.name, at: now() });
    }
    this.check();
  }

  check(): void {
    if (this.allSeen || this.known.size < expect - 1) return;
    this.allSeen = true;
    report({ kind: 'seen-all', at: now() });
  }
}

const node = await startNode(name, {
  network: {
    cookie: env('SC_COOKIE'),
    acceptors: [{ host: address, port: 0, ...(links === undefined ? {} : { ergoPoolSize: Number(links) }) }],
    ...(stall === undefined ? {} : { peerStallTimeout: Number(stall) }),
    ...(etcd === undefined || etcdModule === undefined
      ? {}
      : { registrar: etcdModule.createEtcdRegistrar({ cluster: 'scale', endpoints: etcd.split(',') }) }),
  },
  log: {
    defaultLogger: { output: { write: (s: string) => void process.stderr.write(s) } },
    level: (process.env['SC_LOG_LEVEL'] as 'debug' | 'info' | 'warning' | undefined) ?? 'warning',
  },
});
const startedAt = now();
const cpuStarted = cpuMs();
await node.spawnRegister('echo', () => new Echo());
await node.spawnRegister('watcher', () => new Watcher());
/** The entities runtime (the entities phase), once started. */
let entities: ScaleEntities | undefined;
if (entitiesUrl !== undefined && entitiesUrl !== '')
  entities = await startEntities(entitiesUrl, entityMembers?.split(','));

interface MeshResult {
  calls: number;
  ms: number;
  lat: number[];
  failed: Record<string, number>;
  failures: { to: string; code: string; message: string; at: number }[];
  /** Calls made again after the peer closed the connection during its handshake (see {@link mesh}). */
  retried: number;
}

/** Attempts of one mesh call whose peer closed the connection during the handshake. */
const HANDSHAKE_ATTEMPTS = 3;

/**
 * One call to `echo` on each node, `inflight` at a time. A Go Ergo peer gives each handshake step
 * 1 s and closes the connection when one is late (go_member.ts): on a starved machine the call
 * then fails with ERR_NO_CONNECTION ("peer closed the connection during the handshake"), and is
 * made again, as a caller of a Go node must, up to HANDSHAKE_ATTEMPTS times; counted in `retried`
 * and printed, never hidden.
 */
async function mesh(nodes: string[], inflight: number, timeout: number): Promise<MeshResult> {
  const lat: number[] = [];
  const failed: Record<string, number> = {};
  const failures: MeshResult['failures'] = [];
  let retried = 0;
  let next = 0;
  const t0 = now();
  const worker = async (): Promise<void> => {
    while (next < nodes.length) {
      const to = nodes[next++]!;
      const s = now();
      for (let attempt = 1; ; attempt++) {
        try {
          await node.call(new ProcessID('echo' as Atom, to as Atom), 'ping', { timeout });
          lat.push((now() - s) * 1000);
        } catch (e) {
          const code = String((e as { code?: unknown }).code ?? (e as Error).message);
          const message = (e as Error).message;
          if (code === 'ERR_NO_CONNECTION' && /during the handshake/.test(message) && attempt < HANDSHAKE_ATTEMPTS) {
            retried++;
            continue;
          }
          failed[code] = (failed[code] ?? 0) + 1;
          failures.push({ to, code, message, at: now() });
        }
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, nodes.length) }, worker));
  return { calls: nodes.length, ms: now() - t0, lat, failed, failures, retried };
}

/**
 * Resolves once every connection to `nodes` this node has when asked has read something since
 * (the peer's heartbeat probe or its answer, at least one per check interval), or is gone (declared
 * down, or replaced: a later call dials anew). After a silent cut is healed a connection's TCP
 * retransmissions can be backed off for seconds, and its stall timeout can still fire: a call
 * made before it reads again can fail with the connection, which is the cut's doing, not the
 * heal's. `stale`: the nodes still silent after `timeout` ms. Read every 100 ms: nothing tells
 * of a byte read.
 */
async function fresh(nodes: string[], timeout: number): Promise<{ stale: string[] }> {
  const net = node.network();
  const bytesIn = (n: string): number | undefined => {
    try {
      return net.node(n).info().bytesIn;
    } catch {
      return undefined; // not connected
    }
  };
  const before = new Map<string, number>();
  for (const n of nodes) {
    const b = bytesIn(n);
    if (b !== undefined) before.set(n, b);
  }
  const silent = (): string[] => [...before].filter(([n, b]) => bytesIn(n) === b).map(([n]) => n);
  const deadline = now() + timeout;
  for (let left = silent(); ; left = silent()) {
    if (left.length === 0 || now() >= deadline) return { stale: left };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the `fanout` subscriber received: lateness of each event (µs), the last one's arrival. */
const fanout = { lat: [] as number[], lastAt: 0, waiters: [] as { count: number; done: () => void }[] };

/** Subscribes to event `fanout` of the node it is given; records each event's lateness. */
class FanoutSubscriber extends Actor {
  override async init(publisher: string): Promise<void> {
    await this.monitorEvent(new Event('fanout', publisher as Atom));
  }
  override handleEvent(m: MessageEvent): void {
    const at = now();
    fanout.lat.push((at - Number(m.message)) * 1000);
    fanout.lastAt = at;
    fanout.waiters = fanout.waiters.filter((w) => (fanout.lat.length >= w.count ? (w.done(), false) : true));
  }
}

let fanoutToken: Ref | undefined;

/** Publishes `count` events, yielding to I/O every 100 so the writes go out as they are made. */
async function publish(count: number): Promise<{ startedAt: number; ms: number }> {
  fanoutToken ??= node.registerEvent('fanout');
  const startedAt = now();
  for (let i = 0; i < count; i++) {
    node.sendEvent('fanout', fanoutToken, now());
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  return { startedAt, ms: now() - startedAt };
}

/** Resolves once `count` events have arrived (rejects after `timeout` ms). */
function received(count: number, timeout: number): Promise<{ count: number; lat: number[]; lastAt: number }> {
  const answer = (): { count: number; lat: number[]; lastAt: number } => ({
    count: fanout.lat.length,
    lat: fanout.lat,
    lastAt: fanout.lastAt,
  });
  if (fanout.lat.length >= count) return Promise.resolve(answer());
  return new Promise((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`${fanout.lat.length} of ${count} events within ${timeout} ms`)),
      timeout,
    );
    fanout.waiters.push({
      count,
      done: () => {
        clearTimeout(t);
        resolve(answer());
      },
    });
  });
}

/**
 * The cut phase's election member (cut.ts): each observation goes to the driver as it happens,
 * which checks one leader per term over all of them. The options are a user's: only the cluster
 * and its members, every timing the node's default (150–300 ms elections, 50 ms heartbeats,
 * pre-vote and check-quorum on), since those are what the figures should describe.
 */
class ScaleLeader extends Leader {
  init(voters: string[]): LeaderOptions {
    return { clusterID: 'scale', bootstrap: voters.map((v) => new ProcessID('leader' as Atom, v as Atom)) };
  }
  override handleBecomeLeader(): HandlerResult {
    report({ kind: 'leader-obs', obs: 'leader', node: name, term: this.term(), leader: name, at: now() });
  }
  override handleBecomeFollower(leader: PID | undefined): HandlerResult {
    report({
      kind: 'leader-obs',
      obs: 'follower',
      node: name,
      term: this.term(),
      leader: leader?.node ?? '',
      at: now(),
    });
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request !== 'status') return undefined;
    return { term: this.term(), leader: this.clusterLeader()?.node ?? '', isLeader: this.isLeader() };
  }
}

type Cmd = {
  id: number;
  cmd: string;
  voters?: string[];
  nodes?: string[];
  node?: string;
  count?: number;
  inflight?: number;
  timeout?: number;
  url?: string;
  members?: string[];
  keys?: string[];
};

async function run(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'mesh':
      return profiled('mesh', () => mesh(c.nodes ?? [], c.inflight ?? 4, c.timeout ?? 10_000));
    case 'connected':
      return node.network().nodes().length;
    case 'fresh':
      return fresh(c.nodes ?? [], c.timeout ?? 60_000);
    case 'subscribe':
      await node.spawn(FanoutSubscriber, {}, c.node ?? '');
      fanoutProfile = await profileFrom('fanout');
      return 'subscribed';
    case 'publish': {
      if ((c.count ?? 0) === 0) return publish(0);
      const stop = await profileFrom('fanout');
      const r = await publish(c.count ?? 0);
      // The publisher's writes go on after its loop: its profile ends a while later.
      setTimeout(() => void stop(), 1000);
      return r;
    }
    case 'received': {
      const r = await received(c.count ?? 0, c.timeout ?? 60_000);
      await fanoutProfile?.();
      fanoutProfile = undefined;
      return r;
    }
    case 'leader':
      await node.spawnRegister('leader', () => new ScaleLeader(), {}, c.voters ?? []);
      return 'started';
    case 'leader-status':
      return node.call(new ProcessID('leader' as Atom, node.name), 'status');
    case 'entities':
      entities ??= await startEntities(c.url ?? '', c.members);
      return 'started';
    case 'entity-calls':
      if (entities === undefined) throw new Error('entity-calls: the entities runtime is not started');
      return entities.calls(c.keys ?? [], c.inflight ?? 8, c.timeout ?? 10_000);
    case 'entity-view':
      if (entities === undefined) throw new Error('entity-view: the entities runtime is not started');
      return entities.view(c.keys);
    case 'stop':
      await node.stop();
      process.send!({ id: c.id, ok: true, value: 'stopped' }, () => process.exit(0));
      return undefined;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

process.on('message', (c: Cmd) => {
  run(c).then(
    (value) => {
      if (c.cmd !== 'stop') report({ id: c.id, ok: true, value });
    },
    (e: unknown) => {
      const err = e as { code?: unknown; message?: unknown };
      report({ id: c.id, ok: false, code: err.code, message: String(err.message ?? e) });
    },
  );
});
process.on('disconnect', () => process.exit(0));
const readyAt = now();
const timeline: StartTimeline = {
  origin: performance.timeOrigin,
  booted: boot.at,
  imported: importedAt,
  started: startedAt,
  ready: readyAt,
  cpuBooted: boot.cpu,
  cpuImported,
  cpuStarted,
  cpuReady: cpuMs(),
};
report({ kind: 'ready', name, at: readyAt, timeline });

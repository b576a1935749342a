// The cluster-scale harness (issue 49): N nodes, each an OS process alone in a network-namespace
// test host (@ergo-ts/test-support's TestHosts, one bridge, static neighbour entries so a large
// mesh does not overflow the kernel's shared ARP table), and the same workloads for ergo-ts and
// for Erlang/OTP beside it:
//
// - join: nodes start in waves of `wave` (a wave starts once the one before is up); `upMs` is
//   from the first start until the last node is up; on etcd, `seenAllMs` until every node's
//   registrar has told it of every other node (registrar events);
// - mesh: every node calls every other node once (Erlang: net_adm:ping), `inflight` at a time,
//   each starting at its successor in a ring, all nodes at once: calls/s in total, p50/p99,
//   failures by code; then every node's count of connected nodes;
// - idle: `idleSeconds` with every pair connected and nothing sent: the whole cluster's CPU (every
//   process of every node's namespace: Erlang's epmd too), bytes and packets each node sends
//   (its switch port's counters), and each node's memory (RSS, and USS: its private pages, what
//   one more node costs on a host) and file descriptors at the end;
// - event fan-out (ergo-ts): one node publishes `events` events, every other node subscribes;
//   deliveries per second (all events × subscribers, from the first publish until the last
//   arrival) and lateness (publish to handleEvent, p50/p99), and the CPU the publisher's and the
//   subscribers' processes spent from the first publish until the last arrival (on a loaded
//   machine the rate follows what else runs; the CPU per delivery much less);
// - join of a few: `joiners` more nodes start at once into the running cluster; `upMs` until all
//   of them are up, on etcd `seenMs` until every node, old and new, has been told of every new one;
//   then each new node calls every other node once (so that the kill rounds find them connected);
// - silent cut (ergo-ts): a Leader on 5 voters, `cutFraction` of the nodes (its leader's among
//   them) cut off silently for `cutSeconds`, then healed: election times, one leader per term,
//   and every node calling every other again (cut.ts);
// - kill -9: rounds of `kills` nodes killed at once; for each round, the time from the kill until
//   each survivor has seen every victim go down (a connection lost: monitorNodes / Erlang's
//   monitor_nodes) — median and max across survivors, and how many never saw it within 60 s;
// - entities (ergo-ts, opt-in: `entities` keys): a runtime of @ergo-ts/entities on every node, one
//   PostgreSQL server in a test host of its own; K keys activated after the fan-out, their moves
//   timed when the joiners join, when as many nodes drain (stop) after the join, and after each
//   kill round (entities_phase.ts);
// - Go Ergo nodes beside (opt-in, `goNodes`, ergo-ts on the embedded registrar): that many Go
//   Ergo 3.2 nodes (the ergo-peer, go_member.ts), each alone in a host, start once the ergo-ts
//   nodes are up; they call and are called in every mesh (the joiners' included), monitor every
//   node, and count as nodes in the kill rounds (one of them dies in the first round, the others
//   see ergo-ts nodes die in the next). Not in the fan-out, the cut or entities.
//
// ergo-ts nodes discover each other through a 3-member etcd in three hosts of their own
// (`registrar: 'etcd'`) or through the embedded registrar of each host (`'embedded'`); Erlang
// nodes through each host's epmd. docs/scale.md has the figures and how to run it.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hostsAvailable, TestHosts, type Host, type HostTraffic } from '@ergo-ts/test-support';
import { postgresMissing, startPostgres, type Postgres } from '@ergo-ts/test-support';
import { meshRound, runCut, VOTERS, type CutFigures, type MeshFigures } from './cut.js';
import { EntitiesPhase, type EntitiesFigures } from './entities_phase.js';
import { SCALE_PG_CONNECTIONS } from './scale_entities.js';
import { cpuSeconds, ErgoMember, ErlangMember, memoryAndFds, type ScaleMember } from './members.js';
import { GoMember, goPeerArgs } from './go_member.js';
import { upTimeline } from './up_timeline.js';
import { peerBinary } from '@ergo-ts/test-support';

const here = dirname(fileURLToPath(import.meta.url));
const NODE_SCRIPT = join(here, 'scale_node.js');
/** `ergo-ts/register` (Node's compile cache on before the node loads), as a URL any cwd resolves. */
const REGISTER = import.meta.resolve('ergo-ts/register');
/** The start timeline's first mark (boot_mark.ts), preloaded after REGISTER. */
const BOOT_MARK = pathToFileURL(join(here, 'boot_mark.js')).href;
const COOKIE = 'scale-cookie';
const ETCD = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';
const READY_MS = 120_000;
const DOWN_MS = 60_000;
/** How long each etcd member of a run may take to answer its health check (its host's probe). */
const HEALTHY_MS = 60_000;

/** Which nodes: ergo-ts (through etcd or the embedded registrar) or Erlang/OTP. */
export type ScaleKind = 'ergo-ts' | 'erlang';

/** Options of {@link runScale}. */
export interface ScaleOptions {
  kind: ScaleKind;
  /** How many nodes (2..240). */
  nodes: number;
  /** ergo-ts only: how nodes find each other (default 'etcd'). */
  registrar?: 'etcd' | 'embedded';
  /** ergo-ts only: each node's `peerStallTimeout` in ms (default: the node's default, 15 s). */
  peerStallTimeout?: number;
  /** ergo-ts only: TCP links per connection (each acceptor's `ergoPoolSize`; default: the node's). */
  links?: number;
  /** Erlang only: the folder holding bench_cluster_node.beam. */
  beamDir?: string;
  /** Nodes started at once (default 10). */
  wave?: number;
  /** Seconds of idle measured with every pair connected (default 20). */
  idleSeconds?: number;
  /** Calls each node has in flight in the mesh (default 4). */
  inflight?: number;
  /** Each call's timeout in ms (default 10,000). */
  callTimeout?: number;
  /** ergo-ts only: events published to every other node in the fan-out phase (default 1,000; 0: none). */
  events?: number;
  /** Nodes started at once into the running cluster after the idle phase (default 10; 0: none). */
  joiners?: number;
  /** ergo-ts only: how long the silent cut lasts, in seconds (default 30; 0: no cut phase). */
  cutSeconds?: number;
  /** ergo-ts only: the share of the nodes the cut isolates, rounded up (default 0.1). */
  cutFraction?: number;
  /**
   * ergo-ts only: keys of the entities phase (default 0: no phase). Its drain stops as many nodes
   * as `joiners` (at least 2 and the Leader's voters stay).
   */
  entities?: number;
  /**
   * ergo-ts on the embedded registrar only: Go Ergo nodes (the ergo-peer) started beside the
   * ergo-ts nodes once those are up (default 0). Needs the ergo-peer (ERGO_PEER or ../shared).
   */
  goNodes?: number;
  /** Kill rounds: how many nodes each kills at once (default [1, 10]; a round that would leave fewer than 2 is skipped). */
  kills?: number[];
  /** Progress lines. */
  log?: (line: string) => void;
  /** Log where the join's time goes, wave by wave (up_timeline.ts). Default false. */
  timeline?: boolean;
  /** Stop after the join (the other figures are left empty: NaN, none). Default false. */
  upOnly?: boolean;
}

/** A median and a maximum. */
export interface Spread {
  median: number;
  max: number;
}

/** What {@link runScale} measured. */
export interface ScaleFigures {
  kind: ScaleKind;
  registrar: 'etcd' | 'embedded' | 'epmd';
  nodes: number;
  /** Go Ergo nodes beside the ergo-ts ones (absent: none); in the meshes and kill rounds. */
  goNodes?: number;
  /** ergo-ts: the peerStallTimeout the nodes ran with (undefined: the default). */
  peerStallTimeout?: number;
  /** ergo-ts: the links per connection the nodes ran with (undefined: the default). */
  links?: number;
  /** From the first start until the last node was up. */
  upMs: number;
  /** (etcd) From the first start until every node's registrar had named every other node. */
  seenAllMs?: number;
  mesh: MeshFigures;
  /** Nodes each node had a connection to after the mesh. */
  connected: { min: number; median: number };
  idle: {
    seconds: number;
    /** The whole cluster's CPU, in % of one core. */
    clusterCpuPercent: number;
    sentBytesPerSecond: Spread;
    sentPacketsPerSecond: Spread;
  };
  rssMB: Spread;
  /** Private pages per node (what one more node costs on a host). */
  ussMB: Spread;
  pssMB: Spread;
  fds: Spread;
  /** (ergo-ts) One publisher, every other node subscribed (absent: not run). */
  fanout?: {
    subscribers: number;
    events: number;
    deliveriesPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    /** CPU of the publisher's processes from its first publish until the last arrival, ms. */
    publisherCpuMs: number;
    /** CPU of every subscriber's processes over the same span, per delivery, µs. */
    subscriberCpuUsPerDelivery: number;
  };
  /** `joiners` nodes started at once into the running cluster (absent: none). */
  join?: { count: number; upMs: number; seenMs?: number; calls: number; failedBy: Record<string, number> };
  /** (ergo-ts) The silent cut: Leader elections across it, split brains, calls after the heal (absent: not run). */
  cut?: CutFigures;
  kills: { count: number; medianMs: number; maxMs: number; missed: number }[];
  /** (ergo-ts) The entities phase (absent: not run). */
  entities?: EntitiesFigures;
}

/** Why the harness cannot run here (no namespaces, no erl, no etcd), or undefined. */
export function scaleUnavailable(kinds: { erlang?: boolean; etcd?: boolean; postgres?: boolean }): string | undefined {
  const hosts = hostsAvailable();
  if (hosts !== undefined) return `test hosts: ${hosts}`;
  const pg = kinds.postgres === true ? postgresMissing() : undefined;
  if (pg !== undefined) return `the entities phase: ${pg}`;
  if (kinds.etcd === true && !existsOnPath(ETCD)) return `${ETCD} is missing (Debian's etcd-server)`;
  if (kinds.erlang === true && !existsOnPath('erl')) return "`erl` is missing (Debian's erlang-base)";
  return undefined;
}

function existsOnPath(cmd: string): boolean {
  if (cmd.includes('/')) return statOk(cmd);
  return (process.env['PATH'] ?? '').split(':').some((d) => statOk(join(d, cmd)));
}

function statOk(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const wall = (): number => performance.timeOrigin + performance.now();

function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { median: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** The ergo-ts nodes among `members` (a mixed cluster's Go nodes run no entities). */
function ergoOnly(members: readonly ScaleMember[]): ErgoMember[] {
  return members.filter((m): m is ErgoMember => m instanceof ErgoMember);
}

/** Runs the workloads on `o.nodes` nodes of `o.kind` in fresh test hosts; disposes them at the end. */
export async function runScale(o: ScaleOptions): Promise<ScaleFigures> {
  const n = o.nodes;
  if (!Number.isInteger(n) || n < 2 || n > 240) throw new RangeError(`nodes: 2..240, got ${n}`);
  const erlang = o.kind === 'erlang';
  if (erlang && o.beamDir === undefined) throw new Error('runScale: an Erlang run needs beamDir');
  const registrar = erlang ? 'epmd' : (o.registrar ?? 'etcd');
  const log = o.log ?? (() => undefined);
  const wave = o.wave ?? 10;
  const etcdHosts = registrar === 'etcd' ? ['etcd0', 'etcd1', 'etcd2'] : [];
  const joiners = o.joiners ?? 10;
  if (!Number.isInteger(joiners) || joiners < 0 || n + joiners > 250)
    throw new RangeError(`joiners: 0..${250 - n}, got ${joiners}`);
  const cutSeconds = erlang ? 0 : (o.cutSeconds ?? 30);
  const cutFraction = o.cutFraction ?? 0.1;
  if (!(cutSeconds >= 0 && cutFraction > 0 && cutFraction <= 1))
    throw new RangeError(`cutSeconds >= 0 and cutFraction in (0, 1], got ${cutSeconds}, ${cutFraction}`);
  const keys = erlang ? 0 : (o.entities ?? 0);
  if (!Number.isInteger(keys) || keys < 0) throw new RangeError(`entities: a count of keys >= 0, got ${keys}`);
  const names = Array.from({ length: n + joiners }, (_, i) => `${erlang ? 'e' : 's'}${i}`);
  const goCount = o.goNodes ?? 0;
  if (!Number.isInteger(goCount) || goCount < 0 || (goCount > 0 && (erlang || registrar !== 'embedded')))
    throw new RangeError(`goNodes: a count >= 0, with ergo-ts nodes on the embedded registrar; got ${goCount}`);
  const goPeer = goCount > 0 ? peerBinary() : undefined;
  if (goPeer !== undefined && 'missing' in goPeer) throw new Error(`goNodes: ${goPeer.missing}`);
  const goNames = Array.from({ length: goCount }, (_, i) => `g${i}`);
  const pgHosts = keys > 0 ? ['pg'] : [];
  const hosts = await TestHosts.create({
    names: [...names, ...etcdHosts, ...pgHosts, ...goNames],
    staticNeighbours: true,
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'ergo-scale-'));
  let pg: Postgres | undefined;
  try {
    const endpoints = registrar === 'etcd' ? await startEtcd(hosts, etcdHosts, dataDir) : undefined;
    if (endpoints !== undefined) log(`etcd up at ${endpoints}`);
    let entities: EntitiesPhase | undefined;
    if (keys > 0) {
      // The server in a host of its own, on the bridge, as etcd: every node's namespace reaches it.
      const h = hosts.host('pg');
      pg = await startPostgres({
        host: h.address,
        spawn: (cmd, args, opts) => h.spawn(cmd, args, opts),
        settings: { max_connections: (n + joiners) * SCALE_PG_CONNECTIONS + 20 },
      });
      log(`PostgreSQL up at ${pg.host}:${pg.port}`);
      entities = new EntitiesPhase({
        keys,
        url: pg.url,
        // The embedded registrar of each host knows only its own node: the members are configured.
        ...(endpoints === undefined
          ? { members: hosts.hosts.slice(0, n + joiners).map((h) => `${h.name}@${h.address}`) }
          : {}),
        callTimeout: o.callTimeout ?? 10_000,
        log,
      });
    }
    const start = (h: Host): ScaleMember => {
      const name = `${h.name}@${h.address}`;
      if (erlang) {
        const proc = h.spawn(
          'erl',
          ['-name', name, '-setcookie', COOKIE, '-noshell', '-pa', o.beamDir!, '-run', 'bench_cluster_node', 'start'],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        );
        return new ErlangMember(name, h, proc);
      }
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        SC_NAME: h.name,
        SC_ADDRESS: h.address,
        SC_COOKIE: COOKIE,
        SC_EXPECT: String(h.index < n ? n : n + joiners),
      };
      if (endpoints !== undefined) env['SC_ETCD'] = endpoints;
      if (o.peerStallTimeout !== undefined) env['SC_STALL'] = String(o.peerStallTimeout);
      if (o.links !== undefined) env['SC_LINKS'] = String(o.links);
      // The entities phase's joiners start their runtime before they report ready.
      if (entities !== undefined && h.index >= n) {
        env['SC_ENTITIES'] = pg!.url;
        if (endpoints === undefined)
          env['SC_MEMBERS'] = hosts.hosts
            .slice(0, n + joiners)
            .map((x) => `${x.name}@${x.address}`)
            .join(',');
      }
      delete env['NODE_TEST_CONTEXT'];
      // As the docs tell a deployment to start a node (docs/scale.md): with Node's compile cache,
      // so only the first node on the machine compiles ergo-ts (NODE_DISABLE_COMPILE_CACHE=1: off).
      const proc = h.spawn(process.execPath, ['--import', REGISTER, '--import', BOOT_MARK, NODE_SCRIPT], {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env,
      });
      return new ErgoMember(name, h, proc);
    };

    // ---- join ----
    const members: ScaleMember[] = [];
    const t0 = wall();
    for (let i = 0; i < n; i += wave) {
      const batch = hosts.hosts.slice(i, Math.min(n, i + wave)).map(start);
      members.push(...batch);
      await Promise.all(batch.map((m) => m.ready(READY_MS)));
    }
    const upMs = Math.max(...(await Promise.all(members.map((m) => m.ready(READY_MS))))) - t0;
    log(`${n} ${o.kind} nodes up in ${(upMs / 1000).toFixed(1)} s`);
    if (o.timeline === true) {
      upTimeline(members, wave, t0, log);
      // Every process of the nodes' hosts (Erlang's epmd too), alive now: the CPU the join cost.
      const pids = (await Promise.all(members.map((m) => namespacePids(m.host)))).flat();
      log(`CPU of every process in the nodes' hosts by then: ${cpuSeconds(pids).toFixed(2)} s`);
    }
    if (o.upOnly === true) return upOnlyFigures(o.kind, registrar, n, upMs);
    // Go Ergo nodes beside them, in one wave once the ergo-ts nodes are up.
    const goMembers: GoMember[] = goNames.map((g) => {
      const h = hosts.host(g);
      const name = `${g}@${h.address}`;
      const path = (goPeer as { path: string }).path;
      return new GoMember(name, h, h.spawn(path, goPeerArgs(name, h, COOKIE), { stdio: ['pipe', 'pipe', 'pipe'] }));
    });
    await Promise.all(goMembers.map((g) => g.ready(READY_MS)));
    if (goCount > 0) log(`${goCount} Go Ergo nodes up beside them`);
    let seenAllMs: number | undefined;
    if (endpoints !== undefined) {
      const seen = await Promise.all(members.map((m) => (m as ErgoMember).seenAll(READY_MS)));
      seenAllMs = Math.max(...seen) - t0;
      log(`every node saw every other through etcd after ${(seenAllMs / 1000).toFixed(1)} s`);
    }

    // ---- mesh ----
    const inflight = o.inflight ?? 4;
    const callTimeout = o.callTimeout ?? 10_000;
    const mesh = await meshRound([...members, ...goMembers], inflight, callTimeout, log);
    // Connected to all now: the Go nodes monitor every node, to see the kill rounds.
    await Promise.all(goMembers.map((g) => g.watch([...members, ...goMembers].map((m) => m.name))));
    log(
      `mesh: ${mesh.calls - mesh.failed}/${mesh.calls} calls in ${(mesh.ms / 1000).toFixed(1)} s${mesh.failed > 0 ? ` (${JSON.stringify(mesh.failedBy)})` : ''}`,
    );
    const counts = await Promise.all([...members, ...goMembers].map((m) => m.connected()));
    const connected = { min: Math.min(...counts), median: spread(counts).median };

    // ---- idle ----
    const idleSeconds = o.idleSeconds ?? 20;
    const pids = (await Promise.all(members.map((m) => namespacePids(m.host)))).flat();
    const before = { cpu: cpuSeconds(pids), traffic: await hosts.traffic(), at: wall() };
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const after = { cpu: cpuSeconds(pids), traffic: await hosts.traffic(), at: wall() };
    const secs = (after.at - before.at) / 1000;
    const perNode = (f: (t: HostTraffic) => number): number[] =>
      members.map((m) => (f(after.traffic[m.host.index]!) - f(before.traffic[m.host.index]!)) / secs);
    const idle = {
      seconds: secs,
      clusterCpuPercent: ((after.cpu - before.cpu) / secs) * 100,
      sentBytesPerSecond: spread(perNode((t) => t.sentBytes)),
      sentPacketsPerSecond: spread(perNode((t) => t.sentPackets)),
    };
    const mem = members.map((m) => memoryAndFds(m.proc.pid!));
    log(
      `idle: ${idle.clusterCpuPercent.toFixed(1)} % of a core, ${idle.sentBytesPerSecond.median.toFixed(0)} B/s per node`,
    );

    // ---- event fan-out ----
    let fanout: ScaleFigures['fanout'];
    const events = erlang ? 0 : (o.events ?? 1000);
    if (events > 0) {
      const [publisher, ...subscribers] = members as ErgoMember[];
      await publisher!.publish(0); // registers the event: a subscription to an unknown one fails
      await Promise.all(subscribers.map((s) => s.subscribe(publisher!.name)));
      // The processes' CPU over the phase: a loaded machine moves the rate, much less the CPU.
      const pubPids = await namespacePids(publisher!.host);
      const subPids = (await Promise.all(subscribers.map((s) => namespacePids(s.host)))).flat();
      const cpu0 = { pub: cpuSeconds(pubPids), sub: cpuSeconds(subPids) };
      const { startedAt } = await publisher!.publish(events);
      const got = await Promise.all(subscribers.map((s) => s.received(events, 120_000)));
      const cpu1 = { pub: cpuSeconds(pubPids), sub: cpuSeconds(subPids) };
      const wrong = got.findIndex((g) => g.count !== events);
      if (wrong >= 0) throw new Error(`${subscribers[wrong]!.name} received ${got[wrong]!.count} of ${events} events`);
      const lateness = got.flatMap((g) => g.lat).sort((a, b) => a - b);
      const lastAt = Math.max(...got.map((g) => g.lastAt));
      fanout = {
        subscribers: subscribers.length,
        events,
        deliveriesPerSecond: (events * subscribers.length) / ((lastAt - startedAt) / 1000),
        p50Ms: percentile(lateness, 0.5) / 1000,
        p99Ms: percentile(lateness, 0.99) / 1000,
        publisherCpuMs: (cpu1.pub - cpu0.pub) * 1000,
        subscriberCpuUsPerDelivery: ((cpu1.sub - cpu0.sub) * 1e6) / (events * subscribers.length),
      };
      log(
        `fan-out: ${events} events to ${subscribers.length} nodes, ${fanout.deliveriesPerSecond.toFixed(0)} deliveries/s, lateness p50 ${fanout.p50Ms.toFixed(1)} / p99 ${fanout.p99Ms.toFixed(1)} ms`,
      );
      log(
        `fan-out CPU: publisher ${fanout.publisherCpuMs.toFixed(0)} ms, subscribers ${fanout.subscriberCpuUsPerDelivery.toFixed(1)} us per delivery`,
      );
    }

    // ---- entities: activation ----
    if (entities !== undefined) await entities.activate(members as ErgoMember[]);

    // ---- a few join the running cluster ----
    let join: ScaleFigures['join'];
    if (joiners > 0) {
      const j0 = wall();
      const fresh = hosts.hosts.slice(n, n + joiners).map(start);
      // Entity calls from the nodes already there, from the joiners' start until their keys moved.
      const moving = entities?.join([...members] as ErgoMember[], fresh as ErgoMember[], j0);
      const up = Math.max(...(await Promise.all(fresh.map((m) => m.ready(READY_MS))))) - j0;
      let seenMs: number | undefined;
      if (endpoints !== undefined) {
        const told = await Promise.all([
          ...members.flatMap((m) => fresh.map((f) => (m as ErgoMember).joined(f.name, READY_MS))),
          ...fresh.map((f) => (f as ErgoMember).seenAll(READY_MS)),
        ]);
        seenMs = Math.max(...told) - j0;
      }
      members.push(...fresh);
      const all = [...members, ...goMembers].map((m) => m.name);
      const joinAnswers = await Promise.all(
        fresh.map((f) =>
          f.mesh(
            all.filter((x) => x !== f.name),
            inflight,
            callTimeout,
          ),
        ),
      );
      const joinFailed: Record<string, number> = {};
      for (const a of joinAnswers)
        for (const [code, k] of Object.entries(a.failed)) joinFailed[code] = (joinFailed[code] ?? 0) + k;
      await Promise.all(goMembers.map((g) => g.watch(fresh.map((f) => f.name))));
      join = {
        count: joiners,
        upMs: up,
        ...(seenMs === undefined ? {} : { seenMs }),
        calls: joinAnswers.reduce((s, a) => s + a.calls, 0),
        failedBy: joinFailed,
      };
      log(
        `${joiners} joined in ${(up / 1000).toFixed(1)} s${seenMs === undefined ? '' : `, seen by all in ${(seenMs / 1000).toFixed(1)} s`}`,
      );
      await moving;
    }

    // ---- entities: as many nodes as joined drain (stop), from after the Leader's voters ----
    const drainCount = Math.min(joiners, members.length - VOTERS - 2);
    if (entities !== undefined && drainCount > 0) {
      const drained = members.slice(VOTERS, VOTERS + drainCount);
      const stay = members.filter((m) => !drained.includes(m));
      await entities.drain(stay as ErgoMember[], drained as ErgoMember[]);
      members.splice(0, members.length, ...stay);
    }

    // ---- silent cut (ergo-ts) ----
    const cut =
      cutSeconds > 0
        ? await runCut({
            hosts,
            members: members as ErgoMember[],
            seconds: cutSeconds,
            fraction: cutFraction,
            etcd: endpoints !== undefined,
            inflight,
            callTimeout,
            log,
          })
        : undefined;

    // ---- kill -9 ----
    const kills: ScaleFigures['kills'] = [];
    // One Go node last, the others first: the first round kills a Go node, and in the next the
    // Go nodes left see ergo-ts nodes die (the rounds kill from the end).
    let alive: ScaleMember[] = [...goMembers.slice(0, -1), ...members, ...goMembers.slice(-1)];
    for (const k of o.kills ?? [1, 10]) {
      if (alive.length - k < 2) continue;
      const victims = alive.slice(alive.length - k);
      const survivors = alive.slice(0, alive.length - k);
      const at = wall();
      for (const v of victims) v.kill();
      // Entity calls from the survivors over the victims' keys, from the kill on.
      const recovering = entities?.recover(ergoOnly(survivors), ergoOnly(victims), at);
      const seen = await Promise.all(
        survivors.map(async (s) => {
          const times = await Promise.all(victims.map((v) => s.down(v.name, DOWN_MS, at)));
          return times.some((t) => t === undefined) ? undefined : Math.max(...(times as number[])) - at;
        }),
      );
      const got = seen.filter((t): t is number => t !== undefined);
      const sp = spread(got);
      kills.push({ count: k, medianMs: sp.median, maxMs: sp.max, missed: seen.length - got.length });
      log(
        `kill -9 of ${k}: seen by ${got.length}/${survivors.length}, median ${sp.median.toFixed(0)} ms, max ${sp.max.toFixed(0)} ms`,
      );
      await recovering;
      alive = survivors;
    }
    const entityFigures = await entities?.finish(ergoOnly(alive));

    return {
      kind: o.kind,
      registrar,
      nodes: n,
      ...(goCount > 0 ? { goNodes: goCount } : {}),
      ...(o.peerStallTimeout === undefined ? {} : { peerStallTimeout: o.peerStallTimeout }),
      ...(o.links === undefined ? {} : { links: o.links }),
      upMs,
      ...(seenAllMs === undefined ? {} : { seenAllMs }),
      mesh,
      connected,
      idle,
      rssMB: spread(mem.map((x) => x.rssMB)),
      ussMB: spread(mem.map((x) => x.ussMB)),
      pssMB: spread(mem.map((x) => x.pssMB)),
      fds: spread(mem.map((x) => x.fds)),
      ...(fanout === undefined ? {} : { fanout }),
      ...(join === undefined ? {} : { join }),
      ...(cut === undefined ? {} : { cut }),
      kills,
      ...(entityFigures === undefined ? {} : { entities: entityFigures }),
    };
  } finally {
    await pg?.stop();
    await hosts.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A run stopped after the join: `upMs` and nothing else measured. */
function upOnlyFigures(
  kind: ScaleKind,
  registrar: ScaleFigures['registrar'],
  nodes: number,
  upMs: number,
): ScaleFigures {
  const none: Spread = { median: NaN, max: NaN };
  return {
    kind,
    registrar,
    nodes,
    upMs,
    mesh: { calls: 0, failed: 0, failedBy: {}, ms: NaN, perSecond: NaN, p50Us: NaN, p99Us: NaN, retried: 0 },
    connected: { min: NaN, median: NaN },
    idle: { seconds: 0, clusterCpuPercent: NaN, sentBytesPerSecond: none, sentPacketsPerSecond: none },
    rssMB: none,
    ussMB: none,
    pssMB: none,
    fds: none,
    kills: [],
  };
}

/** Every process in `host`'s namespace (a node and, for Erlang, its epmd and port helper). */
async function namespacePids(host: Host): Promise<number[]> {
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    execFile('ip', ['netns', 'pids', host.namespace], (err, out) =>
      err === null ? resolve({ stdout: out }) : reject(err),
    );
  });
  return stdout.split(/\s+/).filter(Boolean).map(Number);
}

/** Starts a 3-member etcd, one member per host, and waits until it is healthy; resolves with its endpoints. */
async function startEtcd(hosts: TestHosts, names: string[], dataDir: string): Promise<string> {
  const ms = names.map((n) => hosts.host(n));
  const cluster = ms.map((h, i) => `m${i}=http://${h.address}:2380`).join(',');
  ms.forEach((h, i) => {
    const p = h.spawn(
      ETCD,
      [
        '--name',
        `m${i}`,
        '--data-dir',
        join(dataDir, `m${i}`),
        '--listen-client-urls',
        `http://${h.address}:2379`,
        '--advertise-client-urls',
        `http://${h.address}:2379`,
        '--listen-peer-urls',
        `http://${h.address}:2380`,
        '--initial-advertise-peer-urls',
        `http://${h.address}:2380`,
        '--initial-cluster',
        cluster,
        '--initial-cluster-state',
        'new',
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    p.on('error', () => undefined);
  });
  // Each member's own health, asked from inside its host (the root namespace has no route there).
  // The probe gives up after HEALTHY_MS and says so; the command's own hang guard (30 s unless
  // told) must not end it first: a probe still waiting on a loaded machine would be killed at
  // 30 s, half its bound, and the failure would name the command, not the member's state.
  const probe = (address: string): string =>
    `const end = Date.now() + ${HEALTHY_MS};
     (async () => { for (;;) {
       try { const r = await fetch('http://${address}:2379/health'); if ((await r.json()).health === 'true') return; } catch {}
       if (Date.now() > end) { console.error('etcd at ${address} not healthy within ${HEALTHY_MS / 1000} s'); process.exit(1); }
       await new Promise((r) => setTimeout(r, 200));
     } })();`;
  await Promise.all(
    ms.map((h) => h.exec(process.execPath, ['-e', probe(h.address)], { timeout: HEALTHY_MS + 30_000 })),
  );
  return ms.map((h) => `${h.address}:2379`).join(',');
}

// The cluster-scale harness's nodes, one OS process per test host: an ergo-ts node
// (cluster/scale_node.ts, driven over IPC) or an Erlang/OTP node (bench/erlang/
// bench_cluster_node.erl, driven by lines on stdin/stdout). Both kinds answer the same few
// questions through one interface, so every workload in harness.ts runs the same way on both.
// Every wait here is bounded; a node that exits fails what waits on it at once.

import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { within, type Host } from '@ergo-ts/test-support';
import type { EntityCallsAnswer, EntityView } from './scale_entities.js';

/** The answer to a mesh of calls: one call (or ping) to each node given. */
export interface MeshAnswer {
  calls: number;
  ms: number;
  /** µs per call that succeeded. */
  lat: number[];
  /** Failed calls by error code (Erlang: `pang`). */
  failed: Record<string, number>;
  /**
   * Calls made again after a connection attempt with a Go node gave up (a Go caller: `no route`,
   * go_member.ts; an ergo-ts caller: the Go peer closed the connection during the handshake,
   * scale_node.ts); absent for callers that retry a dial themselves.
   */
  retried?: number;
  /** ergo-ts: each failed call, to whom and why, when (wall-clock ms) it failed. */
  failures?: { to: string; code: string; message: string; at: number }[];
}

/**
 * An ergo-ts node's start, as it reports it with `ready` (scale_node.ts): wall-clock ms of the
 * process's start (`performance.timeOrigin`), the end of Node's own start (boot_mark.ts), after
 * its imports, after `startNode`, and when it reported; CPU ms (user + system) spent by each of
 * those moments.
 */
export interface StartTimeline {
  origin: number;
  booted: number;
  imported: number;
  started: number;
  ready: number;
  cpuBooted: number;
  cpuImported: number;
  cpuStarted: number;
  cpuReady: number;
}

/** One observation of an ergo-ts node's Leader member (cut.ts): what it learnt, when. */
export interface LeaderObservation {
  /** It became leader, or follower (of `leader`, or of none). */
  obs: 'leader' | 'follower';
  /** The observing node. */
  node: string;
  term: number;
  /** The leader's node name ('' for none). */
  leader: string;
  /** Wall-clock ms. */
  at: number;
}

/** What a Leader member answers `leader-status` with. */
export interface LeaderStatus {
  term: number;
  /** The leader's node name ('' for none). */
  leader: string;
  isLeader: boolean;
}

/** What the harness asks of a node, whatever its kind. */
export interface ScaleMember {
  /** Its node name (`sK@ADDR` or `eK@ADDR`). */
  readonly name: string;
  readonly host: Host;
  readonly proc: ChildProcess;
  /** Wall-clock ms it said it was ready; resolves with it (rejects if it exits first or after `ms`). */
  ready(ms: number): Promise<number>;
  /** Wall-clock ms the harness spawned it. */
  readonly spawnedAt: number;
  /** Wall-clock ms its ready report reached the harness (undefined before). */
  readonly readyReceivedAt: number | undefined;
  /** (ergo-ts) Its own start timeline (undefined for other kinds, or before it is ready). */
  readonly startTimeline: StartTimeline | undefined;
  /** Wall-clock ms at which it saw `node` go down, once it has (undefined while it has not). */
  downAt(node: string): number | undefined;
  /**
   * Resolves when it has seen `node` go down at or after `since` (wall-clock ms; default: ever), with
   * when; undefined after `ms` or if it exits. `since` keeps a kill round from taking a down seen
   * before it (a node cut off by the cut phase went down once already).
   */
  down(node: string, ms: number, since?: number): Promise<number | undefined>;
  mesh(nodes: string[], inflight: number, timeout: number): Promise<MeshAnswer>;
  /** How many nodes it has a connection to. */
  connected(): Promise<number>;
  /** Ends it at once (SIGKILL). */
  kill(): void;
  /** The last lines of its stderr (for a failure's message). */
  stderrTail(): string;
}

/** Shared bookkeeping: downs seen, waiters on them, the exit, stderr's tail. */
export abstract class Member implements ScaleMember {
  /** Every down seen of each node, in order. */
  protected readonly downs = new Map<string, number[]>();
  protected readonly downWaiters = new Map<string, { since: number; w: (at: number | undefined) => void }[]>();
  protected readyAt: number | undefined;
  /** Wall-clock ms the harness made the process (set at construction, just after the spawn). */
  readonly spawnedAt = performance.timeOrigin + performance.now();
  /** Wall-clock ms the harness got its ready report (the report's own `at` is the node's clock). */
  readyReceivedAt: number | undefined;
  /** (ergo-ts) The node's own start timeline, from its ready report (see scale_node.ts). */
  startTimeline: StartTimeline | undefined;
  protected readyWaiters: ((at: number) => void)[] = [];
  protected exited: Error | undefined;
  protected readonly exitWaiters = new Set<(e: Error) => void>();
  readonly #stderr: string[] = [];

  constructor(
    readonly name: string,
    readonly host: Host,
    readonly proc: ChildProcess,
  ) {
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr.push(d);
      if (this.#stderr.length > 30) this.#stderr.shift();
    });
    proc.once('exit', (code, signal) => {
      this.exited = new Error(`${name} exited (${signal ?? String(code)}); stderr: ${this.stderrTail()}`);
      for (const w of this.exitWaiters) w(this.exited);
      this.exitWaiters.clear();
      for (const ws of this.downWaiters.values()) for (const { w } of ws) w(undefined);
      this.downWaiters.clear();
    });
  }

  stderrTail(): string {
    return this.#stderr.join('').slice(-1500);
  }

  /** Rejects when the process exits (at once if it has). */
  protected onExit<T>(p: Promise<T>): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    let off = (): void => undefined;
    const ended = new Promise<never>((_, reject) => {
      this.exitWaiters.add(reject);
      off = () => this.exitWaiters.delete(reject);
    });
    return Promise.race([p, ended]).finally(off);
  }

  ready(ms: number): Promise<number> {
    if (this.readyAt !== undefined) return Promise.resolve(this.readyAt);
    return within(this.onExit(new Promise<number>((r) => this.readyWaiters.push(r))), `${this.name} ready`, ms);
  }

  protected gotReady(at: number): void {
    this.readyReceivedAt = performance.timeOrigin + performance.now();
    this.readyAt = at;
    for (const w of this.readyWaiters) w(at);
    this.readyWaiters = [];
  }

  protected gotDown(node: string, at: number): void {
    const seen = this.downs.get(node) ?? [];
    seen.push(at);
    this.downs.set(node, seen);
    const ws = this.downWaiters.get(node) ?? [];
    const left = ws.filter(({ since, w }) => (at >= since ? (w(at), false) : true));
    if (left.length > 0) this.downWaiters.set(node, left);
    else this.downWaiters.delete(node);
  }

  downAt(node: string): number | undefined {
    return this.downs.get(node)?.[0];
  }

  down(node: string, ms: number, since = -Infinity): Promise<number | undefined> {
    const at = this.downs.get(node)?.find((t) => t >= since);
    if (at !== undefined || this.exited !== undefined) return Promise.resolve(at);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      const ws = this.downWaiters.get(node) ?? [];
      ws.push({
        since,
        w: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      });
      this.downWaiters.set(node, ws);
    });
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }

  abstract mesh(nodes: string[], inflight: number, timeout: number): Promise<MeshAnswer>;
  abstract connected(): Promise<number>;
}

/** An ergo-ts node: scale_node.js over IPC. */
export class ErgoMember extends Member {
  #nextId = 1;
  readonly #answers = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** (etcd) when it had been told of every other node. */
  seenAllAt: number | undefined;
  readonly #seenAllWaiters: ((at: number) => void)[] = [];
  /** (etcd) When the registrar first told it of each node. */
  readonly #joined = new Map<string, number>();
  readonly #joinedWaiters = new Map<string, ((at: number) => void)[]>();
  /** (etcd) The registrar's latest word on each node: it is there (`up`) or it left, and when. */
  readonly #registered = new Map<string, { up: boolean; at: number }>();
  readonly #registeredWatchers = new Set<() => void>();
  /** Its Leader member's observations, in the order it made them. */
  readonly leaderObs: LeaderObservation[] = [];
  readonly #leaderWatchers = new Set<(o: LeaderObservation) => void>();

  constructor(name: string, host: Host, proc: ChildProcess) {
    super(name, host, proc);
    proc.on('message', (m: Record<string, unknown>) => {
      if (typeof m['id'] === 'number') {
        const a = this.#answers.get(m['id']);
        this.#answers.delete(m['id']);
        if (m['ok'] === true) a?.resolve(m['value']);
        else a?.reject(Object.assign(new Error(String(m['message'])), { code: m['code'] }));
      } else if (m['kind'] === 'ready') {
        if (typeof m['timeline'] === 'object' && m['timeline'] !== null)
          this.startTimeline = m['timeline'] as StartTimeline;
        this.gotReady(Number(m['at']));
      } else if (m['kind'] === 'down') this.gotDown(String(m['node']), Number(m['at']));
      else if (m['kind'] === 'joined') {
        const node = String(m['node']);
        const at = Number(m['at']);
        if (!this.#joined.has(node)) this.#joined.set(node, at);
        for (const w of this.#joinedWaiters.get(node)?.splice(0) ?? []) w(at);
        this.#registered.set(node, { up: true, at });
        for (const w of this.#registeredWatchers) w();
      } else if (m['kind'] === 'left') {
        this.#registered.set(String(m['node']), { up: false, at: Number(m['at']) });
      } else if (m['kind'] === 'leader-obs') {
        const o: LeaderObservation = {
          obs: m['obs'] === 'leader' ? 'leader' : 'follower',
          node: String(m['node']),
          term: Number(m['term']),
          leader: String(m['leader']),
          at: Number(m['at']),
        };
        this.leaderObs.push(o);
        for (const w of this.#leaderWatchers) w(o);
      } else if (m['kind'] === 'seen-all') {
        this.seenAllAt = Number(m['at']);
        for (const w of this.#seenAllWaiters.splice(0)) w(this.seenAllAt);
      }
    });
  }

  /** (etcd) Resolves when the registrar has told it of every other node. */
  seenAll(ms: number): Promise<number> {
    if (this.seenAllAt !== undefined) return Promise.resolve(this.seenAllAt);
    return within(
      this.onExit(new Promise<number>((r) => this.#seenAllWaiters.push(r))),
      `${this.name} seeing every node`,
      ms,
    );
  }

  /** (etcd) Resolves when the registrar has told it of `node`, with when (ms). */
  joined(node: string, ms: number): Promise<number> {
    const at = this.#joined.get(node);
    if (at !== undefined) return Promise.resolve(at);
    const list = this.#joinedWaiters.get(node) ?? [];
    this.#joinedWaiters.set(node, list);
    return within(this.onExit(new Promise<number>((r) => list.push(r))), `${this.name} told of ${node}`, ms);
  }

  /**
   * (etcd) Resolves once the registrar's latest word on each of `nodes` is that it is there (never
   * told it left, or told it joined again since), with the latest of those moments (ms); rejects
   * after `ms`. After a cut longer than the lease TTL a cut-off node's key went away, and other
   * nodes cannot dial it until it has registered again and they have been told.
   */
  registered(nodes: readonly string[], ms: number): Promise<number> {
    const check = (): number | undefined => {
      let latest = 0;
      for (const n of nodes) {
        const r = this.#registered.get(n);
        if (r === undefined) continue; // known from the start (listed, not told): never left
        if (!r.up) return undefined;
        latest = Math.max(latest, r.at);
      }
      return latest;
    };
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    let off = (): void => undefined;
    const told = new Promise<number>((resolve) => {
      const w = (): void => {
        const at = check();
        if (at !== undefined) resolve(at);
      };
      this.#registeredWatchers.add(w);
      off = () => void this.#registeredWatchers.delete(w);
    });
    return within(this.onExit(told), `${this.name} told of ${nodes.length} nodes again`, ms).finally(off);
  }

  #command(cmd: object, ms: number): Promise<unknown> {
    const id = this.#nextId++;
    const answer = new Promise<unknown>((resolve, reject) => this.#answers.set(id, { resolve, reject }));
    this.proc.send({ id, ...cmd });
    return within(this.onExit(answer), `${this.name} ${JSON.stringify(cmd).slice(0, 40)}`, ms).finally(() =>
      this.#answers.delete(id),
    );
  }

  mesh(nodes: string[], inflight: number, timeout: number): Promise<MeshAnswer> {
    return this.#command(
      { cmd: 'mesh', nodes, inflight, timeout },
      timeout * nodes.length + 30_000,
    ) as Promise<MeshAnswer>;
  }

  connected(): Promise<number> {
    return this.#command({ cmd: 'connected' }, 30_000) as Promise<number>;
  }

  /**
   * Resolves once each of its connections to `nodes` has read something since it was asked, or is
   * gone (see scale_node.ts's `fresh`); with the nodes still silent after `ms`.
   */
  fresh(nodes: readonly string[], ms: number): Promise<{ stale: string[] }> {
    return this.#command({ cmd: 'fresh', nodes, timeout: ms }, ms + 30_000) as Promise<{ stale: string[] }>;
  }

  /** Subscribes it to event `fanout` of `node` (resolves once subscribed). */
  subscribe(node: string): Promise<unknown> {
    return this.#command({ cmd: 'subscribe', node }, 60_000);
  }

  /** Spawns its Leader member (registered as `leader`) with `voters` (node names) as the members. */
  startLeader(voters: string[]): Promise<unknown> {
    return this.#command({ cmd: 'leader', voters }, 30_000);
  }

  /** Its Leader member's term and leader now. */
  leaderStatus(): Promise<LeaderStatus> {
    return this.#command({ cmd: 'leader-status' }, 30_000) as Promise<LeaderStatus>;
  }

  /** Calls `f` with each Leader observation from now on; returns what stops it. */
  watchLeader(f: (o: LeaderObservation) => void): () => void {
    this.#leaderWatchers.add(f);
    return () => this.#leaderWatchers.delete(f);
  }

  /** Publishes `count` events `fanout`; resolves with when it started (wall-clock ms). */
  publish(count: number): Promise<{ startedAt: number; ms: number }> {
    return this.#command({ cmd: 'publish', count }, 120_000) as Promise<{ startedAt: number; ms: number }>;
  }

  /** Starts its entities runtime on the store at `url`; `members`: node names (absent: the registrar's). */
  startEntities(url: string, members?: readonly string[]): Promise<unknown> {
    return this.#command({ cmd: 'entities', url, ...(members === undefined ? {} : { members }) }, 60_000);
  }

  /** A `bump` call to the counter of each of `keys`, `inflight` at a time (entities_phase.ts). */
  entityCalls(keys: readonly string[], inflight: number, timeout: number): Promise<EntityCallsAnswer> {
    return this.#command(
      { cmd: 'entity-calls', keys, inflight, timeout },
      Math.ceil(keys.length / Math.max(1, inflight)) * timeout + 30_000,
    ) as Promise<EntityCallsAnswer>;
  }

  /** Its entities runtime's view: live members, shards owned, keys active, and how it sees each of `keys`. */
  entityView(keys: readonly string[] = []): Promise<EntityView> {
    return this.#command({ cmd: 'entity-view', keys }, 30_000) as Promise<EntityView>;
  }

  /** Stops the node (its entities runtime drains first) and resolves once it said it stopped. */
  stop(ms: number): Promise<unknown> {
    return this.#command({ cmd: 'stop' }, ms);
  }

  /** Resolves once its subscriber has `count` events: their lateness (µs) and the last one's arrival. */
  received(count: number, timeout: number): Promise<{ count: number; lat: number[]; lastAt: number }> {
    return this.#command({ cmd: 'received', count, timeout }, timeout + 30_000) as Promise<{
      count: number;
      lat: number[];
      lastAt: number;
    }>;
  }
}

/** An Erlang/OTP node: bench_cluster_node over stdin/stdout lines. */
export class ErlangMember extends Member {
  readonly #pending: ((words: string[]) => void)[] = [];

  constructor(name: string, host: Host, proc: ChildProcess) {
    super(name, host, proc);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const words = line.trim().split(' ');
      const [kind] = words;
      if (kind === 'ready') this.gotReady(Number(words[2]) / 1000);
      else if (kind === 'down') this.gotDown(String(words[1]), Number(words[2]) / 1000);
      else if (kind === 'mesh' || kind === 'connected' || kind === 'error') this.#pending.shift()?.(words);
    });
  }

  #command(line: string, ms: number): Promise<string[]> {
    const answer = new Promise<string[]>((resolve) => this.#pending.push(resolve));
    this.proc.stdin!.write(line + '\n');
    return within(this.onExit(answer), `${this.name} ${line.slice(0, 40)}`, ms).then((words) => {
      if (words[0] === 'error') throw new Error(`${this.name}: ${words.join(' ')}`);
      return words;
    });
  }

  async mesh(nodes: string[], inflight: number, timeout: number): Promise<MeshAnswer> {
    const w = await this.#command(`mesh ${inflight} ${nodes.join(' ')}`, timeout * nodes.length + 30_000);
    const pang = Number(w[2]);
    return {
      calls: nodes.length,
      ms: Number(w[3]),
      lat: w[4] === undefined || w[4] === '' ? [] : w[4].split(',').map(Number),
      failed: pang > 0 ? { pang } : {},
    };
  }

  async connected(): Promise<number> {
    return Number((await this.#command('connected', 30_000))[1]);
  }
}

/** CPU seconds (user + system) every process in `pids` has used so far (what /proc still has). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // ended since it was listed
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** A process's resident memory in MB (VmRSS) and its open file descriptors. */
export function memoryAndFds(pid: number): { rssMB: number; ussMB: number; pssMB: number; fds: number } {
  // RSS counts the pages a process shares with every other process of its runtime (the node or
  // beam binary, shared libraries) in full; USS (its private pages) is what each more node costs,
  // PSS shares the shared pages out among the processes that map them.
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? NaN);
  return {
    rssMB: kb('Rss') / 1024,
    ussMB: (kb('Private_Clean') + kb('Private_Dirty')) / 1024,
    pssMB: kb('Pss') / 1024,
    fds: readdirSync(`/proc/${pid}/fd`).length,
  };
}

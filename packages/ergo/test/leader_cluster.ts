// The Jepsen-style harness of leader.jepsen.test.ts and leader_failover.ts: N members in their
// own OS processes (leader_node.ts), every ordered pair (i → j) joined through a fault-injecting
// TCP proxy on loopback (member i's static route to member j is proxy i→j), so a partition is
// "cut the proxies between the two sides". Faults: partitions, SIGSTOP/SIGCONT, kill -9 and
// restart. Each member's stdout observations are collected for the checker (checkHistory).

import { fork, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually, IpcCommands, ipcMessage, isKind } from '@ergo-ts/test-support';

const NODE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'leader_node.js');

/** One line a member printed: it became leader, learnt of a leader, or lost it. */
export interface Observation {
  obs: 'leader' | 'follower';
  node: string;
  term: number;
  /** The leader's node ('' = none known). */
  leader: string;
  t: number;
}

/**
 * A TCP proxy towards one member, for one direction of one pair. `cut()` closes every relayed
 * connection and refuses new ones until `heal()`: both ends see the connection drop at once
 * (a silent partition is what SIGSTOP gives).
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #open = new Set<Socket>();
  #cut = false;
  target = 0;
  port = 0;

  constructor(target: number) {
    this.target = target;
    this.#server = createServer((client) => this.#relay(client));
    this.#server.on('error', () => undefined);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  #relay(client: Socket): void {
    client.on('error', () => undefined);
    if (this.#cut) {
      client.destroy();
      return;
    }
    const upstream = connect(this.target, '127.0.0.1');
    upstream.on('error', () => undefined);
    const pair = [client, upstream];
    for (const s of pair) {
      this.#open.add(s);
      s.setNoDelay(true);
      s.once('close', () => {
        this.#open.delete(s);
        for (const o of pair) if (o !== s && !o.destroyed) o.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  get isCut(): boolean {
    return this.#cut;
  }

  cut(): void {
    this.#cut = true;
    // destroy(), not resetAndDestroy(): with RST closes, a Node 20 run of this file finished its
    // tests and then spun at 100 % CPU in the exit's handle cleanup (uv_run in CleanupHandles).
    for (const s of this.#open) s.destroy();
    this.#open.clear();
  }

  heal(): void {
    this.#cut = false;
  }

  close(): void {
    this.cut();
    this.#server.close();
  }
}

export interface ClusterOptions {
  size: number;
  min: number;
  max: number;
  hb: number;
  quorum?: 'membership' | 'alive';
  /** Directory of the members' fileLeaderStore; undefined = memory only (startup quiet instead). */
  storeDir?: string;
}

interface Member {
  name: string;
  proc: ChildProcess | undefined;
  port: number;
  paused: boolean;
  /** Commands to the running process (a restart makes new ones). */
  commands: IpcCommands | undefined;
}

/** The members of a Jepsen run and the proxies between them. */
export class LeaderCluster {
  readonly names: string[];
  readonly history: Observation[] = [];
  readonly #members: Member[];
  /** proxies[i][j]: member i's way to member j. */
  readonly #proxies: FaultProxy[][] = [];
  readonly #opts: ClusterOptions;

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    const tag = `${process.pid}x${Math.floor(Math.random() * 1e6)}`;
    this.names = Array.from({ length: opts.size }, (_, i) => `m${i + 1}_${tag}@localhost`);
    this.#members = this.names.map((name) => ({ name, proc: undefined, port: 0, paused: false, commands: undefined }));
  }

  async start(): Promise<void> {
    await Promise.all(this.#members.map((m) => this.#spawn(m)));
    const n = this.#members.length;
    for (let i = 0; i < n; i++) {
      this.#proxies.push([]);
      for (let j = 0; j < n; j++) {
        const p = new FaultProxy(this.#members[j]!.port);
        if (i !== j) await p.listen();
        this.#proxies[i]!.push(p);
      }
    }
    await Promise.all(this.#members.map((_, i) => this.#configure(i)));
  }

  async #spawn(m: Member): Promise<void> {
    const proc = fork(NODE_SCRIPT, [], {
      env: { ...process.env, LEADER_NODE_NAME: m.name },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    m.proc = proc;
    m.paused = false;
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      try {
        this.history.push(JSON.parse(l) as Observation);
      } catch {
        // not an observation
      }
    });
    m.commands = new IpcCommands(proc, m.name);
    const ready = await ipcMessage(
      proc,
      (msg): msg is { kind: 'ready'; port: number } =>
        isKind('ready')(msg) && typeof (msg as { port?: unknown }).port === 'number',
      `${m.name} ready`,
      30_000,
    );
    m.port = ready.port;
  }

  #command(i: number, cmd: Record<string, unknown>, ms = 10_000): Promise<unknown> {
    const m = this.#members[i]!;
    if (m.commands === undefined) return Promise.reject(new Error(`${m.name} is not running`));
    const { cmd: name, ...fields } = cmd;
    return m.commands.value(String(name), fields, ms);
  }

  async #configure(i: number): Promise<void> {
    const routes = this.names.flatMap((node, j) => (j === i ? [] : [{ node, port: this.#proxies[i]![j]!.port }]));
    await this.#command(i, { cmd: 'routes', routes });
    const o = this.#opts;
    await this.#command(i, {
      cmd: 'start',
      start: {
        members: this.names,
        min: o.min,
        max: o.max,
        hb: o.hb,
        quorum: o.quorum ?? 'membership',
        storeDir: o.storeDir,
      },
    });
  }

  /** Cuts every link between the groups (members in no group keep all their links). */
  partition(groups: number[][]): void {
    const side = new Map<number, number>();
    groups.forEach((g, k) => g.forEach((i) => side.set(i, k)));
    const n = this.names.length;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const a = side.get(i);
        const b = side.get(j);
        if (a !== undefined && b !== undefined && a !== b) this.#proxies[i]![j]!.cut();
      }
  }

  /** Cuts the link between i and j, both directions. */
  cutLink(i: number, j: number): void {
    this.#proxies[i]![j]!.cut();
    this.#proxies[j]![i]!.cut();
  }

  healAll(): void {
    for (const row of this.#proxies) for (const p of row) p.heal();
  }

  pause(i: number): void {
    const m = this.#members[i]!;
    if (m.proc !== undefined && !m.paused) {
      m.proc.kill('SIGSTOP');
      m.paused = true;
    }
  }

  resume(i: number): void {
    const m = this.#members[i]!;
    if (m.proc !== undefined && m.paused) {
      m.proc.kill('SIGCONT');
      m.paused = false;
    }
  }

  resumeAll(): void {
    for (let i = 0; i < this.#members.length; i++) this.resume(i);
  }

  /** kill -9, waiting for the exit. */
  async kill(i: number): Promise<void> {
    const m = this.#members[i]!;
    const proc = m.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
    m.paused = false;
  }

  /** A new OS process for member i (same name, new port): the proxies towards it follow. */
  async restart(i: number): Promise<void> {
    const m = this.#members[i]!;
    await this.kill(i);
    await this.#spawn(m);
    for (let k = 0; k < this.#members.length; k++) if (k !== i) this.#proxies[k]![i]!.target = m.port;
    await this.#configure(i);
  }

  status(i: number): Promise<{ term: number; leader: string; isLeader: boolean }> {
    return this.#command(i, { cmd: 'status' }, 5_000) as Promise<{ term: number; leader: string; isLeader: boolean }>;
  }

  /**
   * Liveness: resolves with the leader and term once every member (all must be running) knows
   * the same leader in the same term and that leader says it is leader. Polls; rejects after `ms`.
   */
  converged(ms: number): Promise<{ leader: string; term: number }> {
    return eventually(
      async () => {
        const all = await Promise.all(this.names.map((_, i) => this.status(i).catch(() => undefined)));
        const first = all[0];
        if (
          first !== undefined &&
          first.leader !== '' &&
          all.every((s) => s !== undefined && s.leader === first.leader && s.term === first.term) &&
          all[this.names.indexOf(first.leader)]?.isLeader === true
        )
          return { leader: first.leader, term: first.term };
        // Thrown so that the failure names the members' last answers.
        throw new Error(`statuses: ${JSON.stringify(all)}`);
      },
      'a leader known to all',
      // The round under way at the bound may take a status timeout more (as the loop before did).
      { timeoutMs: ms + 5_000, intervalMs: 20 },
    );
  }

  async stop(): Promise<void> {
    this.resumeAll();
    for (const row of this.#proxies) for (const p of row) p.close();
    await Promise.all(this.#members.map((_, i) => this.kill(i)));
  }
}

/** Terms in which more than one member claimed, or was seen, to be leader. */
export interface Violation {
  term: number;
  leaders: string[];
}

/**
 * The safety check: at most one leader per term across the whole history, counting both a
 * member's own claim ('leader') and every member's belief ('follower' of someone).
 */
export function checkHistory(history: readonly Observation[]): Violation[] {
  const byTerm = new Map<number, Set<string>>();
  for (const o of history) {
    if (o.leader === '') continue;
    let s = byTerm.get(o.term);
    if (s === undefined) byTerm.set(o.term, (s = new Set()));
    s.add(o.leader);
  }
  const out: Violation[] = [];
  for (const [term, s] of byTerm) if (s.size > 1) out.push({ term, leaders: [...s].sort() });
  return out.sort((a, b) => a.term - b.term);
}

/** A seeded xorshift generator: a failing run is replayed with its seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

// The Leader's members on the test hosts (network namespaces of @ergo-ts/test-support): one
// member (leader_node.ts) per host, listening on the host's address and a fixed port, with a
// static route to every other member, so a restarted member is reachable at the same place.
// Faults are the network's own: silent partitions (nft drops, one way or both, sockets stay
// open), random loss, delay through the hosts' relay, SIGSTOP, and kill -9 of a member's OS
// process. Each member's stdout observations are collected for the checker (checkHistory).

import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually, IpcCommands, ipcMessage, isKind, type DropFault, type TestHosts } from '@ergo-ts/test-support';
import type { Observation } from './leader_cluster.js';

const NODE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'leader_node.js');
/** Every member listens on this port of its own host's address. */
const PORT = 17_370;

/** Options of a {@link LeaderHostsCluster}: election timing and the member's features. */
export interface HostsClusterOptions {
  min: number;
  max: number;
  hb: number;
  /** Directory of the members' fileLeaderStore (one file per member; survives kill -9). */
  storeDir: string;
  preVote?: boolean;
  checkQuorum?: boolean;
}

interface Member {
  name: string;
  proc: ChildProcess | undefined;
  paused: boolean;
  /** Commands to the running process (a restart makes new ones). */
  commands: IpcCommands | undefined;
}

/** What a member says of itself. */
export interface MemberStatus {
  term: number;
  leader: string;
  isLeader: boolean;
  /** Pre-vote rounds it started (inspect's `prevotes`). */
  prevotes: number;
}

/** One member per test host; the members of a fault run and the faults in force between them. */
export class LeaderHostsCluster {
  readonly names: string[];
  readonly history: Observation[] = [];
  readonly #members: Member[];
  readonly #hosts: TestHosts;
  readonly #opts: HostsClusterOptions;
  /** Partitions and losses of the current round (background impairments are not here). */
  #faults: DropFault[] = [];

  constructor(hosts: TestHosts, opts: HostsClusterOptions) {
    this.#hosts = hosts;
    this.#opts = opts;
    this.names = hosts.hosts.map((h) => `${h.name}@${h.address}`);
    this.#members = this.names.map((name) => ({ name, proc: undefined, paused: false, commands: undefined }));
  }

  get size(): number {
    return this.names.length;
  }

  async start(): Promise<void> {
    await Promise.all(this.#members.map((_, i) => this.#spawn(i)));
    await Promise.all(this.#members.map((_, i) => this.#configure(i)));
  }

  async #spawn(i: number): Promise<void> {
    const m = this.#members[i]!;
    const host = this.#hosts.hosts[i]!;
    const proc = host.spawn(process.execPath, [NODE_SCRIPT], {
      env: { ...process.env, LEADER_NODE_NAME: m.name, LEADER_NODE_HOST: host.address, LEADER_NODE_PORT: String(PORT) },
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
    await ipcMessage(proc, isKind('ready'), `${m.name} ready`, 30_000);
  }

  #command(i: number, cmd: Record<string, unknown>, ms = 10_000): Promise<unknown> {
    const m = this.#members[i]!;
    if (m.commands === undefined) return Promise.reject(new Error(`${m.name} is not running`));
    const { cmd: name, ...fields } = cmd;
    return m.commands.value(String(name), fields, ms);
  }

  async #configure(i: number): Promise<void> {
    const routes = this.names.flatMap((node, j) =>
      j === i ? [] : [{ node, host: this.#hosts.hosts[j]!.address, port: PORT }],
    );
    await this.#command(i, { cmd: 'routes', routes });
    const o = this.#opts;
    await this.#command(i, {
      cmd: 'start',
      start: {
        members: this.names,
        min: o.min,
        max: o.max,
        hb: o.hb,
        quorum: 'membership',
        storeDir: o.storeDir,
        preVote: o.preVote,
        checkQuorum: o.checkQuorum,
      },
    });
  }

  /** Silent cuts between the groups, both ways (or only from each group to the later ones). */
  async partition(groups: number[][], oneWay = false): Promise<void> {
    for (let a = 0; a < groups.length; a++)
      for (let b = a + 1; b < groups.length; b++)
        for (const i of groups[a]!)
          for (const j of groups[b]!) this.#faults.push(await this.#hosts.partition(i, j, { oneWay }));
  }

  /** A silent cut between i and j (both ways, or i→j only). */
  async cut(i: number, j: number, oneWay = false): Promise<void> {
    this.#faults.push(await this.#hosts.partition(i, j, { oneWay }));
  }

  /** Random loss of `percent` % between i and j, both ways. */
  async loss(i: number, j: number, percent: number): Promise<void> {
    this.#faults.push(await this.#hosts.loss(i, j, percent));
  }

  /** Heals this round's partitions and losses (not the background delay and loss). */
  async heal(): Promise<void> {
    const faults = this.#faults;
    this.#faults = [];
    for (const f of faults) await f.heal();
  }

  pause(i: number): void {
    const m = this.#members[i]!;
    if (m.proc !== undefined && !m.paused) {
      m.proc.kill('SIGSTOP');
      m.paused = true;
    }
  }

  resumeAll(): void {
    for (const m of this.#members)
      if (m.proc !== undefined && m.paused) {
        m.proc.kill('SIGCONT');
        m.paused = false;
      }
  }

  /** kill -9 of the member's OS process, waiting for the exit. */
  async kill(i: number): Promise<void> {
    const m = this.#members[i]!;
    const proc = m.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
    m.paused = false;
  }

  /** A new OS process for member i, in the same host, at the same address and port. */
  async restart(i: number): Promise<void> {
    await this.kill(i);
    await this.#spawn(i);
    await this.#configure(i);
  }

  status(i: number): Promise<MemberStatus> {
    return this.#command(i, { cmd: 'status' }, 5_000) as Promise<MemberStatus>;
  }

  /**
   * Liveness: resolves once every member knows the same leader in the same term and that leader
   * says it is leader. Polls; rejects after `ms`.
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
        throw new Error(`statuses: ${JSON.stringify(all)}`);
      },
      'a leader known to all',
      { timeoutMs: ms + 5_000, intervalMs: 20 },
    );
  }

  async stop(): Promise<void> {
    this.resumeAll();
    await this.heal().catch(() => undefined);
    await Promise.all(this.#members.map((_, i) => this.kill(i)));
  }
}

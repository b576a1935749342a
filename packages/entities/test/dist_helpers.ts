// Starting entity nodes (entity_node.ts) in child OS processes for the distributed tests, with a
// registrar port of their own, and driving them over IPC.

import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { eventually, freeTcpUdpPort, IpcCommands, ipcMessage, isKind, within } from '@ergo-ts/test-support';

import {
  ENTITIES_DEFAULTS,
  PostgresStore,
  SqliteStore,
  ownerOfShard,
  shardOf,
  type EntityEvent,
  type EntityStore,
  type RetentionSettings,
} from '../src/index.js';
import { fixtureEntry } from './fixture_ipc.js';

const FIXTURE = fixtureEntry('entity_node');
const PRELOAD = fileURLToPath(new URL('./warnings_preload.js', import.meta.url));

export { freeTcpUdpPort } from '@ergo-ts/test-support';

/** Settings every node of one test shares. */
export interface ClusterSettings {
  registrar: number;
  members: string[];
  db: string;
  leaseMs: number;
  renewMs: number;
  passivateMs: number;
  /** With a `postgres://` db: the table prefix of this test's store. */
  prefix?: string;
  /** An etcd endpoint: the nodes use the etcd registrar (cluster `cluster`) instead of the embedded one. */
  etcd?: string;
  cluster?: string;
  /** With `members: ['leader']`: the nodes the Leader actor of a node starting now bootstraps with. */
  bootstrap?: string[];
  /** Wrap the store with the fixture's faults (see entity_node.ts). */
  faulty?: boolean;
  /** false: the nodes wait out a dead member's leases (takeOverFromDeadMembers off). */
  takeOver?: boolean;
  /** The runtime's leaseScope: 'key' unless told (these cases check a key's own lease; the runtime's default is 'shard'). */
  leaseScope?: 'key' | 'shard';
  /** The nodes' network.peerStallTimeout (the heartbeat declaring a paused peer down), in ms. */
  stallMs?: number;
  /** The runtime's rejoinStableMs (default: the runtime's, three leases). */
  rejoinMs?: number;
  /** Where the workflow kinds record each step run (workflow_kinds.ts). */
  effects?: string;
  /** The node's runtime role: 'client' owns nothing and routes to `members` (default 'member'). */
  role?: 'member' | 'client';
  /**
   * On SIGTERM / SIGINT: true, the node stops gracefully (`handleSignals`), then its process ends;
   * 'member', `stopMemberOnSignals` stops the runtime, the node and the store within one deadline
   * and ends the process (its report printed as a `member stop report {json}` line).
   */
  signals?: boolean | 'member';
  /** true: the node hosts the retention kinds and `WorkflowRetention` (retention_kinds.ts). */
  retention?: boolean;
  /** The runtime's workflowRetention option (the sweeper's settings on the node). */
  retentionSettings?: Partial<RetentionSettings>;
}

/** Opens the store of a test's cluster: a SQLite file, or a PostgreSQL database (`postgres://`). */
export function openStore(db: string, prefix?: string): Promise<EntityStore> {
  if (db.startsWith('postgres://')) return PostgresStore.open(db, prefix === undefined ? {} : { tablePrefix: prefix });
  return Promise.resolve(SqliteStore.open(db));
}

/** One entity node in a child process. */
/** Events received from every node of this test process so far, for an order across nodes. */
let eventsReceived = 0;

export class EntityNode {
  readonly events: EntityEvent[] = [];
  /** For each of {@link events}, its rank among the events of every node as they arrived here. */
  readonly arrivals: number[] = [];
  /** What the node wrote to stdout and stderr (its log) so far. */
  output = '';
  readonly #commands: IpcCommands;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.#commands = new IpcCommands(proc, name);
    proc.on('message', (m: { kind?: string; event?: EntityEvent }) => {
      if (m.kind === 'event') {
        this.events.push(m.event!);
        this.arrivals.push(eventsReceived++);
      }
    });
  }

  /** Settles when the node's process has exited. */
  get exited(): Promise<void> {
    return this.#commands.exited;
  }

  /** Forks the node and waits until it is ready. */
  static async start(name: string, s: ClusterSettings): Promise<EntityNode> {
    const proc = fork(FIXTURE, [], {
      execArgv: [...process.execArgv, '--import', PRELOAD],
      env: {
        ...process.env,
        ENT_NAME: name,
        ENT_REGISTRAR: String(s.registrar),
        ENT_MEMBERS: s.members.join(','),
        ENT_DB: s.db,
        ENT_LEASE_MS: String(s.leaseMs),
        ENT_RENEW_MS: String(s.renewMs),
        ENT_PASSIVATE_MS: String(s.passivateMs),
        ENT_PREFIX: s.prefix ?? '',
        ENT_ETCD: s.etcd ?? '',
        ENT_CLUSTER: s.cluster ?? '',
        ENT_FAULTY: s.faulty === true ? '1' : '',
        ENT_BOOTSTRAP: (s.bootstrap ?? []).join(','),
        ENT_TAKEOVER: s.takeOver === false ? '0' : '',
        ENT_LEASE_SCOPE: s.leaseScope ?? 'key',
        ENT_STALL_MS: s.stallMs === undefined ? '' : String(s.stallMs),
        ENT_REJOIN_MS: s.rejoinMs === undefined ? '' : String(s.rejoinMs),
        WF_EFFECTS: s.effects ?? '',
        ENT_ROLE: s.role ?? '',
        ENT_SIGNALS: s.signals === true ? '1' : s.signals === 'member' ? 'member' : '',
        ENT_RETENTION: s.retention === true ? '1' : '',
        ENT_RETENTION_SETTINGS: s.retentionSettings === undefined ? '' : JSON.stringify(s.retentionSettings),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // Kept for the tests that read the node's log, and passed on.
    proc.stdout!.on('data', (d: Buffer) => {
      n.output += d.toString();
      process.stdout.write(d);
    });
    proc.stderr!.on('data', (d: Buffer) => {
      n.output += d.toString();
      process.stderr.write(d);
    });
    const n = new EntityNode(name, proc);
    try {
      // A node starts in about a second; on a machine loaded by other work (load average 20-34
      // seen) more than the default 20 s, so the bound is generous.
      await ipcMessage(proc, isKind('ready'), `${name} ready`, 90_000);
    } catch (e) {
      // Not ready in time (a loaded machine): no test holds it, so it must not outlive the test
      // (its IPC channel would keep the test file's process from ever ending).
      await n.kill();
      throw e;
    }
    return n;
  }

  /** Runs a command in the node; rejects with the node's error (its `code` kept), or after `ms` without an answer. */
  cmd(cmd: string, fields: Record<string, unknown> = {}, ms?: number): Promise<unknown> {
    return this.#commands.value(cmd, fields, ms);
  }

  /** Waits for an event of this node (from index `from` on) matching `pred`. */
  event(pred: (e: EntityEvent) => boolean, what: string, from = 0): Promise<EntityEvent> {
    return eventually(() => this.events.slice(from).find(pred), `${this.name}: ${what}`, { timeoutMs: 20_000 });
  }

  /** kill -9, then waits for the exit. */
  async kill(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
  }

  /** A graceful stop (or a kill if the node does not answer). */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      await this.cmd('stop');
      await within(this.exited, `${this.name} exit`, 10_000);
    } catch {
      await this.kill();
    }
  }
}

/** Waits until every node of `live` lists exactly the nodes of `live` as members. */
export async function seeMembers(live: EntityNode[]): Promise<void> {
  const want = live.map((n) => n.name).sort();
  for (const n of live)
    await eventually(
      async () => JSON.stringify(await n.cmd('members')) === JSON.stringify(want),
      `${n.name} sees ${want.join(', ')}`,
    );
}

/** The member owning `key` among `names` (the default shard count). */
export function ownerAmong(key: string, names: string[]): string {
  return ownerOfShard(shardOf(key, ENTITIES_DEFAULTS.shards), names)!;
}

/**
 * Keys for a cluster of three where the third joins later: `moving`, four keys the third will
 * own; `staying`, two keys of each of the first two that stay where they are when it joins.
 */
export function joinKeys(names: string[]): { moving: string[]; staying: string[] } {
  const two = names.slice(0, 2);
  const moving = Array.from({ length: 200 }, (_, i) => `k${i}`)
    .filter((k) => ownerAmong(k, names) === names[2])
    .slice(0, 4);
  const stays = Array.from({ length: 400 }, (_, i) => `s${i}`).filter(
    (k) => ownerAmong(k, names) === ownerAmong(k, two),
  );
  const staying = [
    ...stays.filter((k) => ownerAmong(k, two) === two[0]).slice(0, 2),
    ...stays.filter((k) => ownerAmong(k, two) === two[1]).slice(0, 2),
  ];
  return { moving, staying };
}

/** Starts the first two nodes of `names` (stopped after the test) and waits until both see both. */
export async function startTwo(
  t: { after(fn: () => Promise<void>): void },
  names: string[],
  settings: ClusterSettings,
): Promise<EntityNode[]> {
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
  });
  nodes.push(await EntityNode.start(names[0]!, settings), await EntityNode.start(names[1]!, settings));
  await seeMembers(nodes);
  return nodes;
}

/**
 * Starts the two members `<stem>a<pid>@localhost` and `<stem>b<pid>@localhost` with a registrar
 * of their own (leases of 1.5 s renewed every 300 ms, no passivation, unless `base` says), waits
 * until both see both, and opens their store. After the test each member gets SIGCONT (a test may
 * leave one stopped) and stops, and the store closes.
 */
export async function twoMembers(
  t: { after(fn: () => Promise<void> | void): void },
  stem: string,
  base: Omit<ClusterSettings, 'registrar' | 'members' | 'leaseMs' | 'renewMs' | 'passivateMs'> &
    Partial<Pick<ClusterSettings, 'leaseMs' | 'renewMs' | 'passivateMs'>>,
): Promise<{ nodes: EntityNode[]; names: string[]; settings: ClusterSettings; store: EntityStore }> {
  const names = ['a', 'b'].map((n) => `${stem}${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    leaseMs: 1500,
    renewMs: 300,
    passivateMs: 0,
    ...base,
  };
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) {
      n.proc.kill('SIGCONT');
      await n.stop();
    }
  });
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  await seeMembers(nodes);
  const store = await openStore(settings.db, settings.prefix);
  t.after(() => store.close());
  return { nodes, names, settings, store };
}

/** Whether OS process `pid` is stopped (SIGSTOP): its state in /proc, else ps. */
export function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  } catch {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .startsWith('T');
  }
}

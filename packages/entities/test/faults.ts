// The entities safety checker: randomised rounds of kill -9 + restart, SIGSTOP + SIGCONT, silent
// isolation of a node, silent partitions between two nodes and whole-cluster kill -9 + restart,
// across network-namespace test hosts — three entity nodes, each in a host of its own, and the
// store: a PostgreSQL server in a fourth host (reached over the test network, so a node cut off
// from the others is cut off from the store too), or one SQLite file every node shares (the file
// system is not isolated). During each fault, durable messages with unique ids go through random
// nodes to keys of three kinds (faults_kinds.ts: a state-mode ledger and an event-sourced ledger,
// some messages scheduling a reminder, and a durable state machine's orders), each re-sent with the
// same id until acknowledged (or given up). Every node logs every runtime event — each accepted
// write as (key, fencing token, state version) — to a file. The checker then fails on:
//   - two accepted writes of one key at one version (two writers accepted at once);
//   - a write accepted at a higher version with a lower token than an earlier one (an older
//     activation writing after a newer took over: overlapping tokens);
//   - an activation that loaded an older version than a write accepted under a lower token
//     (a state version going backwards);
//   - an acknowledged message missing from the final stored state and inbox (lost), or applied
//     twice (an event-sourced key: its id's event stored twice in the journal);
//   - a reminder of an acknowledged message that never fired, fired before its due time, was due
//     before the message was first sent plus its delay, or had one fire applied twice;
//   - an order (the durable state machine) whose history is not a path of its transitions, that is
//     in a state other than its history's last, that was cancelled before its payment window
//     ended or still waits in 'new' long after it, or that lost or doubled an acknowledged message.
// Used by entities.faults.test.ts (a few rounds in CI) and scripts/entities-faults.mjs (≥ 200).

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { TestHosts, eventually, startPostgres, within, type Host } from '@ergo-ts/test-support';

import { ENTITIES_DEFAULTS, ownerOfShard, shardOf, type EntityEvent } from '../src/index.js';
import type { FireRecord } from './faults_kinds.js';
import { fixtureEntry } from './fixture_ipc.js';
import type { LedgerDump } from './faults_node.js';
import { checkOrders, checkReminders, type OrderOutcome, type RemindedMessage } from './faults_workflows.js';

/** The port every fault node listens on (each host has its own network). */
export const PORT = 15_000;
const FIXTURE = fixtureEntry('faults_node');
const PRELOAD = fileURLToPath(new URL('./warnings_preload.js', import.meta.url));

/** One line of a node's log: a runtime event, and which node incarnation wrote it. */
export interface LoggedEvent extends EntityEvent {
  /** `<node name>#<incarnation>`, from the log file's name. */
  readonly source: string;
}

/** What the checker found. */
export interface CheckResult {
  violations: string[];
  writes: number;
  activations: number;
}

/** Final stored state of each key: ids applied, version, ids still in the inbox. */
export type Dump = Record<string, { ids: string[]; version: number; inbox: string[] }>;

/**
 * Checks the logged events and the final state against the safety rules above. Pure: the test
 * feeds it logs with planted violations to show that it fails on each.
 */
export function check(events: readonly LoggedEvent[], acked: ReadonlySet<string>, dump: Dump): CheckResult {
  const violations: string[] = [];
  const byKey = new Map<string, LoggedEvent[]>();
  for (const e of events) {
    if (e.event !== 'written' && e.event !== 'activated') continue;
    const k = e.kind === 'ledger' ? e.key : `${e.kind}/${e.key}`;
    let l = byKey.get(k);
    if (l === undefined) byKey.set(k, (l = []));
    l.push(e);
  }
  let writes = 0;
  let activations = 0;
  for (const [key, list] of byKey) {
    const ws = list.filter((e) => e.event === 'written').sort((a, b) => a.version - b.version);
    const acts = list.filter((e) => e.event === 'activated');
    writes += ws.length;
    activations += acts.length;
    // An event-sourced write that appends no event (a processed id alone, a snapshot) keeps the
    // version, so two writes at one version are fine there: its journal is checked instead.
    const journal = list[0]!.kind === 'esledger';
    for (let i = 1; i < ws.length; i++) {
      const a = ws[i - 1]!;
      const b = ws[i]!;
      if (a.version === b.version && journal) continue;
      if (a.version === b.version)
        violations.push(
          `${key}: two accepted writes at version ${b.version} (token ${a.token} on ${a.source}, token ${b.token} on ${b.source})`,
        );
      else if (b.token < a.token)
        violations.push(
          `${key}: version ${b.version} accepted with token ${b.token} after version ${a.version} with token ${a.token} (overlapping tokens)`,
        );
    }
    for (const act of acts)
      for (const w of ws)
        if (w.token < act.token && w.version > act.version)
          violations.push(
            `${key}: activation with token ${act.token} loaded version ${act.version}, but version ${w.version} was accepted under token ${w.token} (state went backwards)`,
          );
    const final = dump[key.startsWith('esledger/') ? key.slice('esledger/'.length) : key];
    const maxVersion = ws.length === 0 ? 0 : ws[ws.length - 1]!.version;
    if (final !== undefined && final.version < maxVersion)
      violations.push(`${key}: stored version ${final.version} is below accepted version ${maxVersion}`);
  }
  const seen = new Map<string, number>();
  for (const d of Object.values(dump)) for (const id of d.ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  const pending = new Set(Object.values(dump).flatMap((d) => d.inbox));
  for (const id of acked) if (!seen.has(id) && !pending.has(id)) violations.push(`acknowledged message ${id} was lost`);
  for (const [id, n] of seen) if (n > 1) violations.push(`message ${id} was applied ${n} times`);
  return { violations, writes, activations };
}

/** Options of {@link runFaults}. */
export interface FaultOptions {
  rounds: number;
  /** Random seed (reported, so a failing run can be repeated). */
  seed?: number;
  /** Keys the load goes to. Default 6. */
  keys?: number;
  /** Durable messages per round to the ledgers (half to each kind). Default 12. */
  messagesPerRound?: number;
  /** Orders (the durable state machine) placed per round. Default 2. */
  ordersPerRound?: number;
  /** The store the nodes share: a PostgreSQL server in a host of its own, or one SQLite file. Default 'postgres'. */
  store?: 'postgres' | 'sqlite';
  /** How long a SIGSTOP lasts before its SIGCONT, in ms. Default 3000 (twice the nodes' heartbeat). */
  pauseMs?: number;
  /** Start no round after this time (epoch ms): the run checks what it did (`rounds` says how many). */
  until?: number;
  leaseMs?: number;
  renewMs?: number;
  /** Progress lines (the long script prints them). */
  progress?: (line: string) => void;
  /**
   * A hang guard for the long run: when a round has run this long (ms), print what the harness
   * waits for, what each node waits for (its store operations in flight, members, connections)
   * and the database's sessions and locks; again every further `watchdogMs`. Default: none.
   */
  watchdogMs?: number;
}

/** What the harness waits for now: label → since (for the watchdog). */
export class Waits {
  readonly #now = new Map<number, { what: string; since: number }>();
  #n = 0;
  track<T>(what: string, p: Promise<T>): Promise<T> {
    const n = ++this.#n;
    this.#now.set(n, { what, since: Date.now() });
    const done = (): void => void this.#now.delete(n);
    p.then(done, done);
    return p;
  }
  list(): string[] {
    const now = Date.now();
    return [...this.#now.values()].map((w) => `${w.what} (${now - w.since} ms)`);
  }
}

/** What a run reports. */
export interface FaultReport extends CheckResult {
  seed: number;
  rounds: number;
  store: 'postgres' | 'sqlite';
  faults: Record<string, number>;
  /** Acknowledged ledger messages. */
  acked: number;
  givenUp: number;
  /** Acknowledged messages per kind (the flow's: place, pay and ship messages). */
  ackedPerKind: Record<string, number>;
  /** Acknowledged ledger messages that scheduled a reminder, and the fires handled for them. */
  reminders: { scheduled: number; fires: number; latenessMs: { max: number; p50: number; p99: number } };
  /** Orders placed, and how many ended in each state. */
  orders: { placed: number; finished: Record<string, number> };
  /** Messages and fires still in a ledger's inbox at the end (accepted, not handled). */
  pendingAtEnd: number;
  /** Keys active on a node when it was killed that were activated again elsewhere afterwards. */
  reactivationsAfterKill: number;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same run of faults. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One entity node (faults_node.ts) in a test host, driven over IPC; restarted as a new incarnation. */
export class FaultNode {
  proc: ChildProcess | undefined;
  incarnation = 0;
  #next = 1;
  #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  exited: Promise<void> = Promise.resolve();
  /** This node's own additions to its environment, read at each start (a rolling deploy's version). */
  overrides: Record<string, string> = {};

  constructor(
    readonly host: Host,
    readonly name: string,
    readonly env: Record<string, string>,
    readonly logDir: string,
    readonly waits: Waits,
  ) {}

  async start(): Promise<void> {
    this.incarnation++;
    const proc = this.host.spawn(process.execPath, ['--import', PRELOAD, FIXTURE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        ...this.env,
        ...this.overrides,
        FN_NAME: this.name,
        FN_ADDRESS: this.host.address,
        FN_LOG: join(this.logDir, `${this.name}#${this.incarnation}.log`),
      },
    });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    // A send racing the child's death (its channel closed, 'exit' not seen yet) is reported here
    // instead of as an uncaught 'error'; its command then fails by its bound.
    proc.on('error', () => undefined);
    const ready = new Promise<void>((resolve, reject) => {
      proc.on(
        'message',
        (m: { kind?: string; id?: number; ok?: unknown; err?: string; code?: string; retryAfterMs?: number }) => {
          if (m.kind === 'ready') return resolve();
          const w = this.#waiting.get(m.id!);
          if (w === undefined) return;
          this.#waiting.delete(m.id!);
          if (m.err !== undefined)
            w.reject(
              Object.assign(new Error(m.err), {
                code: m.code,
                ...(m.retryAfterMs === undefined ? {} : { retryAfterMs: m.retryAfterMs }),
              }),
            );
          else w.resolve(m.ok);
        },
      );
      proc.once('exit', (code) => {
        reject(new Error(`${this.name} exited (${String(code)})`));
        for (const w of this.#waiting.values()) w.reject(new Error(`${this.name} exited`));
        this.#waiting.clear();
      });
    });
    // Generous: a node starts in about a second, but far slower on a machine loaded by other work.
    await within(ready, `${this.name} ready`, 120_000);
  }

  alive(): boolean {
    const p = this.proc;
    return p !== undefined && p.connected && p.exitCode === null && p.signalCode === null;
  }

  cmd(cmd: string, fields: Record<string, unknown> = {}, bound = 30_000): Promise<unknown> {
    if (!this.alive()) return Promise.reject(new Error(`${this.name} is down`));
    const id = this.#next++;
    const what = `${this.name} ${cmd}${typeof fields.key === 'string' ? ` ${fields.key}` : ''}${typeof fields.msgId === 'string' ? ` ${fields.msgId}` : ''}`;
    const p = within(
      new Promise<unknown>((resolve, reject) => {
        this.#waiting.set(id, { resolve, reject });
        this.proc!.send({ id, cmd, ...fields });
      }),
      `${this.name} ${cmd}`,
      bound,
    );
    return cmd === 'debug' ? p : this.waits.track(what, p);
  }

  async kill(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the process is frozen (its sockets stay open; the others see only silence). */
  pause(): void {
    if (this.alive()) this.proc!.kill('SIGSTOP');
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    if (this.alive()) this.proc!.kill('SIGCONT');
  }

  /**
   * Stops the node the way a deploy does (its runtime, then its node, then its store) and waits
   * for the process to exit; kill -9 when that takes over 25 s. Resolves with how long it took
   * and whether it had to be killed.
   */
  async stop(): Promise<{ ms: number; killed: boolean }> {
    const t0 = Date.now();
    if (!this.alive()) return { ms: 0, killed: false };
    try {
      await this.cmd('stop', {}, 15_000);
      await within(this.exited, `${this.name} exit`, 10_000);
      return { ms: Date.now() - t0, killed: false };
    } catch {
      await this.kill();
      return { ms: Date.now() - t0, killed: true };
    }
  }
}

/** The hosts, the store and the (not yet started) nodes of a fault run: see {@link faultCluster}. */
export interface FaultCluster extends AsyncDisposable {
  readonly hosts: TestHosts;
  /** The database's host (PostgreSQL), undefined for SQLite. */
  readonly db: Host | undefined;
  readonly nodes: FaultNode[];
  readonly waits: Waits;
  /**
   * New nodes n1..n3 (not started) on the same hosts and store, with `env` over the cluster's
   * environment and waits of their own: for a test that runs one set of nodes per setting.
   */
  nodesWith(env: Record<string, string>): FaultNode[];
}

/**
 * Test hosts n1..n3 for three fault nodes (faults_node.ts, not started), and the store: a
 * PostgreSQL server in a host `db` of its own, or the SQLite file `<dir>/entities.db`; the nodes
 * log to `dir`. `env` adds to the nodes' environment. Disposing it stops PostgreSQL and removes
 * the hosts (stop the nodes first).
 */
export async function faultCluster(o: {
  store: 'postgres' | 'sqlite';
  dir: string;
  leaseMs?: number | undefined;
  renewMs?: number | undefined;
  env?: Record<string, string>;
}): Promise<FaultCluster> {
  const sqlite = o.store === 'sqlite';
  const hosts = await TestHosts.create({ names: sqlite ? ['n1', 'n2', 'n3'] : ['db', 'n1', 'n2', 'n3'] });
  const db = sqlite ? undefined : hosts.host('db');
  let pg: (AsyncDisposable & { url: string }) | undefined;
  try {
    pg =
      db === undefined
        ? undefined
        : await startPostgres({ host: db.address, port: 5432, spawn: (cmd, args, opts) => db.spawn(cmd, args, opts) });
  } catch (e) {
    await hosts[Symbol.asyncDispose]();
    throw e;
  }
  const hostsOf = ['n1', 'n2', 'n3'].map((n) => hosts.host(n));
  const names = hostsOf.map((h) => `${h.name}@${h.address}`);
  const env = {
    FN_PORT: String(PORT),
    FN_PEERS: hostsOf.map((h, i) => `${names[i]}=${h.address}`).join(','),
    FN_DB: pg?.url ?? join(o.dir, 'entities.db'),
    FN_LEASE_MS: String(o.leaseMs ?? 1000),
    FN_RENEW_MS: String(o.renewMs ?? 250),
    ...o.env,
  };
  const waits = new Waits();
  const nodes = hostsOf.map((h, i) => new FaultNode(h, names[i]!, env, o.dir, waits));
  return {
    hosts,
    db,
    nodes,
    waits,
    nodesWith(extra) {
      const waitsOfSet = new Waits();
      return hostsOf.map((h, i) => new FaultNode(h, names[i]!, { ...env, ...extra }, o.dir, waitsOfSet));
    },
    async [Symbol.asyncDispose]() {
      try {
        await pg?.[Symbol.asyncDispose]();
      } finally {
        await hosts[Symbol.asyncDispose]();
      }
    },
  };
}

/**
 * Resolves once every node sees every member (`timeoutMs`, a minute by default, at most each). The
 * workflow checker on a host loaded past its cores gives it longer: members whose loops stand still
 * for seconds take minutes to agree, and a run cut there proves nothing about its promises.
 */
export async function everySeesEvery(nodes: readonly FaultNode[], timeoutMs = 60_000): Promise<void> {
  for (const n of nodes)
    await eventually(
      async () => ((await n.cmd('members')) as string[]).length === nodes.length,
      `${n.name} sees every member`,
      { timeoutMs },
    );
}

/** The first key `<prefix><i>` whose shard (of the default shard count) `owner` owns among `nodes`. */
export function keyOwnedBy(owner: FaultNode, nodes: readonly FaultNode[], prefix: string): string {
  const names = nodes.map((n) => n.name);
  for (let i = 0; ; i++)
    if (ownerOfShard(shardOf(`${prefix}${i}`, ENTITIES_DEFAULTS.shards), names) === owner.name) return `${prefix}${i}`;
}

/** Reads every node's log file. */
export function readLogs(dir: string): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.log')) continue;
    const source = f.slice(0, -4);
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        out.push({ ...(JSON.parse(line) as EntityEvent), source });
      } catch {
        // A line cut by kill -9 mid-write: it was never a complete record.
      }
    }
  }
  return out;
}

/** The faults a round applies, one each. */
export const FAULT_KINDS = ['kill', 'pause', 'isolate', 'partition', 'restart'] as const;

/** A percentile of sorted numbers (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/**
 * Runs the rounds on fresh test hosts (three nodes, and the database's host for PostgreSQL) and
 * checks the result. The caller checks `hostsAvailable()` (and `postgresMissing()`) first.
 */
export async function runFaults(o: FaultOptions): Promise<FaultReport> {
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const progress = o.progress ?? ((): void => undefined);
  const storeKind = o.store ?? 'postgres';
  const nKeys = o.keys ?? 6;
  const ledgerKeys = Array.from({ length: nKeys }, (_, i) => `k${i}`);
  const esKeys = Array.from({ length: nKeys }, (_, i) => `e${i}`);
  const perRound = o.messagesPerRound ?? 12;
  const ordersPerRound = o.ordersPerRound ?? 2;
  const pauseMs = o.pauseMs ?? 3000;
  const logDir = mkdtempSync(join(tmpdir(), 'ergo-entities-faults-'));
  await using cluster = await faultCluster({ store: storeKind, dir: logDir, leaseMs: o.leaseMs, renewMs: o.renewMs });
  const { hosts, db, nodes, waits } = cluster;
  let roundStart = Date.now();
  let roundNo = 0;
  let lastDump = 0;
  const watchdog =
    o.watchdogMs === undefined
      ? undefined
      : setInterval(() => {
          const ms = o.watchdogMs!;
          const age = Date.now() - roundStart;
          if (age < ms || Date.now() - lastDump < ms) return;
          lastDump = Date.now();
          void dumpWaits(roundNo, age, waits, nodes, db, progress);
        }, 1000);
  const faults: Record<string, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0]));
  const acked = new Set<string>();
  const ackedPerKind: Record<string, number> = { ledger: 0, esledger: 0, flow: 0 };
  const reminded = new Map<string, RemindedMessage>();
  const orders = new Map<string, string[]>();
  let givenUp = 0;
  let reactivationsAfterKill = 0;
  const killedActive: { key: string; token: number }[] = [];
  /** Sends one durable message through random live nodes, again with its id until acknowledged. */
  const deliver = async (kind: string, key: string, msg: unknown, id: string): Promise<boolean> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const live = nodes.filter((n) => n.alive());
      if (live.length === 0) {
        // Every node down (a whole-cluster restart): no command to wait on, so pause instead of
        // spinning (a synchronous spin would block the event loop and every bound with it).
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const via = pick(live);
      try {
        // Bounded beyond the send's own timeout: a paused node answers nothing until resumed.
        const r = await via.cmd('durable', { kind, key, msg, msgId: id, timeout: 4000 }, 8000);
        if (r === 'accepted' || r === 'duplicate') {
          ackedPerKind[kind]!++;
          return true;
        }
      } catch {
        // Unavailable, timed out, node down or paused: re-send with the same id.
      }
    }
    givenUp++;
    return false;
  };
  try {
    progress(`seed ${seed}, store ${storeKind}`);
    for (const n of nodes) await n.start();
    const allSee = (): Promise<void> => everySeesEvery(nodes);
    await waits.track('every node sees every member', allSee());
    let msg = 0;
    let done = 0;
    for (let round = 1; round <= o.rounds; round++) {
      if (o.until !== undefined && Date.now() > o.until) break;
      done = round;
      roundNo = round;
      roundStart = Date.now();
      // The first rounds take each fault once (a short run sees them all), then at random.
      const kind = round <= FAULT_KINDS.length ? FAULT_KINDS[round - 1]! : pick(FAULT_KINDS);
      faults[kind]!++;
      const victim = pick(nodes);
      let heal: () => Promise<void>;
      if (kind === 'kill' || kind === 'restart') {
        const victims = kind === 'kill' ? [victim] : nodes;
        // Which keys were active on each victim when it died (from its log so far).
        const logs = readLogs(logDir);
        for (const v of victims) {
          const src = `${v.name}#${v.incarnation}`;
          const live = new Map<string, EntityEvent>();
          for (const e of logs) if (e.source === src) live.set(`${e.kind}/${e.key}`, e);
          for (const e of live.values())
            if (e.event === 'activated' || e.event === 'written')
              killedActive.push({ key: `${e.kind}/${e.key}`, token: e.token });
        }
        await waits.track(`kill ${victims.map((v) => v.name).join(', ')}`, Promise.all(victims.map((v) => v.kill())));
        heal = async () => {
          for (const v of victims) await waits.track(`restart ${v.name}`, v.start());
        };
        if (kind === 'restart') {
          // The whole cluster is down: restarted at once, the load then goes to the new one.
          await heal();
          heal = async () => undefined;
        }
      } else if (kind === 'pause') {
        victim.pause();
        const resumed = new Promise<void>((r) => setTimeout(r, pauseMs)).then(() => victim.resume());
        heal = () => waits.track(`resume ${victim.name}`, resumed);
      } else if (kind === 'isolate') {
        const cut = await waits.track(`isolate ${victim.name}`, hosts.isolate(victim.host));
        heal = () => waits.track(`heal isolation of ${victim.name}`, cut.heal());
      } else {
        const other = pick(nodes.filter((n) => n !== victim));
        const cut = await waits.track(
          `partition ${victim.name}/${other.name}`,
          hosts.partition(victim.host, other.host),
        );
        heal = () => waits.track(`heal partition ${victim.name}/${other.name}`, cut.heal());
      }
      // The load: ledger messages (a third schedule a reminder) and orders, all during the fault.
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < perRound; i++) {
        const id = `m${++msg}`;
        const es = i % 2 === 1;
        const lk = es ? 'esledger' : 'ledger';
        const key = pick(es ? esKeys : ledgerKeys);
        const remindAfterMs = rand() < 1 / 3 ? 200 + Math.floor(rand() * 2000) : undefined;
        const firstSentAt = Date.now();
        sends.push(
          deliver(lk, key, remindAfterMs === undefined ? { id } : { id, remindAfterMs }, id).then((ok) => {
            if (!ok) return;
            acked.add(id);
            if (remindAfterMs !== undefined) reminded.set(id, { where: `${lk}/${key}`, firstSentAt, remindAfterMs });
          }),
        );
      }
      for (let i = 0; i < ordersPerRound; i++) {
        const key = `o${round}-${i}`;
        const got: string[] = [];
        orders.set(key, got);
        const windowMs = 1000 + Math.floor(rand() * 3000);
        const pays = rand() < 0.6;
        const shipFirst = rand() < 0.3;
        const send = async (m: unknown, id: string): Promise<void> => {
          if (await deliver('flow', key, m, id)) got.push(id);
        };
        sends.push(
          (async () => {
            await send({ place: `${key}/place`, windowMs }, `${key}/place`);
            if (!pays) return;
            if (shipFirst) await send({ ship: `${key}/ship` }, `${key}/ship`);
            await send({ pay: `${key}/pay` }, `${key}/pay`);
            if (!shipFirst) await send({ ship: `${key}/ship` }, `${key}/ship`);
          })(),
        );
      }
      await Promise.all(sends);
      await heal();
      await waits.track('every node sees every member', allSee());
      progress(
        `round ${round}/${o.rounds}: ${kind} ${kind === 'restart' ? 'all' : victim.name}; acknowledged ${acked.size} + ${ackedPerKind.flow} order messages, given up ${givenUp}`,
      );
    }
    await hosts.healAll();
    await allSee();
    // The reminders and order timeouts still pending fire now: wait until each has (or give up
    // after a minute: the checker then reports the ones that never did).
    const via = nodes[0]!;
    const dumpAll = async (): Promise<Record<string, LedgerDump>> => ({
      ...((await via.cmd('dump', { kind: 'ledger', keys: ledgerKeys })) as Record<string, LedgerDump>),
      ...((await via.cmd('dump', { kind: 'esledger', keys: esKeys })) as Record<string, LedgerDump>),
    });
    const firedOf = (d: Record<string, { fired: FireRecord[] }>): Map<string, FireRecord[]> => {
      const m = new Map<string, FireRecord[]>();
      for (const v of Object.values(d))
        for (const f of v.fired) {
          let l = m.get(f.id);
          if (l === undefined) m.set(f.id, (l = []));
          l.push(f);
        }
      return m;
    };
    const statusOf = async (key: string): Promise<OrderOutcome['status']> => {
      try {
        return (await via.cmd('status', { key, timeout: 4000 }, 8000)) as OrderOutcome['status'];
      } catch {
        return undefined;
      }
    };
    const settled = async (): Promise<boolean> => {
      const fired = firedOf(await dumpAll());
      for (const id of reminded.keys()) if (!fired.has(id)) return false;
      for (const [key, got] of orders) {
        if (got.length === 0) continue;
        const st = await statusOf(key);
        if (st === undefined || st.state === 'new' || (st.state === 'paid' && got.length === 3)) return false;
      }
      return true;
    };
    await waits
      .track(
        'pending reminders and order timeouts',
        eventually(settled, 'every reminder fired, every order settled', { timeoutMs: 60_000 }),
      )
      .catch(() => undefined);
    const dump = await dumpAll();
    const outcomes: OrderOutcome[] = [];
    for (const [key, got] of orders) {
      const inbox = (await via.cmd('inbox', { kind: 'flow', key }).catch(() => [])) as string[];
      outcomes.push({ key, acked: got, status: await statusOf(key), inbox });
    }
    const events = readLogs(logDir);
    for (const k of killedActive)
      if (events.some((e) => e.event === 'activated' && `${e.kind}/${e.key}` === k.key && e.token > k.token))
        reactivationsAfterKill++;
    const result = check(events, acked, dump);
    const inboxFires = new Set(Object.values(dump).flatMap((d) => (d as LedgerDump).inboxFires));
    const rem = checkReminders(reminded, firedOf(dump), inboxFires);
    // Acknowledged messages still waiting in an inbox at the end, long after every fault healed.
    const pendingAtEnd = Object.values(dump).flatMap((d) => d.inbox).length;
    const ord = checkOrders(outcomes, Date.now(), 30_000);
    const late = [...rem.lateness].sort((a, b) => a - b);
    return {
      ...result,
      violations: [...result.violations, ...rem.violations, ...ord.violations],
      seed,
      rounds: done,
      store: storeKind,
      faults,
      acked: acked.size,
      givenUp,
      ackedPerKind,
      reminders: {
        scheduled: reminded.size,
        fires: rem.fires,
        latenessMs: { max: late[late.length - 1] ?? 0, p50: percentile(late, 50), p99: percentile(late, 99) },
      },
      orders: { placed: orders.size, finished: ord.finished },
      pendingAtEnd,
      reactivationsAfterKill,
    };
  } finally {
    if (watchdog !== undefined) clearInterval(watchdog);
    for (const n of nodes) {
      // A node paused when the run failed: let it run, so it can be stopped.
      n.resume();
      await n.stop();
    }
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** The watchdog's report: what the harness, each node and the database wait for. */
export async function dumpWaits(
  round: number,
  age: number,
  waits: Waits,
  nodes: readonly FaultNode[],
  db: Host | undefined,
  progress: (line: string) => void,
): Promise<void> {
  const out = [`WATCHDOG round ${round} has run ${Math.round(age / 1000)} s; the harness waits for:`];
  for (const w of waits.list()) out.push(`  ${w}`);
  await Promise.all(
    nodes.map(async (n) => {
      if (!n.alive()) return void out.push(`  node ${n.name}: down`);
      try {
        out.push(`  node ${n.name}#${n.incarnation}: ${JSON.stringify(await n.cmd('debug', {}, 10_000))}`);
      } catch (e) {
        out.push(`  node ${n.name}#${n.incarnation}: debug failed: ${String(e)}`);
      }
    }),
  );
  if (db === undefined) return progress(out.join('\n'));
  try {
    const sql =
      "SELECT pid, client_addr, state, now() - xact_start AS xact_age, wait_event_type, wait_event, left(query, 80) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";
    const r = await db.exec('psql', ['-h', db.address, '-U', 'postgres', '-At', '-c', sql], { timeout: 10_000 });
    out.push(
      '  database sessions:',
      ...r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => `    ${l}`),
    );
  } catch (e) {
    out.push(`  database sessions: ${String(e)}`);
  }
  progress(out.join('\n'));
}

// Three members running one projection (projection_node.ts) in child OS processes on one
// PostgreSQL server, for the projection tests: starting, killing, pausing and restarting them,
// writing the journal (projection_kinds.ts) and reading the read model.

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import pg from 'pg';

import { eventually, freeTcpUdpPort, IpcCommands, ipcMessage, isKind, within } from '@ergo-ts/test-support';

import { PostgresStore, type EntityStore } from '../src/index.js';
import { fixtureEntry } from './fixture_ipc.js';
import { Tally, TallyWriter } from './projection_kinds.js';

const FIXTURE = fixtureEntry('projection_node');
const PRELOAD = fileURLToPath(new URL('./warnings_preload.js', import.meta.url));

/** The projection's status in one member. */
export interface MemberStatus {
  running: boolean;
  offset: number;
  token: number;
}

/** One member process. */
export class Member {
  readonly #commands: IpcCommands;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.#commands = new IpcCommands(proc, name);
  }

  /** Forks the member and waits until it is ready. */
  static async start(name: string, env: Record<string, string>): Promise<Member> {
    const proc = fork(FIXTURE, [], {
      execArgv: [...process.execArgv, '--import', PRELOAD],
      env: { ...process.env, ...env, PJ_NAME: name },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const m = new Member(name, proc);
    try {
      await ipcMessage(proc, isKind('ready'), `${name} ready`, 90_000);
    } catch (e) {
      await m.kill();
      throw e;
    }
    return m;
  }

  get alive(): boolean {
    return this.#commands.running;
  }

  status(): Promise<MemberStatus> {
    return this.#commands.value('status') as Promise<MemberStatus>;
  }

  cmd(cmd: 'members' | 'hold' | 'release'): Promise<unknown> {
    return this.#commands.value(cmd);
  }

  /** Resolves when this member reports a held batch applied and not committed. */
  holding(): Promise<{ from: number; to: number }> {
    const holding = (m: unknown): m is { from: number; to: number } => isKind('holding')(m);
    return ipcMessage(this.proc, holding, `${this.name} holding`, 60_000);
  }

  /** kill -9, then waits for the exit. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.proc.kill('SIGKILL');
    await this.#commands.exited;
  }

  /** A graceful stop (a kill if it does not answer). */
  async stop(): Promise<void> {
    if (!this.alive) return;
    try {
      await this.#commands.value('stop');
      await within(this.#commands.exited, `${this.name} exit`, 10_000);
    } catch {
      await this.kill();
    }
  }
}

/** A test's cluster: its members, the journal writer, and the read model's tables. */
export class ProjectionCluster {
  readonly members = new Map<string, Member>();
  readonly names: string[];
  readonly #env: Record<string, string>;
  readonly store: EntityStore;
  readonly writer: TallyWriter;
  readonly pool: pg.Pool;
  readonly rm: string;

  private constructor(names: string[], env: Record<string, string>, store: EntityStore, pool: pg.Pool, rm: string) {
    this.names = names;
    this.#env = env;
    this.store = store;
    this.writer = new TallyWriter(store);
    this.pool = pool;
    this.rm = rm;
  }

  /** Creates the read model's tables (tag: this test's), then starts the three members. */
  static async start(db: string, tag: string, mode: 'each' | 'exactly', leaseMs: number): Promise<ProjectionCluster> {
    const names = ['a', 'b', 'c'].map((n) => `${tag}_${n}@localhost`);
    const rm = `rm_${tag}`;
    const pool = new pg.Pool({ connectionString: db, max: 2 });
    // An idle connection the server ended (it stops after the file's tests): the next use opens another.
    pool.on('error', () => undefined);
    await pool.query(
      `CREATE TABLE ${rm}_log (id BIGSERIAL PRIMARY KEY, position BIGINT NOT NULL, n INT NOT NULL, node TEXT NOT NULL,
         at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
    );
    await pool.query(`CREATE TABLE ${rm}_exact (position BIGINT PRIMARY KEY)`);
    const store = await PostgresStore.open(db, { tablePrefix: `${tag}_` });
    const env = {
      PJ_REGISTRAR: String(await freeTcpUdpPort()),
      PJ_MEMBERS: names.join(','),
      PJ_DB: db,
      PJ_PREFIX: `${tag}_`,
      PJ_RM: rm,
      PJ_LEASE_MS: String(leaseMs),
      PJ_MODE: mode,
    };
    const c = new ProjectionCluster(names, env, store, pool, rm);
    for (const n of names) await c.startMember(n);
    await c.seeMembers();
    return c;
  }

  /** Starts (or starts again) the member `name`. */
  async startMember(name: string): Promise<Member> {
    const m = await Member.start(name, this.#env);
    this.members.set(name, m);
    return m;
  }

  /** Waits until every live member sees every live member. */
  async seeMembers(): Promise<void> {
    const live = [...this.members.values()].filter((m) => m.alive);
    const want = JSON.stringify(live.map((m) => m.name).sort());
    for (const m of live)
      await eventually(async () => JSON.stringify(await m.cmd('members')) === want, `${m.name} sees every member`, {
        timeoutMs: 60_000,
      });
  }

  /** The one live member running the projection, once exactly one does (`not`, a paused member, left unasked). */
  async runner(not?: string): Promise<Member> {
    return eventually(
      async () => {
        const live = [...this.members.values()].filter((m) => m.alive && m.name !== not);
        const running: Member[] = [];
        for (const m of live) if ((await m.status()).running) running.push(m);
        return running.length === 1 ? running[0] : undefined;
      },
      `exactly one runner${not === undefined ? '' : ` other than ${not}`}`,
      { timeoutMs: 60_000 },
    );
  }

  /** Every offset of the journal so far. */
  async journalOffsets(): Promise<number[]> {
    const out: number[] = [];
    for (let after = 0; ;) {
      const rows = await this.store.readJournal({ kind: Tally.name, after, limit: 1000 });
      if (rows.length === 0) return out;
      for (const r of rows) out.push(r.offset);
      after = rows[rows.length - 1]!.offset;
    }
  }

  /** Waits until the read model (`exact` for at least once, else the log) holds `count` distinct offsets. */
  async caughtUp(count: number, table: 'log' | 'exact'): Promise<void> {
    await eventually(
      async () => {
        const r = await this.pool.query<{ n: string }>(`SELECT count(DISTINCT position) AS n FROM ${this.rm}_${table}`);
        return Number(r.rows[0]!.n) === count;
      },
      `the read model holds ${count} events`,
      { timeoutMs: 90_000 },
    );
  }

  /** The log's rows in the order they were inserted. */
  async log(): Promise<{ id: number; position: number; node: string; at: number }[]> {
    const r = await this.pool.query<{ id: string; position: string; node: string; at: string }>(
      `SELECT id, position, node, (extract(epoch FROM at) * 1000)::float8 AS at FROM ${this.rm}_log ORDER BY id`,
    );
    return r.rows.map((x) => ({ id: Number(x.id), position: Number(x.position), node: x.node, at: Number(x.at) }));
  }

  /** Stops every live member, then the pool and the store. */
  async stop(): Promise<void> {
    for (const m of this.members.values()) await m.stop();
    await this.pool.end();
    await this.store.close();
  }
}

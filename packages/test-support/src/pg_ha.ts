// A highly available PostgreSQL on this machine, as a team runs it in production: one etcd, three
// PostgreSQL 15 members managed by Debian's Patroni (3.0.x), and HAProxy routing to the member
// whose Patroni REST API answers `/primary`. Everything listens on 127.0.0.1 on free ports with a
// temporary directory, removed by `stop()` (and, killed, when this process exits). With `place`,
// each process runs where it is told instead (a test host: its own network namespace and
// address), and the harness reaches the REST APIs and runs `patronictl` through a small HTTP
// forwarder started in a `control` place that reaches them all (a Unix socket in the directory:
// the file system is shared across network namespaces).
//
// Patroni's `etcd:` section (etcd's v2 API, `--enable-v2`), not `etcd3:`: with `etcd3:` Patroni
// 3.0.2 lost 1,404–1,668 acknowledged rows when the primary was frozen 20 s and resumed (the old
// Patroni overwrote the new leader's key; fixed upstream after 3.0.2); with `etcd:` the same faults
// lost nothing (issue 81). `synchronous_mode: true` (a commit is acknowledged once a synchronous
// standby has it, and only that standby may be promoted), ttl 10, loop_wait 1,
// `primary_start_timeout: 0` (a primary whose postmaster died is failed over at once instead of
// restarted in place). PostgreSQL refuses to run as root: as root, Patroni (which starts it) runs
// as the `postgres` user (`setpriv`), as postgres.ts runs the single server.

import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { eventually } from './eventually.js';
import { PG_BIN, postgresMissing } from './postgres.js';
import { serverPort } from './ports.js';

/** The binaries the cluster needs (each overridable by its environment variable). */
export const PG_HA_BINS = {
  patroni: process.env.PATRONI_BIN ?? '/usr/bin/patroni',
  patronictl: process.env.PATRONICTL_BIN ?? '/usr/bin/patronictl',
  haproxy: process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy',
  etcd: process.env.ETCD_BIN ?? '/usr/bin/etcd',
} as const;

/**
 * Why the highly available cluster cannot be started here, or undefined when it can. Under
 * `CI=true` a missing piece is a failure: this throws instead of returning the reason.
 */
export function pgHaMissing(): string | undefined {
  let why: string | undefined;
  try {
    why = postgresMissing();
  } catch (e) {
    why = (e as Error).message;
  }
  if (why === undefined) {
    const gone = Object.entries(PG_HA_BINS).find(([, bin]) => !existsSync(bin));
    if (gone !== undefined)
      why = `${gone[1]} is missing (install Debian's ${gone[0] === 'etcd' ? 'etcd-server' : gone[0].replace('ctl', '')})`;
    else if (!etcdHasV2()) why = `${PG_HA_BINS.etcd} has no --enable-v2 (Patroni's etcd: section needs etcd's v2 API)`;
  }
  if (why !== undefined && process.env.CI === 'true') throw new Error(`highly available PostgreSQL: ${why}`);
  return why;
}

function etcdHasV2(): boolean {
  try {
    return execFileSync(PG_HA_BINS.etcd, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).includes(
      '--enable-v2',
    );
  } catch (e) {
    return String((e as { stdout?: unknown }).stdout ?? '').includes('--enable-v2');
  }
}

/** The test's first call: true when the cluster can start, else skips the test with the reason (printed). */
export function requirePgHa(t: { skip(message?: string): void }): boolean {
  const why = pgHaMissing();
  if (why === undefined) return true;
  console.log(`# skipped: ${why}`);
  t.skip(why);
  return false;
}

/** Options of {@link startPgHa}. */
export interface PgHaOptions {
  /** How many PostgreSQL members (default 3). */
  members?: number;
  /** Extra PostgreSQL settings for every member (default: fsync and full_page_writes off, see below). */
  settings?: Record<string, string | number>;
  /** Patroni's `synchronous_mode_strict` (default false: with no standby left, the primary commits alone). */
  strict?: boolean;
  /** Where each process's log lines go (default: kept, the last lines shown when the start fails). */
  log?: (source: string, line: string) => void;
  /** How long to wait for the cluster (a primary, a synchronous standby, HAProxy routing), in ms. Default 90 000. */
  startTimeoutMs?: number;
  /**
   * Where each process runs (default: all here, on 127.0.0.1). The members' count is
   * `place.members.length`; `trust` is the network pg_hba trusts (the members replicate from
   * each other, the clients connect from it).
   */
  place?: PgHaPlacement;
}

/** Somewhere a process of the cluster runs: its address there, and how to start a process there. */
export interface PgHaPlace {
  readonly address: string;
  /** Starts `cmd args` there (a test host's `spawn`: `ip netns exec`, the child's pid its own). */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess;
}

/** Where the cluster's processes run ({@link PgHaOptions.place}). */
export interface PgHaPlacement {
  readonly etcd: PgHaPlace;
  readonly members: readonly PgHaPlace[];
  readonly haproxy: PgHaPlace;
  /** Where `patronictl` and the harness's HTTP forwarder run: a place that reaches every other one. */
  readonly control: PgHaPlace;
  /** The network pg_hba trusts, e.g. `10.200.3.0/24`. */
  readonly trust: string;
}

/** One PostgreSQL member and its Patroni. */
export interface PgHaMember {
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly dataDir: string;
  /** Patroni's configuration file (for `patronictl -c`). */
  readonly config: string;
  /** The Patroni process (PostgreSQL's postmaster is not its child: Patroni starts it in a session of its own). */
  readonly patroni: ChildProcess;
  /** `postgres://postgres@<address>:<pgPort>/postgres`: this member itself, not through HAProxy. */
  readonly url: string;
  /** Its address (127.0.0.1 unless placed). */
  readonly address: string;
}

/** What Patroni's REST API says of a member (`GET /patroni`), or undefined when it does not answer. */
export interface PgHaMemberState {
  readonly role?: string;
  readonly state?: string;
  readonly timeline?: number;
}

/** A running highly available cluster (from {@link startPgHa}). */
export interface PgHa {
  /** `postgres://postgres@<haproxy's address>:<haproxy>/postgres`: through HAProxy, always to the primary. */
  readonly url: string;
  readonly haproxyPort: number;
  /** HAProxy's statistics page (`<url>;csv` for a machine). */
  readonly statsUrl: string;
  /** etcd's client endpoint (`<address>:<port>`). */
  readonly etcd: string;
  readonly members: readonly PgHaMember[];
  /** The temporary directory holding every member's data. */
  readonly dir: string;
  /** The member whose Patroni answers `/primary` with 200 now, or undefined. */
  primary(): Promise<PgHaMember | undefined>;
  /**
   * Waits until a member other than `not` answers `/primary` (polled every 20 ms); resolves with
   * it and the time it was first seen. Default bound 60 s.
   */
  newPrimary(not: PgHaMember | undefined, timeoutMs?: number): Promise<{ member: PgHaMember; at: number }>;
  /** Waits until HAProxy routes to `member` alone (its statistics). */
  routedTo(member: PgHaMember, timeoutMs?: number): Promise<number>;
  /** What the member's Patroni says of it. */
  state(member: PgHaMember): Promise<PgHaMemberState | undefined>;
  /** The pid of the member's postmaster (from its `postmaster.pid`), or undefined when it is not running. */
  postmasterPid(member: PgHaMember): number | undefined;
  /** kill -9 of the member's postmaster (its Patroni stays); returns the time it was sent. */
  killPostmaster(member: PgHaMember): number;
  /** SIGSTOP (`stop`) or SIGCONT of the whole member: its Patroni, its postmaster and its backends. */
  freeze(member: PgHaMember, on: boolean): void;
  /** `patronictl switchover --force` to `candidate` (any synchronous standby when omitted). */
  switchover(candidate?: PgHaMember): Promise<string>;
  /** `patronictl <args>` against this cluster; its output. */
  patronictl(args: readonly string[]): Promise<string>;
  /** Patroni's own record of its promotions (`patronictl history`): each new timeline, when (ms), who. */
  history(): Promise<{ timeline: number; at: number; leader: string }[]>;
  /** Waits until every member is running again (after a fault) with a synchronous standby. */
  healthy(timeoutMs?: number): Promise<void>;
  /** Stops everything and removes the directory. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const live = new Set<() => void>();
let hooked = false;

function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Keeps a process's last lines (and passes them to `log`). */
function collect(proc: ChildProcess, source: string, log: PgHaOptions['log']): () => string {
  const lines: string[] = [];
  const take = (d: Buffer): void => {
    for (const line of d.toString().split('\n')) {
      if (line === '') continue;
      log?.(source, line);
      lines.push(line);
      if (lines.length > 40) lines.shift();
    }
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  return () => lines.join('\n');
}

/** An HTTP GET's answer (the body read whole). */
interface HttpAnswer {
  status: number;
  text: string;
  json(): unknown;
}

const answer = (status: number, text: string): HttpAnswer => ({
  status,
  text,
  json: () => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  },
});

/**
 * A GET of `url` (body read: no connection is left holding one), or undefined after 1 s or an
 * error: from here, or through the forwarder listening on `via` (a Unix socket).
 */
async function httpGet(url: string, via: string | undefined): Promise<HttpAnswer | undefined> {
  if (via === undefined)
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      return answer(r.status, await r.text());
    } catch {
      return undefined;
    }
  // node:http is imported here, not at the top: every test file imports this package's index, and
  // an ES import of node:http reads all its exports, whose lazy getters load undici (~0.08 CPU-s a
  // process; only the Patroni tests come here).
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request({ socketPath: via, path: url, method: 'GET', timeout: 1500 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(res.statusCode === 599 ? undefined : answer(res.statusCode ?? 0, text)));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

// The forwarder (CommonJS, `node -e`): GET <absolute url> on the Unix socket argv[1] is fetched
// from where it runs; 599 when that fails or takes over 1 s.
const FORWARDER = `const http = require('node:http');
http.createServer((req, res) => {
  const up = http.request(req.url, { method: req.method, timeout: 1000 }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('timeout', () => up.destroy(new Error('timeout')));
  up.on('error', () => { if (!res.headersSent) res.writeHead(599); res.end(); });
  req.pipe(up);
}).listen(process.argv[1], () => console.log('listening'));`;

/** Descendants of `roots` (and the roots), from /proc. */
function treeOf(roots: number[]): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent)
      if (out.has(ppid) && !out.has(pid)) {
        out.add(pid);
        grew = true;
      }
  }
  return [...out];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Starts the cluster: etcd (v2 API on), the PostgreSQL members under Patroni (the first to take the
 * leader key bootstraps, the others copy it with pg_basebackup), then HAProxy. Resolves once a
 * primary runs with a synchronous standby, every member runs, and HAProxy routes to the primary.
 * Call {@link pgHaMissing} first to skip where the binaries are missing.
 */
export async function startPgHa(options: PgHaOptions = {}): Promise<PgHa> {
  const place = options.place;
  const count = place?.members.length ?? options.members ?? 3;
  const at = (where: PgHaPlace | undefined): string => where?.address ?? '127.0.0.1';
  const spawnAt = (
    where: PgHaPlace | undefined,
    cmd: string,
    args: readonly string[],
    opts: SpawnOptions,
  ): ChildProcess => (where === undefined ? spawn(cmd, args, opts) : where.spawn(cmd, args, opts));
  // Placed, the REST APIs are reached through the forwarder in the control place.
  let via: string | undefined;
  const get = (url: string): Promise<HttpAnswer | undefined> => httpGet(url, via);
  const timeout = options.startTimeoutMs ?? 90_000;
  const ids = postgresIds();
  const dir = mkdtempSync(join(tmpdir(), 'ergo-pgha-'));
  if (ids !== undefined) chownSync(dir, ids.uid, ids.gid);
  const procs: ChildProcess[] = [];
  const members: PgHaMember[] = [];
  const logs = new Map<string, () => string>();
  let stopped = false;
  const killAll = (): void => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const m of members) {
      const pid = pidOf(m);
      if (pid !== undefined) for (const p of treeOf([pid])) signal(p, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  live.add(killAll);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const k of live) k();
    });
  }
  const failed = (what: string, e?: unknown): Error =>
    new Error(
      `${what}${e === undefined ? '' : `: ${String(e)}`}\n${[...logs].map(([n, l]) => `--- ${n}\n${l()}`).join('\n')}`,
      { cause: e },
    );

  try {
    if (place !== undefined) {
      via = join(dir, 'http.sock');
      const fwd = spawnAt(place.control, process.execPath, ['-e', FORWARDER, via], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      procs.push(fwd);
      logs.set('forwarder', collect(fwd, 'forwarder', options.log));
      await new Promise<void>((resolve, reject) => {
        fwd.stdout?.once('data', () => resolve());
        fwd.once('exit', (code) => reject(failed(`the HTTP forwarder exited (${String(code)})`)));
      });
    }
    // etcd, v2 API on (Patroni's etcd: section speaks it).
    const client = await serverPort();
    const peer = await serverPort();
    const ea = at(place?.etcd);
    const etcd = spawnAt(
      place?.etcd,
      PG_HA_BINS.etcd,
      [
        '--name=e0',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://${ea}:${client}`,
        `--advertise-client-urls=http://${ea}:${client}`,
        `--listen-peer-urls=http://${ea}:${peer}`,
        `--initial-advertise-peer-urls=http://${ea}:${peer}`,
        `--initial-cluster=e0=http://${ea}:${peer}`,
        '--enable-v2=true',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(etcd);
    logs.set('etcd', collect(etcd, 'etcd', options.log));
    await eventually(
      async () =>
        ((await get(`http://${ea}:${client}/health`))?.json() as { health?: string } | undefined)?.health === 'true',
      'etcd healthy',
      { timeoutMs: timeout, intervalMs: 50 },
    ).catch((e: unknown) => {
      throw failed('etcd did not start', e);
    });

    const scope = `ergo-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
    const nets = ['127.0.0.1/32', ...(place === undefined ? [] : [place.trust])];
    const hba = [
      'local all all trust',
      ...nets.flatMap((n) => [`host all all ${n} trust`, `host replication all ${n} trust`]),
    ];
    for (let i = 0; i < count; i++) {
      const name = `pg${i}`;
      const where = place?.members[i];
      const address = at(where);
      const pgPort = await serverPort();
      const restPort = await serverPort();
      const dataDir = join(dir, name);
      const config = join(dir, `${name}.yml`);
      // JSON is YAML: Patroni reads it as its configuration file.
      const conf = {
        scope,
        namespace: '/ergo/',
        name,
        log: { level: 'INFO' },
        restapi: { listen: `${address}:${restPort}`, connect_address: `${address}:${restPort}` },
        etcd: { host: `${ea}:${client}`, protocol: 'http' },
        bootstrap: {
          dcs: {
            ttl: 10,
            loop_wait: 1,
            // Patroni wants loop_wait + 2 × retry_timeout ≤ ttl.
            retry_timeout: 4,
            maximum_lag_on_failover: 1_048_576,
            primary_start_timeout: 0,
            synchronous_mode: true,
            synchronous_mode_strict: options.strict === true,
            postgresql: {
              use_pg_rewind: true,
              use_slots: true,
              parameters: {
                wal_level: 'replica',
                hot_standby: 'on',
                wal_log_hints: 'on',
                max_wal_senders: 10,
                max_replication_slots: 10,
                max_connections: 100,
              },
            },
          },
          initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
          pg_hba: hba,
        },
        postgresql: {
          listen: `${address}:${pgPort}`,
          connect_address: `${address}:${pgPort}`,
          data_dir: dataDir,
          bin_dir: PG_BIN,
          pgpass: join(dir, `${name}.pgpass`),
          authentication: {
            superuser: { username: 'postgres', password: 'postgres' },
            replication: { username: 'postgres', password: 'postgres' },
            rewind: { username: 'postgres', password: 'postgres' },
          },
          pg_hba: hba,
          // A member whose WAL went past the point where the new primary's timeline forked (an
          // asynchronous replica can be sent WAL the synchronous standby has not yet confirmed:
          // never acknowledged to a client) cannot follow it, and pg_rewind may fail: it is
          // cloned again instead of staying down.
          remove_data_directory_on_rewind_failure: true,
          remove_data_directory_on_diverged_timelines: true,
          parameters: {
            unix_socket_directories: dir,
            // Thrown-away data: nothing is flushed to disk. A killed or frozen process still keeps
            // every commit (its WAL is in the kernel); only the machine's own crash could lose one.
            fsync: 'off',
            full_page_writes: 'off',
            ...options.settings,
          },
        },
      };
      writeFileSync(config, JSON.stringify(conf, null, 1));
      if (ids !== undefined) chownSync(config, ids.uid, ids.gid);
      const cmd =
        ids === undefined
          ? [PG_HA_BINS.patroni, config]
          : [
              'setpriv',
              '--reuid',
              String(ids.uid),
              '--regid',
              String(ids.gid),
              '--clear-groups',
              PG_HA_BINS.patroni,
              config,
            ];
      const patroni = spawnAt(where, cmd[0]!, cmd.slice(1), {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C', HOME: dir },
      });
      procs.push(patroni);
      logs.set(name, collect(patroni, name, options.log));
      members.push({
        name,
        pgPort,
        restPort,
        dataDir,
        config,
        patroni,
        url: `postgres://postgres@${address}:${pgPort}/postgres`,
        address,
      });
    }

    const haproxyPort = await serverPort();
    const statsPort = await serverPort();
    const haCfg = join(dir, 'haproxy.cfg');
    const ha = at(place?.haproxy);
    writeFileSync(
      haCfg,
      [
        'global',
        '  maxconn 1000',
        'defaults',
        '  mode tcp',
        '  timeout connect 4s',
        '  timeout client 30m',
        '  timeout server 30m',
        '  timeout check 1s',
        // No retry of a failed server connection (HAProxy's default: 3, 1 s apart): a connection sent to
        // a primary that died before its checks marked it down failed only after 3 s, holding a pool slot.
        '  retries 0',
        'listen stats',
        '  mode http',
        `  bind ${ha}:${statsPort}`,
        '  stats enable',
        '  stats uri /stats',
        'listen primary',
        `  bind ${ha}:${haproxyPort}`,
        '  option httpchk OPTIONS /primary',
        '  http-check expect status 200',
        // A member stops getting new sessions, and its open ones are cut, as soon as two checks
        // say it is no longer the primary: a frozen old primary that comes back keeps no session.
        '  default-server inter 500ms fastinter 250ms downinter 250ms fall 2 rise 2 on-marked-down shutdown-sessions',
        ...members.map((m) => `  server ${m.name} ${m.address}:${m.pgPort} maxconn 200 check port ${m.restPort}`),
        '',
      ].join('\n'),
    );
    const haproxy = spawnAt(place?.haproxy, PG_HA_BINS.haproxy, ['-db', '-f', haCfg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(haproxy);
    logs.set('haproxy', collect(haproxy, 'haproxy', options.log));
    const statsUrl = `http://${ha}:${statsPort}/stats`;
    const rest = (m: PgHaMember, path: string): Promise<HttpAnswer | undefined> =>
      get(`http://${m.address}:${m.restPort}${path}`);

    // Every member asked at once, the first 200 taken: a frozen one's silence (1 s to time out)
    // delays no other answer.
    const primary = (): Promise<PgHaMember | undefined> =>
      new Promise((resolve) => {
        let left = members.length;
        for (const m of members)
          void rest(m, '/primary').then((r) => {
            if (r?.status === 200) resolve(m);
            if (--left === 0) resolve(undefined);
          });
      });
    const state = async (m: PgHaMember): Promise<PgHaMemberState | undefined> => {
      const r = await rest(m, '/patroni');
      return r?.json() as PgHaMemberState | undefined;
    };
    const routed = async (): Promise<string[]> => {
      const r = await get(`${statsUrl};csv`);
      if (r === undefined) throw new Error(`HAProxy's statistics (${statsUrl}) do not answer`);
      return r.text
        .split('\n')
        .map((l) => l.split(','))
        .filter((c) => c[0] === 'primary' && c[1] !== 'FRONTEND' && c[1] !== 'BACKEND' && c[17] === 'UP')
        .map((c) => c[1]!);
    };
    const routedTo = (m: PgHaMember, ms = 60_000): Promise<number> =>
      eventually(
        async () => {
          const up = await routed();
          return up.length === 1 && up[0] === m.name ? Date.now() : 0;
        },
        `HAProxy routes to ${m.name} alone`,
        { timeoutMs: ms, intervalMs: 20 },
      );
    const healthy = async (ms = timeout): Promise<void> => {
      await eventually(
        async () => {
          // Any member's view (one may be down or frozen).
          let r: HttpAnswer | undefined;
          for (const m of members) if ((r = await rest(m, '/cluster'))?.status === 200) break;
          if (r?.status !== 200) return false;
          const c = r.json() as { members?: { name: string; role: string; state: string }[] } | undefined;
          const ms2 = c?.members ?? [];
          return (
            ms2.length === count &&
            ms2.every((x) => x.state === 'running' || x.state === 'streaming') &&
            ms2.some((x) => x.role === 'leader') &&
            ms2.some((x) => x.role === 'sync_standby')
          );
        },
        'every member runs, with a primary and a synchronous standby',
        { timeoutMs: ms, intervalMs: 100 },
      );
      const p = await eventually(primary, 'a primary', { timeoutMs: ms, intervalMs: 50 });
      await routedTo(p, ms);
    };

    const patronictl = (args: readonly string[]): Promise<string> =>
      new Promise((resolve, reject) => {
        const p = spawnAt(place?.control, PG_HA_BINS.patronictl, ['-c', members[0]!.config, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, LC_ALL: 'C.UTF-8' },
        });
        let out = '';
        p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
        p.once('error', reject);
        p.once('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`patronictl ${args.join(' ')} exited ${String(code)}: ${out}`)),
        );
      });

    await healthy().catch((e: unknown) => {
      throw failed('the cluster did not come up', e);
    });
    /** `healthy`, its failure naming what Patroni says of each member. */
    const whole = (ms?: number): Promise<void> =>
      healthy(ms).catch(async (e: unknown) => {
        const list = await patronictl(['list']).catch((e2: unknown) => String(e2));
        throw failed(`the cluster is not whole again:\n${list}`, e);
      });

    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      for (const m of members) {
        const pid = pidOf(m);
        if (pid !== undefined) for (const p of treeOf([pid])) signal(p, 'SIGCONT');
        signal(m.patroni.pid!, 'SIGCONT');
      }
      // Patroni stops its PostgreSQL on SIGTERM (it still needs etcd for that), then etcd and
      // HAProxy go; whatever is left after 15 s is killed.
      const guard = setTimeout(killAll, 15_000);
      const end = (ps: ChildProcess[]): Promise<unknown> => {
        const exits = ps.map((p) =>
          p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)),
        );
        for (const p of ps) p.kill('SIGTERM');
        return Promise.all(exits);
      };
      await end(members.map((m) => m.patroni));
      await end(procs);
      clearTimeout(guard);
      killAll();
      live.delete(killAll);
    };

    return {
      url: `postgres://postgres@${ha}:${haproxyPort}/postgres`,
      haproxyPort,
      statsUrl,
      etcd: `${ea}:${client}`,
      members,
      dir,
      primary,
      newPrimary: async (not, ms = 60_000) => {
        const member = await eventually(
          async () => {
            const p = await primary();
            return p !== undefined && p !== not ? p : undefined;
          },
          `a primary other than ${not?.name ?? '-'}`,
          { timeoutMs: ms, intervalMs: 20 },
        );
        return { member, at: Date.now() };
      },
      routedTo,
      state,
      postmasterPid: pidOf,
      killPostmaster: (m) => {
        const pid = pidOf(m);
        if (pid === undefined) throw new Error(`${m.name}: no postmaster running`);
        const at = Date.now();
        process.kill(pid, 'SIGKILL');
        return at;
      },
      freeze: (m, on) => {
        const pid = pidOf(m);
        for (const p of treeOf([m.patroni.pid!, ...(pid === undefined ? [] : [pid])]))
          signal(p, on ? 'SIGSTOP' : 'SIGCONT');
      },
      switchover: async (candidate) => {
        const p = await primary();
        return patronictl([
          'switchover',
          '--force',
          ...(p === undefined ? [] : ['--leader', p.name]),
          ...(candidate === undefined ? [] : ['--candidate', candidate.name]),
        ]);
      },
      patronictl,
      history: async () => {
        const rows = JSON.parse(await patronictl(['history', '-f', 'json'])) as Record<string, unknown>[];
        return rows.map((r) => ({
          timeline: Number(r.TL) + 1,
          at: Date.parse(String(r.Timestamp)),
          leader: String(r['New Leader']),
        }));
      },
      healthy: whole,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    killAll();
    live.delete(killAll);
    throw e;
  }
}

function pidOf(m: Pick<PgHaMember, 'dataDir'>): number | undefined {
  try {
    const pid = Number(readFileSync(join(m.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    // The file outlives a killed postmaster, and its pid may be another process's by now.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(m.dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

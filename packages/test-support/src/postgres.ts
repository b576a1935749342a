// A real PostgreSQL server per test: Debian's `postgresql` (15) binaries from
// /usr/lib/postgresql/15/bin, a temporary data directory made by `initdb -A trust`, the server in
// the foreground as a child process (so its pid is ours to signal), listening on one TCP address
// and a Unix socket in the data directory (`-k`). PostgreSQL refuses to run as root: when this
// process is root, initdb and the server run as the `postgres` user the Debian package creates
// (`setpriv`, which execs, so the child's pid is the server's). The server is stopped by `stop()`,
// by `await using`, and — killed — when this process exits; the data directory goes with it.
// `spawn` may be given to start the server somewhere else, e.g. inside a test host's network
// namespace (`host.spawn`), with `host` that host's address.

import { execFileSync, spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the PostgreSQL binaries are (`PG_BIN` overrides it). */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * Why a PostgreSQL server cannot be started here, or undefined when it can. Under `CI=true` a
 * missing server is a failure: this throws instead of returning the reason.
 */
export function postgresMissing(): string | undefined {
  let why: string | undefined;
  if (!existsSync(join(PG_BIN, 'postgres')) || !existsSync(join(PG_BIN, 'initdb')))
    why = `${PG_BIN}/postgres is missing (install Debian's postgresql)`;
  else if (process.getuid?.() === 0 && postgresUser() === undefined)
    why = 'running as root and there is no `postgres` user to run the server as';
  if (why !== undefined && process.env.CI === 'true') throw new Error(`PostgreSQL: ${why}`);
  return why;
}

/**
 * The test's first call: true when a server can start, else marks the test skipped with the
 * reason (printed) and returns false. Under `CI=true` a missing server throws instead.
 */
export function requirePostgres(t: { skip(message?: string): void }): boolean {
  const why = postgresMissing();
  if (why === undefined) return true;
  console.log(`# skipped: ${why}`);
  t.skip(why);
  return false;
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /** The TCP address to listen on. Default 127.0.0.1. */
  host?: string;
  /** The TCP port. Default: a free port of this namespace. */
  port?: number;
  /** How the server process is started (default `child_process.spawn`; a test host's `spawn`). */
  spawn?: (cmd: string, args: readonly string[], opts: SpawnOptions) => ChildProcess;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  /** How long to wait for the server to accept connections, in ms. Default 30 000. */
  startTimeoutMs?: number;
}

/** A running PostgreSQL server (from {@link startPostgres}). */
export interface Postgres {
  /** `postgres://postgres@<host>:<port>/postgres` (trust authentication: no password). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The data directory (also where the Unix socket is). */
  readonly dataDir: string;
  /** The server process. */
  readonly process: ChildProcess;
  /** A fast shutdown (SIGINT), waiting for the exit; removes the data directory. Idempotent. */
  stop(): Promise<void>;
  /** `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

let pgUser: { uid: number; gid: number } | null | undefined = null;
function postgresUser(): { uid: number; gid: number } | undefined {
  if (pgUser !== null) return pgUser;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    pgUser = Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    pgUser = undefined;
  }
  return pgUser;
}

/** A TCP port free now on 127.0.0.1. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const running = new Set<{ proc: ChildProcess; dir: string }>();
let exitHook = false;
function onExit(): void {
  for (const r of running) {
    r.proc.kill('SIGKILL');
    rmSync(r.dir, { recursive: true, force: true });
  }
}

/**
 * Starts a fresh PostgreSQL server: `initdb -A trust` in a new temporary directory, then the server
 * on `host:port` (default 127.0.0.1 and a free port) and a Unix socket in that directory. Resolves
 * once it accepts connections; rejects (and cleans up) when it exits first or does not start
 * within `startTimeoutMs`. Call {@link postgresMissing} first to skip where there is no server.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  // A port free when picked can be taken before the server binds it (test files run side by
  // side): then it is picked again, unless the caller chose it.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOn(options, port);
    } catch (err) {
      if (options.port !== undefined || attempt >= 3 || !String(err).includes('Address already in use')) throw err;
    }
  }
}

async function startOn(options: PostgresOptions, port: number): Promise<Postgres> {
  const host = options.host ?? '127.0.0.1';
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ergo-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    user === undefined
      ? [cmd, args]
      : ['setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', cmd, ...args]];
  try {
    const [c, a] = asUser(join(PG_BIN, 'initdb'), [
      '-D',
      dir,
      '-A',
      'trust',
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    execFileSync(c, a, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((e as { stderr?: unknown }).stderr ?? e)}`, { cause: e });
  }
  // initdb trusts only local and loopback clients; a server on a test host's address serves the
  // other hosts of its subnet (which has no route out of the test's namespaces).
  if (host !== '127.0.0.1') appendFileSync(join(dir, 'pg_hba.conf'), `host all all ${host}/16 trust\n`);
  const settings: Record<string, string | number> = {
    listen_addresses: host,
    port,
    max_connections: 100,
    ...options.settings,
  };
  const args = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const [c, a] = asUser(join(PG_BIN, 'postgres'), ['-D', dir, '-k', dir, ...args]);
  const proc = (options.spawn ?? spawnChild)(c, a, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  const entry = { proc, dir };
  running.add(entry);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', onExit);
  }
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`PostgreSQL did not start within ${options.startTimeoutMs ?? 30_000} ms: ${log}`)),
        options.startTimeoutMs ?? 30_000,
      );
      proc.stderr!.setEncoding('utf8');
      proc.stderr!.on('data', (chunk: string) => {
        if (log.length < 20_000) log += chunk;
        if (log.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`PostgreSQL exited (${String(code ?? signal)}) before it was ready: ${log}`));
      });
      proc.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } catch (e) {
    proc.kill('SIGKILL');
    await exited;
    running.delete(entry);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  proc.stderr!.resume();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      const guard = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(guard);
      running.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    })());
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    host,
    port,
    dataDir: dir,
    process: proc,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

// A real PostgreSQL server per test: Debian's `postgresql` (15) binaries from
// /usr/lib/postgresql/15/bin, a temporary data directory holding a fresh `initdb -A trust` cluster
// (a copy of one made once per machine: see templateDir), the server in
// the foreground as a child process (so its pid is ours to signal), listening on one TCP address
// and a Unix socket in the data directory (`-k`). PostgreSQL refuses to run as root: when this
// process is root, initdb and the server run as the `postgres` user the Debian package creates
// (`setpriv`, which execs, so the child's pid is the server's). The server is stopped by `stop()`,
// by `await using`, and — killed — when this process exits; the data directory goes with it.
// `spawn` may be given to start the server somewhere else, e.g. inside a test host's network
// namespace (`host.spawn`), with `host` that host's address.

import { execFileSync, spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverPort } from './ports.js';

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
  /** Extra `-c name=value` settings (they override the defaults: fsync and full_page_writes off). */
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

const running = new Set<{ proc: ChildProcess; dir: string }>();
let exitHook = false;
function onExit(): void {
  for (const r of running) {
    r.proc.kill('SIGKILL');
    rmSync(r.dir, { recursive: true, force: true });
  }
}

/**
 * Starts a fresh PostgreSQL server: a new temporary directory holding a fresh `initdb -A trust`
 * cluster (a copy of the machine's template, made by the first call), then the server
 * on `host:port` (default 127.0.0.1 and a free port) and a Unix socket in that directory. Resolves
 * once it accepts connections; rejects (and cleans up) when it exits first or does not start
 * within `startTimeoutMs`. Call {@link postgresMissing} first to skip where there is no server.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<Postgres> {
  // A port free when picked can be taken before the server binds it (test files run side by
  // side): then it is picked again, unless the caller chose it.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await serverPort());
    try {
      return await startOn(options, port);
    } catch (err) {
      if (options.port !== undefined || attempt >= 3 || !String(err).includes('Address already in use')) throw err;
    }
  }
}

type AsUser = (cmd: string, args: string[]) => [string, string[]];

/** `initdb -A trust` of a new cluster in `dir` (empty, owned by the server's user). */
function initdb(dir: string, asUser: AsUser): void {
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
}

/** Written into a template once its initdb succeeded: a directory without it is never copied. */
const TEMPLATE_DONE = 'ergo-template-complete';

/**
 * The data directory every server of this machine starts from: one `initdb` (over a second of
 * CPU, more than the rest of a server's start) made once and kept in the temporary directory, named
 * for the user and the initdb binary (a new PostgreSQL makes a new one); each server gets a copy
 * of its own (`cp -a`: milliseconds), so it is still a fresh, empty cluster. Test files starting
 * servers at once may both make it: each in a directory of its own, renamed into place (atomic;
 * the loser's copy is removed), so no one copies a half-made template. Undefined when it cannot be
 * made (the caller runs initdb itself).
 */
function templateDir(user: { uid: number; gid: number } | undefined, asUser: AsUser): string | undefined {
  const bin = join(PG_BIN, 'initdb');
  const st = statSync(bin);
  const id = createHash('sha256')
    .update(`${bin} ${st.size} ${st.mtimeMs} ${process.getuid?.() ?? ''} ${user?.uid ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  const final = join(tmpdir(), `ergo-pg-template-${id}`);
  if (existsSync(join(final, TEMPLATE_DONE))) return final;
  const making = mkdtempSync(join(tmpdir(), 'ergo-pg-template-making-'));
  try {
    if (user !== undefined) chownSync(making, user.uid, user.gid);
    initdb(making, asUser);
    writeFileSync(join(making, TEMPLATE_DONE), '');
    if (user !== undefined) chownSync(join(making, TEMPLATE_DONE), user.uid, user.gid);
    try {
      renameSync(making, final);
    } catch {
      // Another process put its template there first (or a broken one is in the way: unused).
      rmSync(making, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(making, { recursive: true, force: true });
    throw e;
  }
  return existsSync(join(final, TEMPLATE_DONE)) ? final : undefined;
}

async function startOn(options: PostgresOptions, port: number): Promise<Postgres> {
  const host = options.host ?? '127.0.0.1';
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ergo-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const asUser: AsUser = (cmd, args) =>
    user === undefined
      ? [cmd, args]
      : ['setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', cmd, ...args]];
  try {
    // A copy of the template (`cp -a`: its owner and modes kept), or, without one, initdb here.
    const template = templateDir(user, asUser);
    if (template !== undefined)
      execFileSync('cp', ['-a', `${template}/.`, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    else initdb(dir, asUser);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `the data directory (initdb, or its copy) failed: ${String((e as { stderr?: unknown }).stderr ?? e)}`,
      { cause: e },
    );
  }
  // initdb trusts only local and loopback clients; a server on a test host's address serves the
  // other hosts of its subnet (which has no route out of the test's namespaces).
  if (host !== '127.0.0.1') appendFileSync(join(dir, 'pg_hba.conf'), `host all all ${host}/16 trust\n`);
  const settings: Record<string, string | number> = {
    listen_addresses: host,
    port,
    max_connections: 100,
    // Nothing is flushed to disk: the data directory is thrown away after the test, and a server
    // or client killed still keeps every commit (its WAL is written to the kernel at commit; only
    // the machine's own crash could lose it). Measured: a quarter to a third less server CPU per
    // acquire-and-write.
    fsync: 'off',
    full_page_writes: 'off',
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

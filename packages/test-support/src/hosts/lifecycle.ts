// What the test hosts leave on the machine, and how it goes away again. Every namespace is named
// `ergoth-<pid>-<n>-<role>` after the process that made it, so (1) concurrent test files never
// collide, (2) a harness at start removes the namespaces of processes that are gone (a test file
// killed by a timeout or SIGKILL runs no exit handler), and (3) this process removes its own on
// `exit` and on the usual termination signals. The test subnet (10.200.X.0/24) is held by a lock
// file naming the pid, reclaimed the same way.

import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { run, runSync, TestHostsError } from './commands.js';

/** The prefix of every namespace a harness makes. */
export const NS_PREFIX = 'ergoth-';
const NETNS_DIR = '/run/netns';
const LOCK_DIR = '/run/ergo-testhosts';

let counter = 0;

/** A fresh name stem for one harness of this process: `ergoth-<pid>-<n>`. */
export function nextStem(): string {
  return `${NS_PREFIX}${process.pid}-${++counter}`;
}

/** The pid a namespace or lock name belongs to, or undefined when it is not one of ours. */
export function ownerPid(name: string): number | undefined {
  const m = /^ergoth-(\d+)-/.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The namespaces that exist now whose name starts with `prefix`. */
export function listNamespaces(prefix: string = NS_PREFIX): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/**
 * Removes a namespace: SIGKILL to every process inside it (`ip netns pids`), then `ip netns del`.
 * Killing first matters: a namespace with live processes outlives its name, and with it its veths.
 */
export function removeNamespaceSync(ns: string): void {
  const pids = runSync('ip', ['netns', 'pids', ns]);
  for (const p of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  runSync('ip', ['netns', 'del', ns]);
}

/** The asynchronous {@link removeNamespaceSync}; errors are ignored (it may be gone already). */
export async function removeNamespace(ns: string): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
  for (const p of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

/** Removes the namespaces and subnet locks of harness processes that no longer exist. */
export async function removeStale(): Promise<string[]> {
  const stale = listNamespaces().filter((n) => {
    const pid = ownerPid(n);
    return pid !== undefined && pid !== process.pid && !alive(pid);
  });
  for (const ns of stale) await removeNamespace(ns);
  for (const f of lockFiles()) {
    const pid = lockOwner(f);
    if (pid !== undefined && !alive(pid)) removeLock(f);
  }
  return stale;
}

// ---- the test subnet ----------------------------------------------------------------------------

/**
 * Takes a free /24 of 10.200.0.0/16 for this harness (a lock file per subnet, created exclusively,
 * naming this pid). The hosts' bridge lives in a namespace of its own, so two harnesses could not
 * reach each other even on the same subnet; distinct subnets keep their addresses apart in logs.
 */
export function takeSubnet(): number {
  mkdirSync(LOCK_DIR, { recursive: true });
  const start = (process.pid * 7 + counter * 13) % 256;
  for (let i = 0; i < 256; i++) {
    const x = (start + i) % 256;
    const file = `${LOCK_DIR}/net-${x}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return x;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = lockOwner(`net-${x}`);
        // A lock whose owner is gone (or unreadable, half written) is taken over once.
        if (pid !== undefined && alive(pid)) break;
        if (pid === undefined) break;
        removeLock(`net-${x}`);
      }
    }
  }
  throw new TestHostsError('ERR_TESTHOSTS_NO_SUBNET', 'no free test subnet in 10.200.0.0/16 (256 harnesses alive)');
}

/** Gives a subnet back. */
export function releaseSubnet(x: number): void {
  removeLock(`net-${x}`);
}

function lockFiles(): string[] {
  try {
    return readdirSync(LOCK_DIR).filter((f) => f.startsWith('net-'));
  } catch {
    return [];
  }
}

function lockOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(`${LOCK_DIR}/${file}`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function removeLock(file: string): void {
  try {
    unlinkSync(`${LOCK_DIR}/${file}`);
  } catch {
    // Gone already.
  }
}

// ---- this process's exit ------------------------------------------------------------------------

/** Something that can tear itself down synchronously: a live harness. */
export interface SyncDisposable {
  disposeSync(): void;
}

const live = new Set<SyncDisposable>();
let hooked = false;

/** Registers a live harness for the exit cleanup (installs the process hooks once). */
export function track(h: SyncDisposable): void {
  live.add(h);
  if (hooked) return;
  hooked = true;
  process.on('exit', disposeAllSync);
  // A signal ends Node without 'exit': clean up, then die of the same signal as before. Only when
  // nobody else handles the signal, so a program's own handler keeps its meaning.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(sig) > 0) continue;
    process.once(sig, () => {
      disposeAllSync();
      process.kill(process.pid, sig);
    });
  }
}

/** Forgets a harness that was disposed. */
export function untrack(h: SyncDisposable): void {
  live.delete(h);
}

function disposeAllSync(): void {
  for (const h of [...live]) {
    try {
      h.disposeSync();
    } catch {
      // Best effort at exit: the next harness's stale sweep finishes the job.
    }
  }
  live.clear();
}

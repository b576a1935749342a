// Open-file limits for the tabs suite at scale: every tab is a socket on the gateway and one in a
// client process, and a shell's default (often 1,024, 20,000 here) is far below 100,000. Node
// cannot call setrlimit, so a process raises its own limit with util-linux's `prlimit --pid`
// (root, or CAP_SYS_RESOURCE, to pass the hard limit); where that fails the error says what to do.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The soft limit of open files of process `pid` (Infinity for unlimited; null when unknown). */
export function openFileLimit(pid = process.pid): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === undefined) return null;
    return soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return null;
  }
}

/** How many files this process has open now (0 where /proc does not say). */
export function openFileCount(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** Makes sure this process may open `more` files beyond those it has open now (and a few spare). */
export function ensureMoreOpenFiles(more: number): number {
  return ensureOpenFiles(openFileCount() + more + 16);
}

/**
 * Makes sure process `pid` may hold `need` open files: raises its soft and hard limits when below.
 * Returns the limit in force after.
 * @throws Error (saying to raise `ulimit -n`) when it stays below `need`.
 */
export function ensureOpenFiles(need: number, pid = process.pid): number {
  const now = openFileLimit(pid);
  if (now === null || now >= need) return now ?? need;
  try {
    execFileSync('prlimit', [`--pid=${pid}`, `--nofile=${need}:${need}`], { stdio: 'ignore' });
  } catch {
    // Said below with the limit that stayed.
  }
  const after = openFileLimit(pid) ?? 0;
  if (after < need)
    throw new Error(
      `process ${pid} may open ${after} files, ${need} are needed: run as root (prlimit) or raise \`ulimit -n\` first`,
    );
  return after;
}

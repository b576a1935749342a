// An ergo-ts node on the etcd registrar in its own OS process (etcd_node.ts), as the cluster and
// restart tests drive it: its JSON lines, its stderr, waits for a line, commands and their replies.

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A node in its own OS process (etcd_node.ts), its output lines and its end. */
export interface Child {
  name: string;
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string[];
  waiters: {
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
    reject: (e: Error) => void;
  }[];
  nextId: number;
  /** Why the process ended, once it has (a wait on it then fails at once, with its stderr). */
  ended: Error | null;
  /** Its exit code (null: killed by a signal), once its output is all read. */
  closed: Promise<number | null>;
  stderrWaiters: { re: RegExp; resolve: (line: string) => void }[];
}

/**
 * Starts etcd_node.js for `name` on `endpoints` in `cluster`; `opts` are its registrar's lease TTL
 * (s, default 2) and restart wait (ms, default the registrar's).
 */
export function startChild(
  name: string,
  endpoints: string,
  cluster: string,
  opts: { leaseTTL?: number; restartWait?: number } = {},
): Child {
  const args = [name, endpoints, cluster, String(opts.leaseTTL ?? 2), String(opts.restartWait ?? '')];
  const proc = spawn(process.execPath, [join(here, 'etcd_node.js'), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const closed = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const c: Child = {
    name,
    proc,
    lines: [],
    stderr: [],
    waiters: [],
    nextId: 1,
    ended: null,
    closed,
    stderrWaiters: [],
  };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const l = JSON.parse(line) as Record<string, unknown>;
    c.lines.push(l);
    c.waiters = c.waiters.filter((w) => (w.pred(l) ? (w.resolve(l), false) : true));
  });
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    c.stderr.push(line);
    c.stderrWaiters = c.stderrWaiters.filter((w) => (w.re.test(line) ? (w.resolve(line), false) : true));
  });
  proc.on('exit', (code, signal) => {
    c.ended = new Error(
      `${name} ended (${signal ?? `code ${code}`}); its stderr ends:\n${c.stderr.slice(-10).join('\n')}`,
    );
    for (const w of c.waiters) w.reject(c.ended);
    c.waiters = [];
  });
  return c;
}

/** The first line (already seen or to come) that matches. */
export function waitLine(c: Child, pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const seen = c.lines.find(pred);
  if (seen !== undefined) return Promise.resolve(seen);
  if (c.ended !== null) return Promise.reject(c.ended);
  return new Promise((resolve, reject) => c.waiters.push({ pred, resolve, reject }));
}

/** Sends a command to the node; resolves with its reply line. */
export function command(c: Child, cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = c.nextId++;
  c.proc.stdin!.write(JSON.stringify({ id, ...cmd }) + '\n');
  return waitLine(c, (l) => l.reply === id);
}

/** The first stderr line (already written or to come) that matches `re`; rejects if the process ends first. */
export function waitStderr(c: Child, re: RegExp): Promise<string> {
  const seen = c.stderr.find((l) => re.test(l));
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    c.stderrWaiters.push({ re, resolve });
    void c.closed.then(() =>
      reject(new Error(`${c.name} ended without a line matching ${re}: ${c.stderr.slice(-10).join('\n')}`)),
    );
  });
}

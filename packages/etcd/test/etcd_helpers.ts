// A real etcd (Debian's etcd-server, /usr/bin/etcd) per test: free ports, a temporary data dir,
// one member or a cluster of three. Missing etcd: the tests skip with a reason, or fail under CI=true.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, serverPort } from '@ergo-ts/test-support';

export const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd';

/** Why the etcd tests cannot run here, or null. Under CI=true a missing etcd is a failure. */
export function etcdMissing(): string | null {
  if (existsSync(ETCD)) return null;
  if (process.env.CI === 'true') throw new Error(`${ETCD} is missing (Debian package etcd-server)`);
  return `${ETCD} is missing (install Debian's etcd-server)`;
}

export interface Member {
  name: string;
  client: number;
  peer: number;
  dir: string;
  proc: ChildProcess | null;
  endpoint: string;
}

/** etcd members on free ports (not started). */
export async function members(n: number): Promise<Member[]> {
  const root = mkdtempSync(join(tmpdir(), 'ergo-etcd-'));
  const out: Member[] = [];
  for (let i = 0; i < n; i++) {
    const client = await serverPort();
    const peer = await serverPort();
    out.push({ name: `m${i}`, client, peer, dir: join(root, `m${i}`), proc: null, endpoint: `127.0.0.1:${client}` });
  }
  return out;
}

/** Starts (or restarts, same data dir) one member of `all`. */
export function startMember(m: Member, all: Member[]): void {
  const cluster = all.map((x) => `${x.name}=http://127.0.0.1:${x.peer}`).join(',');
  m.proc = spawn(
    ETCD,
    [
      '--name',
      m.name,
      '--data-dir',
      m.dir,
      '--listen-client-urls',
      `http://127.0.0.1:${m.client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${m.client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${m.peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${m.peer}`,
      '--initial-cluster',
      cluster,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      `t${all[0]!.peer}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // The last of its stderr, named when it ends before it is healthy.
  const tail: string[] = [];
  m.proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    tail.push(d);
    if (tail.length > 20) tail.shift();
  });
  stderrTail.set(m.proc, tail);
}

const stderrTail = new WeakMap<ChildProcess, string[]>();

/** A member that ended before it was healthy; `portTaken` when another socket had one of its ports. */
export class MemberEndedError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

/** Whether the etcd answering on `m.client` is `m` itself: its member list holds `m`'s peer URL. */
async function answersAsItself(m: Member): Promise<boolean> {
  const r = await fetch(`http://127.0.0.1:${m.client}/v3/cluster/member/list`, { method: 'POST', body: '{}' });
  const j = (await r.json()) as { members?: { peerURLs?: string[] }[] };
  return (j.members ?? []).some((x) => (x.peerURLs ?? []).includes(`http://127.0.0.1:${m.peer}`));
}

/**
 * Resolves once the member answers /health with a leader and its member list names it (so the
 * answer is its own, not another test's etcd on a reused port); a generous bound (etcd starting
 * under load). Rejects with {@link MemberEndedError} at once when the process ends first.
 */
export async function healthy(m: Member): Promise<void> {
  const proc = m.proc;
  if (proc === null) throw new Error(`etcd member ${m.name} is not started`);
  const ended = (): MemberEndedError | null => {
    if (proc.exitCode === null && proc.signalCode === null) return null;
    const words = (stderrTail.get(proc) ?? []).join('').slice(-2000);
    return new MemberEndedError(
      `etcd member ${m.name} ended (${proc.exitCode ?? proc.signalCode}) before it was healthy: ${words}`,
      /address already in use/i.test(words),
    );
  };
  await eventually(
    async () => {
      const gone = ended();
      if (gone !== null) return gone;
      // A refused connection (not listening yet) is retried; the last one is named on expiry.
      const r = await fetch(`http://127.0.0.1:${m.client}/health`);
      const j = (await r.json()) as { health?: string };
      return j.health === 'true' && (await answersAsItself(m));
    },
    `etcd member ${m.name} healthy`,
    { timeoutMs: 60_000, intervalMs: 100 },
  ).then((v) => {
    if (v instanceof MemberEndedError) throw v;
  });
}

/** Stops a member: SIGTERM (graceful) or SIGKILL; resolves when it has exited. */
export async function stopMember(m: Member, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const p = m.proc;
  m.proc = null;
  if (p === null || p.exitCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await gone;
}

/** Starts every member and waits for the cluster to be healthy. */
export async function startCluster(all: Member[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    for (const m of all) startMember(m, all);
    try {
      await Promise.all(all.map(healthy));
      return;
    } catch (e) {
      // Another process bound one of the ports first (rare: they are picked outside the
      // ephemeral range): new ports and a fresh start, twice at most.
      if (!(e instanceof MemberEndedError) || !e.portTaken || attempt >= 3) throw e;
      await Promise.all(all.map((m) => stopMember(m, 'SIGKILL')));
      for (const m of all) {
        rmSync(m.dir, { recursive: true, force: true });
        m.client = await serverPort();
        m.peer = await serverPort();
        m.endpoint = `127.0.0.1:${m.client}`;
      }
    }
  }
}

export async function stopCluster(all: Member[]): Promise<void> {
  await Promise.all(all.map((m) => stopMember(m, 'SIGKILL')));
  rmSync(join(all[0]!.dir, '..'), { recursive: true, force: true });
}

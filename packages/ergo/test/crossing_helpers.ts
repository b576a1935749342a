// Driver of crossing_node.ts processes for the crossing-dial tests: N node processes, rounds of
// fresh nodes, every pair calling each other both ways at once.

import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { IpcCommands, ipcMessage, within } from '@ergo-ts/test-support';

export const CROSSING_FIXTURE = fileURLToPath(new URL('./crossing_node.js', import.meta.url));

type Reply = { id: number; ok: boolean; value?: unknown; code?: string; message?: string };
export type CallResult = { target: string; ok: boolean; value?: unknown; code?: string; message?: string };

/** One OS process running crossing_node.js, driven over IPC. */
export class CrossingProc {
  readonly #commands: IpcCommands<Reply>;
  name = '';
  port = 0;

  constructor(readonly proc: ChildProcess) {
    this.#commands = new IpcCommands<Reply>(proc, 'process');
  }

  /** A process on loopback (forked here). */
  static async fork(): Promise<CrossingProc> {
    return CrossingProc.ready(fork(CROSSING_FIXTURE, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  static async ready(proc: ChildProcess): Promise<CrossingProc> {
    const c = new CrossingProc(proc);
    await ipcMessage(proc, (_m): _m is unknown => true, 'crossing node process ready');
    return c;
  }

  async ask(cmd: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    const r = await this.#commands.ask(cmd, fields);
    if (!r.ok) throw Object.assign(new Error(`${cmd}: ${r.message}`), { code: r.code });
    return r.value;
  }

  async start(name: string, host: string, registrar: 'none' | 'embedded', handshakeTimeout?: number): Promise<void> {
    const v = (await this.ask('start', {
      name,
      host,
      registrar,
      ...(handshakeTimeout === undefined ? {} : { handshakeTimeout }),
    })) as { name: string; port: number };
    this.name = v.name;
    this.port = v.port;
    this.#commands.label = v.name;
  }

  async stop(): Promise<string[]> {
    return ((await this.ask('stop')) as { lines: string[] }).lines;
  }

  /**
   * Ends the process: it stops its node and exits when the IPC channel closes. One that has not
   * exited 20 s later is killed before the failure is thrown: a live child would keep the test
   * file's process from ending (a failed round left a node running, and the file hung until the
   * runner's limit with no report).
   */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = once(this.proc, 'exit');
    if (this.proc.connected) this.proc.disconnect();
    try {
      await within(gone, 'crossing node process exit', 20_000);
    } catch (e) {
      this.proc.kill('SIGKILL');
      await gone;
      throw e;
    }
  }
}

/**
 * Closes every process (each killed if it does not exit: see {@link CrossingProc.close}); a
 * failure to close is thrown only when the test had not failed already (its own error says more).
 */
export async function closeAll(procs: CrossingProc[], failed: boolean): Promise<void> {
  const closed = await Promise.allSettled(procs.map((p) => p.close()));
  const bad = closed.find((c) => c.status === 'rejected');
  if (bad !== undefined && !failed) throw bad.reason;
}

/** Lines that must not be logged above debug for a crossing dial (or by stopping after one). */
const CROSSING_NEWS = /handshake|refus|cannot connect|dropped/i;

/** Log lines that must not be there after a crossing dial: any warning or error, any handshake news. */
export function badLines(lines: string[]): string[] {
  return lines.filter((l) => /^\[[2-9]\]/.test(l) || CROSSING_NEWS.test(l));
}

/**
 * One round: fresh nodes `r<round>n<i>` on `hosts[i]`, every node calls every other at the
 * same moment (each pair dials both ways at once); every call must answer and no node may log
 * about it above debug; stopping is bounded (a hang fails the round).
 */
export async function crossingRound(
  procs: CrossingProc[],
  round: number,
  hosts: string[],
  registrar: 'none' | 'embedded',
): Promise<void> {
  await Promise.all(procs.map((p, i) => p.start(`r${round}n${i}`, hosts[i]!, registrar)));
  if (registrar === 'none') {
    const routes = procs.map((p) => ({ match: `^${p.name}$`, host: hosts[procs.indexOf(p)]!, port: p.port }));
    await Promise.all(procs.map((p) => p.ask('routes', { routes: routes.filter((r) => r.match !== `^${p.name}$`) })));
  }
  const results = await Promise.all(
    procs.map((p) => p.ask('callAll', { targets: procs.filter((q) => q !== p).map((q) => q.name), timeout: 10_000 })),
  );
  const done = results as { results: CallResult[]; lines: string[] }[];
  const failed = done.flatMap((r, i) =>
    r.results.filter((c) => !c.ok).map((c) => `${procs[i]!.name} -> ${c.target}: ${c.code} ${c.message}`),
  );
  // Stopping is bounded (ask's guard): a hang fails the round. Nodes stop in parallel, so a peer
  // may see the others' connections close under it (that is not the crossing's news).
  const stopped = await Promise.all(procs.map((p) => p.stop()));
  assert.deepEqual(failed, [], `round ${round}: every call answers`);
  for (const [i, r] of done.entries()) {
    const name = procs[i]!.name;
    assert.deepEqual(badLines(r.lines), [], `round ${round}: ${name} logs nothing about the crossing above debug`);
    assert.deepEqual(
      stopped[i]!.filter((l) => CROSSING_NEWS.test(l)),
      [],
      `round ${round}: ${name} stops quietly`,
    );
  }
}

// The workflows suite's view of a durable-execution engine (Restate, DBOS, Effect's workflow
// engine, ergo-ts): what the rows ask of it, and the parent side of the engines whose worker is a
// child process taking requests over IPC (net/workflows_serve.ts is the worker side). The client
// is always the bench process and every figure is taken there, around these calls.

import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';

import type { Envelope, WorkerReply, WorkerRequest } from '../net/workflows_serve.js';

/** One engine as the rows use it (the workflows: net/workflows_serve.ts). */
export interface Engine {
  /** Runs an n-step workflow `id`, start → result. */
  steps(id: string, n: number): Promise<void>;
  /** The same, each step taking a slot of a limited queue (lib/workflows_queue.ts; ergo-ts only). */
  queuedSteps?(id: string, n: number): Promise<void>;
  /** One workflow fanning out n units at once, each through a concurrency-4 queue when `queued` (lib/workflows_queue_fanout.ts). */
  fanOut?(id: string, n: number, queued: boolean): Promise<void>;
  /** n one-unit workflows started at once, each through the concurrency-4 queue when `queued` (the same file). */
  manyUnits?(id: string, n: number, queued: boolean): Promise<void>;
  /** One step looping n times, heartbeating each time when `beat` (lib/workflows_heartbeat.ts; ergo-ts only). */
  heartbeats?(id: string, n: number, beat: boolean): Promise<void>;
  /** Runs a nap workflow (a durable sleep of `ms`) to its end; returns its lateness in ms. */
  nap(id: string, ms: number): Promise<number>;
  /**
   * Before the kill -9 row's first round: sets up what that row runs on (ergo-ts: its two
   * members), so the round's clock starts with the engine ready, as the other engines' does.
   */
  beforeResume?(): Promise<void>;
  /** Starts a sleeper workflow (step a, sleep `ms`, step b); resolves once the engine stored it. */
  startSleeper(id: string, ms: number): Promise<void>;
  /** Kills (SIGKILL) the process running the sleepers and starts what recovers them. */
  crash(): Promise<void>;
  /** After a crash round, once every sleeper ended: makes the engine ready for the next round. */
  afterRound?(): Promise<void>;
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again: the caller binds it). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves after `ms`. */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A worker child process serving WorkerRequests (net/workflows_serve.ts). */
export class IpcWorker {
  /** The worker process. */
  readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private seq = 0;
  /** Resolves when the worker process has exited. */
  readonly exited: Promise<void>;

  /** Forks `script` with `env` added to this process' environment. */
  constructor(script: string, env: NodeJS.ProcessEnv) {
    this.child = fork(script, [], {
      execArgv: ['--no-deprecation'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
    });
    this.exited = new Promise((res) => this.child.once('exit', () => res()));
    this.ready = new Promise<void>((res, rej) => {
      this.child.on('message', (m: WorkerReply | { ready: true }) => {
        if ('ready' in m) return res();
        const p = this.pending.get(m.seq);
        this.pending.delete(m.seq);
        if ('error' in m) p?.reject(new Error(m.error));
        else p?.resolve(m.out);
      });
      this.child.once('exit', (code, signal) => {
        const e = new Error(`workflow worker ${script} exited (${code ?? signal})`);
        rej(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
    });
    // A worker killed on purpose rejects `ready` when nobody waits for it any more.
    this.ready.catch(() => {});
  }

  /** Sends `req` once the worker is ready; resolves with the workflow's result. */
  async request(req: WorkerRequest): Promise<unknown> {
    await this.ready;
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.child.send({ ...req, seq } satisfies Envelope);
    });
  }

  /** Resolves once the worker told it is ready. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** SIGKILL, and waits for the exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Closes the IPC channel (the worker exits), waits for the exit. */
  async close(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await this.exited;
  }
}

/**
 * An engine whose whole worker is one child process (DBOS, Effect): a crash kills it with
 * SIGKILL and forks the same script again, which recovers the pending workflows as it starts.
 * `fanOut`: its worker serves the fan-out rows' requests (DBOS).
 */
export async function ipcEngine(script: string, env: NodeJS.ProcessEnv, fanOut = false): Promise<Engine> {
  let worker = new IpcWorker(script, env);
  await worker.whenReady();
  const fans: Pick<Engine, 'fanOut' | 'manyUnits'> = fanOut
    ? {
        fanOut: async (id, n, queued) => void (await worker.request({ op: 'fanout', id, n, queued })),
        manyUnits: async (id, n, queued) => void (await worker.request({ op: 'many', id, n, queued })),
      }
    : {};
  return {
    ...fans,
    steps: async (id, n) => void (await worker.request({ op: 'steps', id, n })),
    nap: async (id, ms) => (await worker.request({ op: 'nap', id, ms })) as number,
    startSleeper: async (id, ms) => void (await worker.request({ op: 'start', id, ms })),
    async crash() {
      await worker.kill();
      worker = new IpcWorker(script, env);
    },
    afterRound: () => worker.whenReady(),
    close: () => worker.close(),
  };
}

/** One line of the step log: a step of a sleeper as it ran. */
export interface StepRun {
  id: string;
  step: string;
  at: number;
  pid: number;
}

/** The step log's lines (empty when nothing was logged yet). */
export function readStepLog(file: string): StepRun[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [id, step, at, pid] = l.split(' ');
      return { id: id!, step: step!, at: Number(at), pid: Number(pid) };
    });
}

// The worker side of the workflows suite's engines that run in a child process and take their
// requests over IPC (DBOS, Effect's workflow engine, ergo-ts; lib/workflows_engine.ts is the
// parent side): the requests, their replies, and the step log of the kill -9 row.
//
// Every engine's worker defines the same three workflows:
//   steps(n)    n steps in a row, each returning the previous one's result + 1;
//   nap(ms)     a step recording Date.now(), a durable sleep of ms, a step recording Date.now():
//               returns the lateness, (second time − first time − ms);
//   sleeper(ms) the kill -9 row's workflow: step 'a', a durable sleep of ms, step 'b', each step
//               appending a line to the step log (WF_LOG) as it runs, so a step run twice is seen.

import { appendFileSync } from 'node:fs';

/** A request from the bench to a worker. */
export type WorkerRequest =
  | { op: 'steps'; id: string; n: number }
  | { op: 'nap'; id: string; ms: number }
  | { op: 'start'; id: string; ms: number }
  | { op: 'qsteps'; id: string; n: number }
  | { op: 'beats'; id: string; n: number; beat: boolean }
  | { op: 'fanout'; id: string; n: number; queued: boolean }
  | { op: 'many'; id: string; n: number; queued: boolean };

/** A request with its sequence number (the reply carries it back). */
export type Envelope = WorkerRequest & { seq: number };

/** A worker's reply: the workflow's result, or why it failed. */
export type WorkerReply = { seq: number; out: unknown } | { seq: number; error: string };

/** What a worker does for each request. */
export interface WorkerHandlers {
  /** Runs an n-step workflow `id` to its end (start → result). */
  steps(id: string, n: number): Promise<unknown>;
  /** Runs a nap workflow `id` to its end; returns its lateness (ms). */
  nap(id: string, ms: number): Promise<number>;
  /** Starts a sleeper workflow `id`; resolves once the engine has stored it (not when it ends). */
  start(id: string, ms: number): Promise<void>;
  /** Runs an n-step workflow whose steps take a slot of a limited queue (ergo-ts only: lib/workflows_queue.ts). */
  qsteps?(id: string, n: number): Promise<unknown>;
  /** Runs one step that loops n times, heartbeating each time when `beat` (ergo-ts only: lib/workflows_heartbeat.ts). */
  beats?(id: string, n: number, beat: boolean): Promise<unknown>;
  /**
   * Runs one workflow `id` that fans out `n` units at once and waits for them all, each unit a
   * step; `queued`: each through a queue with a concurrency limit of 4 (lib/workflows_queue_fanout.ts).
   */
  fanout?(id: string, n: number, queued: boolean): Promise<unknown>;
  /** Starts `n` one-step workflows at once (ids `id-0`…) and waits for them all; `queued`: as above. */
  many?(id: string, n: number, queued: boolean): Promise<unknown>;
}

/** Appends "id step time pid" to the step log ($WF_LOG): called by a sleeper's step as it runs. */
export function logStep(id: string, step: string): number {
  const at = Date.now();
  appendFileSync(process.env.WF_LOG!, `${id} ${step} ${at} ${process.pid}\n`);
  return at;
}

/**
 * Serves `handlers` over IPC and tells the parent `{ ready: true }`. The worker exits when the
 * parent closes the channel (the bench's end of a run; a crash round uses SIGKILL instead).
 */
export function serveWorker(handlers: WorkerHandlers): void {
  process.on('message', (m: Envelope) => {
    const run = async (): Promise<unknown> => {
      if (m.op === 'steps') return handlers.steps(m.id, m.n);
      if (m.op === 'nap') return handlers.nap(m.id, m.ms);
      if (m.op === 'qsteps') return handlers.qsteps!(m.id, m.n);
      if (m.op === 'beats') return handlers.beats!(m.id, m.n, m.beat);
      if (m.op === 'fanout') return handlers.fanout!(m.id, m.n, m.queued);
      if (m.op === 'many') return handlers.many!(m.id, m.n, m.queued);
      return handlers.start(m.id, m.ms);
    };
    // A reply after the parent closed the channel has nobody to go to (send would throw).
    const reply = (r: WorkerReply): void => void (process.connected && process.send!(r));
    run().then(
      (out) => reply({ seq: m.seq, out: out ?? null }),
      (e: unknown) => reply({ seq: m.seq, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}

// Shared test utilities for the local-runtime suites: deferred promises, quiet nodes (default
// logger silenced or captured), a Probe actor that forwards what it receives to JS callbacks, an
// Inbox that resolves once N messages arrived, a guard that fails a file when an unhandled
// rejection or uncaught exception escaped, and runScript (a snippet in a child Node, for the
// process-lifetime and --expose-gc tests).

import { strict as assert } from 'node:assert';
import { after } from 'node:test';

import { Actor, startNode, type Node, type NodeOptions, type PID, type Ref } from '../src/index.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
  settled: boolean;
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve(v: T) {
      d.settled = true;
      resolve(v);
    },
    reject(e: unknown) {
      d.settled = true;
      reject(e);
    },
  };
  return d;
}

// The bounded wait every package's tests share (a hang guard naming what did not settle).
export { within } from '@ergo-ts/test-support';

/** Lines written by a node's default logger. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly output = { write: (chunk: string): boolean => (this.lines.push(chunk), true) };
  text(): string {
    return this.lines.join('');
  }
}

let nodeSeq = 0;

/** A unique node name for this test file. */
export function nodeName(prefix = 'test'): string {
  return `${prefix}${++nodeSeq}_${process.pid}@localhost`;
}

/** Starts a node whose default logger writes nowhere (or into `capture`). */
export function quietNode(options: NodeOptions = {}, capture?: LogCapture, name = nodeName()): Promise<Node> {
  const write = capture?.output ?? { write: () => true };
  return startNode(name, {
    systemApp: false,
    ...options,
    log: { ...options.log, defaultLogger: { ...options.log?.defaultLogger, output: write } },
  });
}

/** What a Probe saw. */
export interface Seen {
  from: PID;
  message: unknown;
}

/** An actor that hands every message (and call request) to JS callbacks. */
export class Probe extends Actor {
  constructor(
    readonly onMessage: (msg: unknown, from: PID, self: Probe) => unknown = () => undefined,
    readonly onCall: (req: unknown, from: PID, ref: Ref, self: Probe) => unknown = (req) => req,
    readonly onTerminate: (reason: Error, self: Probe) => void = () => undefined,
  ) {
    super();
  }
  override handleMessage(from: PID, message: unknown): any {
    return this.onMessage(message, from, this);
  }
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    return this.onCall(request, from, ref, this);
  }
  override terminate(reason: Error): void {
    this.onTerminate(reason, this);
  }
}

/** Factory for a Probe. */
export function probe(
  onMessage?: (msg: unknown, from: PID, self: Probe) => unknown,
  onCall?: (req: unknown, from: PID, ref: Ref, self: Probe) => unknown,
  onTerminate?: (reason: Error, self: Probe) => void,
): () => Probe {
  return () => new Probe(onMessage, onCall, onTerminate);
}

/** A Probe that collects messages and resolves `next()` promises in order. */
export class Inbox {
  readonly items: Seen[] = [];
  private waiters: { n: number; d: Deferred<Seen[]> }[] = [];
  push = (message: unknown, from: PID): void => {
    this.items.push({ from, message });
    this.waiters = this.waiters.filter((w) => {
      if (this.items.length >= w.n) {
        w.d.resolve(this.items.slice(0, w.n));
        return false;
      }
      return true;
    });
  };
  /** Resolves once `n` items have arrived (all of them, in order). */
  count(n: number): Promise<Seen[]> {
    if (this.items.length >= n) return Promise.resolve(this.items.slice(0, n));
    const d = deferred<Seen[]>();
    this.waiters.push({ n, d });
    return d.promise;
  }
  messages(): unknown[] {
    return this.items.map((s) => s.message);
  }
}

/**
 * A scripted peer registered as `name`: a message `{to, send}` makes it send `send` to `to`;
 * anything else goes to `inbox` (the replies of whom it sent to).
 */
export function scriptedPeer(node: Node, name: string, inbox: Inbox): Promise<PID> {
  return node.spawnRegister(
    name,
    probe((msg, from, self) => {
      if (typeof msg === 'object' && msg !== null && 'to' in msg) {
        const m = msg as { to: PID; send: unknown };
        self.send(m.to, m.send);
      } else inbox.push(msg, from);
    }),
  );
}

/** Records unhandled rejections while installed; `check()` asserts there were none. */
export function trackUnhandled(): { readonly seen: unknown[]; check(): void; dispose(): void } {
  const seen: unknown[] = [];
  const onRej = (e: unknown): void => void seen.push(e);
  const onExc = (e: unknown): void => void seen.push(e);
  process.on('unhandledRejection', onRej);
  process.on('uncaughtException', onExc);
  return {
    seen,
    check() {
      assert.deepEqual(seen, [], 'no unhandled rejection or uncaught exception escaped');
    },
    dispose() {
      process.off('unhandledRejection', onRej);
      process.off('uncaughtException', onExc);
    },
  };
}

/** Resolves after the current macrotask turn (lets pending microtasks and one I/O turn run). */
export function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Asserts that `p` rejects with an error whose code is `code`; returns the error. */
export async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  msg?: string,
): Promise<Error & { code: string; cause?: unknown }> {
  try {
    await p;
  } catch (e) {
    assert.equal((e as { code?: string }).code, code, msg ?? `expected ${code}, got ${String(e)}`);
    return e as Error & { code: string; cause?: unknown };
  }
  assert.fail(msg ?? `expected rejection with ${code}`);
}

/** Captures a synchronous throw and returns it (asserting the code when given). */
export function thrown(fn: () => unknown, code?: string): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    if (code !== undefined) assert.equal((e as { code?: string }).code, code, `expected ${code}, got ${String(e)}`);
    return e as Error & { code?: string };
  }
  assert.fail(`expected a throw${code ? ` with ${code}` : ''}`);
}

export type { Node };

/** Runs `fn` with a fresh quiet node and force-stops the node afterwards. */
export async function withNode<T>(
  fn: (node: Node) => Promise<T> | T,
  options: NodeOptions = {},
  capture?: LogCapture,
): Promise<T> {
  const node = await quietNode(options, capture);
  try {
    return await fn(node);
  } finally {
    await node.stopForce();
  }
}

/** URL of the compiled package entry point (for scripts run in a child process). */
export const INDEX_URL = new URL('../src/index.js', import.meta.url).href;

/** URL of the compiled engine internals (test-only module, not exported by the package). */
export const INTERNALS_URL = new URL('../src/node/internals.js', import.meta.url).href;

/**
 * Runs an ES module snippet in a child Node process (`INDEX` in the code is replaced by the
 * package entry URL, `INTERNALS` by the engine internals module). Resolves with its exit code
 * and output.
 */
export async function runScript(
  code: string,
  flags: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...flags,
        '--input-type=module',
        '-e',
        code.replaceAll('INTERNALS', INTERNALS_URL).replaceAll('INDEX', INDEX_URL),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, stdout, stderr }));
  });
}

/** Fails the file (in an `after` hook) if any unhandled rejection or uncaught exception escaped. */
export function noUnhandled(): void {
  const g = trackUnhandled();
  after(() => {
    g.dispose();
    g.check();
  });
}

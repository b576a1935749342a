// The parent's side of a child OS process driven over IPC, as the distributed tests run their
// nodes: the test sends `{ id, cmd, ...fields }`, the child answers with a message carrying the
// same `id`; the child's first message (a `ready`, or its name and port) says it has started.
// Every wait is bounded, and a child that exits fails what waits on it at once.

import type { ChildProcess } from 'node:child_process';

import { within } from './eventually.js';

/** A message of the child that answers a command: it carries the command's `id`. */
export interface IpcAnswer {
  id: number;
}

const isAnswer = (m: unknown): m is IpcAnswer =>
  typeof m === 'object' && m !== null && typeof (m as { id?: unknown }).id === 'number';

/** A predicate for {@link ipcMessage}: the child's message of that `kind` (`isKind('ready')`). */
export const isKind =
  <K extends string>(kind: K) =>
  (m: unknown): m is { kind: K } =>
    typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === kind;

/** A predicate for {@link ipcMessage}: a child's first message naming its node and port. */
export const isStarted = (m: unknown): m is { name: string; port: number } =>
  typeof m === 'object' &&
  m !== null &&
  typeof (m as { name?: unknown }).name === 'string' &&
  typeof (m as { port?: unknown }).port === 'number';

/** How long a command waits for its answer unless told (ms). */
export const IPC_COMMAND_TIMEOUT_MS = 30_000;

/**
 * The first message of `proc` that `accept` takes (its `ready`, say), within `ms`; rejects at
 * once if the process exits first.
 */
export function ipcMessage<T>(
  proc: ChildProcess,
  accept: (message: unknown) => message is T,
  what: string,
  ms = 20_000,
): Promise<T> {
  let off = (): void => undefined;
  const seen = new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (!accept(m)) return;
      off();
      resolve(m);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      off();
      reject(new Error(`${what}: the process exited (${signal ?? String(code)}) first`));
    };
    off = () => {
      proc.off('message', onMessage);
      proc.off('exit', onExit);
    };
    proc.on('message', onMessage);
    proc.once('exit', onExit);
  });
  return within(seen, what, ms).finally(off);
}

/**
 * The commands a test sends one child process, matched with their answers by `id`.
 * Lifecycle: made once the child runs; every command still waiting fails when the child exits,
 * and a command sent after that fails at once. {@link exited} settles with the exit.
 */
export class IpcCommands<A extends IpcAnswer = IpcAnswer & Record<string, unknown>> {
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (a: A) => void; reject: (e: Error) => void }>();
  #gone: string | null = null;
  /** Settles when the child has exited. */
  readonly exited: Promise<void>;

  constructor(
    readonly proc: ChildProcess,
    /** Names the child in errors (`n1@localhost stop: …`). */
    public label: string,
  ) {
    proc.on('message', (m: unknown) => {
      if (!isAnswer(m)) return;
      const w = this.#waiting.get(m.id);
      if (w === undefined) return;
      this.#waiting.delete(m.id);
      w.resolve(m as A);
    });
    this.exited = new Promise((resolve) => {
      const gone = (code: number | null, signal: string | null): void => {
        this.#gone = `${this.label} exited (${signal ?? String(code)})`;
        for (const w of this.#waiting.values()) w.reject(new Error(this.#gone));
        this.#waiting.clear();
        resolve();
      };
      if (proc.exitCode !== null || proc.signalCode !== null) gone(proc.exitCode, proc.signalCode);
      else proc.once('exit', gone);
    });
  }

  /** True while the child runs. */
  get running(): boolean {
    return this.#gone === null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Sends `{ id, cmd, ...fields }` and resolves the child's answer with that id; rejects if the
   * child is not running, exits first, or does not answer within `ms`.
   */
  ask(cmd: string, fields: Record<string, unknown> = {}, ms = IPC_COMMAND_TIMEOUT_MS): Promise<A> {
    if (!this.running) return Promise.reject(new Error(this.#gone ?? `${this.label} is not running`));
    const id = this.#next++;
    const answered = new Promise<A>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.proc.send({ id, cmd, ...fields });
    });
    return within(answered, `${this.label} ${cmd}`, ms).finally(() => this.#waiting.delete(id));
  }

  /**
   * {@link ask} for children that answer `{ id, ok: value }` or `{ id, err: message, code? }`:
   * resolves the value, rejects with the child's error (its `code` kept).
   */
  async value(cmd: string, fields: Record<string, unknown> = {}, ms = IPC_COMMAND_TIMEOUT_MS): Promise<unknown> {
    const a = (await this.ask(cmd, fields, ms)) as IpcAnswer & { ok?: unknown; err?: string; code?: string };
    if (a.err !== undefined) throw Object.assign(new Error(a.err), a.code === undefined ? {} : { code: a.code });
    return a.ok;
  }
}

// The one way the test hosts run `ip`, `nft` and `tc`: an argv (never a shell line), optional
// standard input (an `ip -batch` or `nft -f` script), and on failure an error that names the
// command, its exit status and what it printed. The synchronous twin serves the exit handler,
// where nothing asynchronous runs any more.

import { execFile, spawnSync } from 'node:child_process';

/** The stable `code`s of the errors the test hosts throw. */
export type TestHostsErrorCode =
  /** A bad argument: an unknown host, a share outside 0..100, a negative delay, a bad rate. */
  | 'ERR_TESTHOSTS_BAD_ARG'
  /** The machine cannot run test hosts (no root, no `ip`/`nft`/`tc`, a kernel feature missing). */
  | 'ERR_TESTHOSTS_UNAVAILABLE'
  /** An `ip`, `nft`, `tc` or `host.exec` command failed; the message has its stderr. */
  | 'ERR_TESTHOSTS_COMMAND'
  /** The harness was disposed; nothing more can be done with it or its hosts. */
  | 'ERR_TESTHOSTS_DISPOSED'
  /** No free test subnet (all 256 of 10.200.0.0/16 held by live harnesses). */
  | 'ERR_TESTHOSTS_NO_SUBNET'
  /** The delay relay failed to start, answered with an error, or exited. */
  | 'ERR_TESTHOSTS_RELAY';

/** Every error of the test hosts: a message that says what failed and a stable `code`. */
export class TestHostsError extends Error {
  constructor(
    readonly code: TestHostsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TestHostsError';
  }
}

/** What a finished command printed. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Written to the command's standard input, then closed. */
  input?: string;
  /** Kill the command after this many ms (a hang guard; default 30 s). */
  timeout?: number;
}

/** Runs `cmd args` to its end; rejects with `ERR_TESTHOSTS_COMMAND` unless it exits with 0. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: opts.timeout ?? 30_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err === null) resolve({ stdout, stderr });
        else reject(commandError(cmd, args, err.code ?? err.signal ?? 'error', stderr, opts.input));
      },
    );
    // A command that exits before reading its input must not turn EPIPE into an uncaught error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

/** {@link run} for the exit handler: synchronous; returns the failure instead of throwing. */
export function runSync(cmd: string, args: readonly string[], input?: string): CommandOutput & { ok: boolean } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: input ?? '', timeout: 10_000 });
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/**
 * Runs every step in order even when one fails (a heal must undo all it can), then rejects with
 * the first failure, if any.
 */
export async function allSteps(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  let first: unknown;
  let failed = false;
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      if (!failed) first = e;
      failed = true;
    }
  }
  if (failed) throw first;
}

function commandError(
  cmd: string,
  args: readonly string[],
  status: number | string,
  stderr: string,
  input: string | undefined,
): TestHostsError {
  const script = input === undefined || input === '' ? '' : `\ninput:\n${input.trimEnd()}`;
  return new TestHostsError(
    'ERR_TESTHOSTS_COMMAND',
    `\`${[cmd, ...args].join(' ')}\` failed (${status}): ${stderr.trim() || '(no output)'}${script}`,
  );
}

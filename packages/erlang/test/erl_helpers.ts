// Running a real Erlang/OTP from tests: finding erl/erlc/epmd, compiling the test's Erlang
// modules, one-shot evaluations, and long-running nodes that announce readiness on stdout.
// Without Erlang installed the tests skip with a printed reason; under CI=true they fail.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { eventually, serverPort } from '@ergo-ts/test-support';

/** Folder of the Erlang sources of the tests (test/erl, next to the TypeScript sources). */
export const ERL_SRC = fileURLToPath(new URL('../../test/erl/', import.meta.url));

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : undefined;
}

const TOOLS = { erl: which('erl'), erlc: which('erlc'), epmd: which('epmd') };

/**
 * Why the test cannot run (`tools` missing), or undefined. Under CI=true a missing tool throws
 * instead: CI must have every peer.
 */
export function missingTool(...tools: (keyof typeof TOOLS)[]): string | undefined {
  const missing = tools.filter((t) => TOOLS[t] === undefined);
  if (missing.length === 0) return undefined;
  const why = `${missing.join(', ')} not installed (Debian: apt-get install erlang-base)`;
  if (process.env['CI'] === 'true') throw new Error(`${why}; CI must have it`);
  console.log(`# skipped: ${why}`);
  return why;
}

/** Whether `tool` is installed; if not, marks the test skipped with the reason (throws under CI=true). */
export function haveTool(t: TestContext, tool: keyof typeof TOOLS): boolean {
  const why = missingTool(tool);
  if (why === undefined) return true;
  t.skip(why);
  return false;
}

/** A temporary folder removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles test/erl/<module>.erl into `outDir`. */
export function compileErl(outDir: string, ...modules: string[]): void {
  const r = spawnSync('erlc', ['-o', outDir, ...modules.map((m) => join(ERL_SRC, `${m}.erl`))], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`erlc failed: ${r.stdout}${r.stderr}`);
}

/** Runs `erl -noshell -pa <paths> -eval <expr>` to completion and returns its stdout. */
export function evalErl(
  expr: string,
  options: { pa?: string[]; args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ['-noshell', ...(options.pa ?? []).flatMap((p) => ['-pa', p]), ...(options.args ?? []), '-eval', expr];
    const p = spawn('erl', args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => p.kill('SIGKILL'), options.timeoutMs ?? 30000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      const text = Buffer.concat(out).toString('utf8');
      if (code !== 0)
        reject(
          new Error(`erl exited with ${code}: ${text.slice(-2000)}${Buffer.concat(err).toString('utf8').slice(-2000)}`),
        );
      else resolve(text);
    });
  });
}

/** A long-running OS process whose stdout is read line by line. */
export class LineProcess {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  #partial = '';
  #waiters: { re: RegExp; from: number; resolve(line: string): void; reject(e: Error): void }[] = [];
  #exited: string | undefined;
  #exitPromise: Promise<void>;

  constructor(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
    this.proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const onData = (b: Buffer): void => {
      const parts = (this.#partial + b.toString('utf8')).split('\n');
      this.#partial = parts.pop()!;
      for (const l of parts) this.#line(l.replace(/\r$/, ''));
    };
    this.proc.stdout!.on('data', onData);
    this.proc.stderr!.on('data', onData);
    this.#exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.#exited = `exited (code ${code}, signal ${signal})`;
        for (const w of this.#waiters.splice(0))
          w.reject(new Error(`${cmd} ${this.#exited} before printing ${w.re}; output:\n${this.lines.join('\n')}`));
        resolve();
      });
      this.proc.on('error', (e) => {
        this.#exited = `failed: ${e.message}`;
        resolve();
      });
    });
  }

  #line(l: string): void {
    this.lines.push(l);
    if (process.env['ERL_TEST_DEBUG']) console.log(`[${this.proc.pid}] ${l}`);
    const idx = this.lines.length - 1;
    for (let i = 0; i < this.#waiters.length; i++) {
      const w = this.#waiters[i]!;
      if (idx >= w.from && w.re.test(l)) {
        this.#waiters.splice(i--, 1);
        w.resolve(l);
      }
    }
  }

  /** Resolves with the first line (from line index `from`) matching `re`; rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs = 20000, from = 0): Promise<string> {
    for (let i = from; i < this.lines.length; i++) if (re.test(this.lines[i]!)) return Promise.resolve(this.lines[i]!);
    if (this.#exited !== undefined)
      return Promise.reject(
        new Error(`process ${this.#exited} before printing ${re}; output:\n${this.lines.join('\n')}`),
      );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.re !== re);
        reject(new Error(`timed out waiting for ${re}; output:\n${this.lines.join('\n')}`));
      }, timeoutMs);
      timer.unref();
      this.#waiters.push({
        re,
        from,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Writes a line to stdin. */
  send(line: string): void {
    this.proc.stdin!.write(line + '\n');
  }

  get exited(): boolean {
    return this.#exited !== undefined;
  }

  /** Kills the process (SIGKILL) and waits for its exit. Idempotent. */
  async kill(): Promise<void> {
    if (this.#exited === undefined) this.proc.kill('SIGKILL');
    await this.#exitPromise;
  }
}

/**
 * Starts `erl` with `args` and an `-eval` that must print `ready` when the node is up; resolves
 * once that line is seen. The caller kills it (`after`/`finally`).
 */
export async function startErl(
  args: string[],
  evalExpr: string,
  env?: NodeJS.ProcessEnv,
  pa: string[] = [],
): Promise<LineProcess> {
  const p = new LineProcess('erl', ['-noshell', ...pa.flatMap((d) => ['-pa', d]), ...args, '-eval', evalExpr], env);
  try {
    await p.waitFor(/^ready\b/, 30000);
  } catch (e) {
    await p.kill();
    throw e;
  }
  return p;
}

/** Starts the real `epmd` in the foreground on a free loopback port; kill it when done. */
export async function startEpmd(): Promise<{ port: number; proc: LineProcess }> {
  for (let attempt = 0; ; attempt++) {
    const port = await serverPort();
    // -d makes epmd print "epmd running" once it listens
    const proc = new LineProcess('epmd', ['-port', String(port), '-address', '127.0.0.1', '-d'], {
      ERL_EPMD_PORT: String(port),
    });
    try {
      await proc.waitFor(/epmd running/, 10000);
      // the line comes just before epmd listens; nothing signals the listen itself
      if (!(await waitPortOpen(port, 5000))) throw new Error(`epmd is not listening on ${port}`);
      return { port, proc };
    } catch (e) {
      await proc.kill();
      if (attempt >= 3) throw e;
    }
  }
}

/** Polls until something accepts TCP connections on 127.0.0.1:port (for daemons that print nothing once listening). */
export function waitPortOpen(port: number, timeoutMs: number): Promise<boolean> {
  const accepts = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  return eventually(accepts, `127.0.0.1:${port} to accept`, { timeoutMs, intervalMs: 20 }).then(
    () => true,
    () => false,
  );
}

export type { ChildProcess };

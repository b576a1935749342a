// Running a child (node or erl) and splitting its stdout into protocol lines and pass-through text.

import { spawn } from 'node:child_process';

export interface ChildResult {
  /** Exit code (null when killed). */
  code: number | null;
  /** True when the child was killed for exceeding its time limit. */
  timedOut: boolean;
  /** Protocol lines (those starting with one of the prefixes), prefix included. */
  lines: string[];
  /** Everything written to stderr. */
  stderr: string;
  ms: number;
}

/**
 * Runs `cmd args`, hands every stdout line starting with one of `prefixes` to `onLine` (as it
 * arrives) and echoes the other lines through `echo`. Kills the child after `timeoutMs`. `env`
 * defaults to this process' environment.
 */
export function runChild(
  cmd: string,
  args: string[],
  prefixes: string[],
  timeoutMs: number,
  onLine: (line: string) => void,
  echo: (line: string) => void,
  cwd?: string,
  env?: NodeJS.ProcessEnv,
): Promise<ChildResult> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, env });
    const lines: string[] = [];
    let stderr = '';
    let pending = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const take = (line: string): void => {
      if (prefixes.some((p) => line.startsWith(p))) {
        lines.push(line);
        onLine(line);
      } else if (line.trim() !== '') echo(line);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let i: number;
      while ((i = pending.indexOf('\n')) >= 0) {
        take(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    let finished = false;
    const finish = (code: number | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (pending !== '') take(pending);
      pending = '';
      resolve({ code, timedOut, lines, stderr, ms: performance.now() - t0 });
    };
    child.on('error', (e) => {
      stderr += String(e);
      finish(-1);
    });
    child.on('close', (code) => finish(code));
  });
}

// The real Saturn server (ergo-services/tools `saturn/`, Business Source License 1.1: test use
// only) and the Go Ergo node of test/go-node, both built by scripts/build-saturn.mjs from
// upstream sources into a cache outside the repository. When they are absent the tests that need
// them skip with the reason — also under CI=true: CI has no way to fetch the upstream sources
// (the one agreed exception to "a missing peer fails under CI").

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { eventually, serverPort } from '@ergo-ts/test-support';

const BIN = join(homedir(), '.cache', 'ergo-ts', 'saturn', 'bin');
export const SATURN = process.env.SATURN_BIN ?? join(BIN, 'saturn');
export const GO_NODE = process.env.SATURN_GO_NODE ?? join(BIN, 'saturn-go-node');

/** Why the real-server tests cannot run here, or null. */
export function saturnMissing(): string | null {
  if (existsSync(SATURN)) return null;
  return `the Saturn server ${SATURN} is not built (run \`node scripts/build-saturn.mjs\`: it needs the upstream sources and Go >= 1.21; see docs/saturn.md)`;
}

/** Why the mixed Go/TS tests cannot run here, or null. */
export function goNodeMissing(): string | null {
  return (
    saturnMissing() ??
    (existsSync(GO_NODE) ? null : `the Go Ergo node ${GO_NODE} is not built (scripts/build-saturn.mjs)`)
  );
}

/** A running Saturn server. */
export interface Saturn {
  port: number;
  token: string;
  dir: string;
  proc: ChildProcess;
  /** Everything it printed (for failure messages). */
  output: string[];
}

function yaml(token: string, clusters: string): string {
  return `Saturn:\n  Token: "${token}"\nClusters:\n${clusters.replace(/^/gm, '  ')}\n`;
}

/**
 * Starts a Saturn server on a free port of 127.0.0.1 with `token` and the `Clusters:` body
 * `clusters` (YAML, indented under `Clusters:` for you); resolves once it listens.
 */
export async function startSaturn(
  token: string,
  clusters = 'Nothing: 0',
  port?: number,
  dir?: string,
): Promise<Saturn> {
  dir ??= mkdtempSync(join(tmpdir(), 'ergo-saturn-'));
  writeFileSync(join(dir, 'saturn.yaml'), yaml(token, clusters));
  for (let attempt = 0; ; attempt++) {
    const p = port ?? (await serverPort());
    const proc = spawn(SATURN, ['-path', dir, '-host', '127.0.0.1', '-port', String(p)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    let listening = false;
    let exited = false;
    const collect = (s: NodeJS.ReadableStream): void => {
      createInterface({ input: s }).on('line', (l) => {
        const line = l.replace(/\x1b\[[0-9;]*m/g, '');
        output.push(line);
        if (line.includes('started registrar server')) listening = true;
      });
    };
    collect(proc.stdout!);
    collect(proc.stderr!);
    proc.once('exit', () => (exited = true));
    await eventually(() => listening || exited || undefined, 'the Saturn server to listen', { timeoutMs: 60_000 });
    if (listening) return { port: p, token, dir, proc, output };
    if (attempt >= 3 || port !== undefined) throw new Error(`the Saturn server did not start:\n${output.join('\n')}`);
  }
}

/**
 * Rewrites the server's `Clusters:` config and changes the file's mode: the server re-reads
 * saturn.yaml on a chmod (fsnotify Chmod) and pushes changed items to the nodes concerned.
 */
export function setClusters(s: Saturn, clusters: string): void {
  const file = join(s.dir, 'saturn.yaml');
  writeFileSync(file, yaml(s.token, clusters));
  chmodSync(file, 0o600);
  chmodSync(file, 0o644);
}

/** Stops the server (SIGKILL: a crash, or a stop; the tests need only that it is gone). */
export async function stopSaturn(s: Saturn, keepDir = false): Promise<void> {
  if (s.proc.exitCode === null && s.proc.signalCode === null) {
    const gone = new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGKILL');
    await gone;
  }
  if (!keepDir) rmSync(s.dir, { recursive: true, force: true });
}

/** A line the Go node printed. */
export type GoLine = Record<string, unknown>;

/** A Go Ergo node (test/go-node) registered on a Saturn server, driven by stdin lines. */
export class GoNode {
  readonly lines: GoLine[] = [];
  readonly proc: ChildProcess;
  readonly stderr: string[] = [];

  constructor(name: string, s: Saturn, cluster: string) {
    this.proc = spawn(
      GO_NODE,
      ['-name', name, '-host', '127.0.0.1', '-port', String(s.port), '-token', s.token, '-cluster', cluster],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.proc.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as GoLine);
      } catch {
        this.lines.push({ raw: l });
      }
    });
    createInterface({ input: this.proc.stderr! }).on('line', (l) => this.stderr.push(l));
  }

  /** The first line (after `from`) matching `pred`, waited for. */
  async waitFor(pred: (l: GoLine) => boolean, what: string, from = 0): Promise<GoLine> {
    return eventually(
      () => this.lines.slice(from).find(pred),
      `the Go node to print ${what} (printed: ${JSON.stringify(this.lines)}; stderr: ${this.stderr.join(' | ')})`,
      { timeoutMs: 60_000 },
    );
  }

  /** Sends a command; resolves to its answer line (`key` names it). */
  async cmd(line: string, key: string, value: string): Promise<GoLine> {
    const from = this.lines.length;
    this.proc.stdin!.write(`${line}\n`);
    return this.waitFor((l) => l[key] === value, `the answer to ${line}`, from);
  }

  /** Stops the node (closing stdin stops it) and waits for the process to end. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin!.end();
    await gone;
  }
}

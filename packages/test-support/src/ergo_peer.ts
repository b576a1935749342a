// Test helper: a real Go Ergo 3.2 node (`ergo-peer`, driven by JSON lines; see its README in
// shared/peers/ergo-peer). Found through ERGO_PEER or the path beside the repository (the
// default path below is relative to this file's build output, dist/src/); `peerBinary()` says why
// it is absent so tests can skip (and fail under CI=true).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';

export type Line = Record<string, unknown> & { kind: string };

/** The ergo-peer binary, or the reason it cannot be used. */
export function peerBinary(): { path: string } | { missing: string } {
  const path =
    process.env.ERGO_PEER ?? fileURLToPath(new URL('../../../../../shared/peers/ergo-peer/ergo-peer', import.meta.url));
  try {
    accessSync(path, constants.X_OK);
    return { path };
  } catch {
    // The default path is outside the repository: name it only when ERGO_PEER was set.
    return {
      missing:
        process.env.ERGO_PEER === undefined
          ? PEER_MISSING
          : `ergo-peer not found at ERGO_PEER=${process.env.ERGO_PEER}`,
    };
  }
}

/** The short skip reason of every Go-peer test (the run's one-line note says how to get it). */
export const PEER_MISSING = 'needs the Go Ergo peer (set ERGO_PEER)';

/**
 * The one line `npm test` prints before the run when the peer is absent (peer_note.ts): what is
 * skipped and how to get the peer.
 */
export const PEER_NOTE =
  '# Go Ergo interop tests skipped: they need `ergo-peer`, a Go Ergo 3.2 node driven by JSON lines that is not part ' +
  'of this repository; set ERGO_PEER=/path/to/ergo-peer to run them (docs/testing.md, "Tests against Go Ergo").';

/** Skips `t` with the reason (fails under CI=true) when the binary is absent; else its path. */
export function requirePeer(t: { skip(msg: string): void }): string | undefined {
  const b = peerBinary();
  if ('path' in b) return b.path;
  if (process.env.CI === 'true') throw new Error(`${b.missing}: required under CI`);
  t.skip(b.missing);
  return undefined;
}

/** One running ergo-peer process. */
export class Peer {
  readonly lines: Line[] = [];
  stderr = '';
  ready!: Line;
  exitCode: number | string | undefined;
  readonly exited: Promise<number | string>;
  #waiters: (() => void)[] = [];
  #nextId = 1;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? signal ?? 'exit';
        this.#wake();
        resolve(this.exitCode);
      });
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-(1 << 19));
    });
    readline.createInterface({ input: child.stdout }).on('line', (text) => {
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        line = { kind: 'unparsed', text };
      }
      this.lines.push(line);
      this.#wake();
    });
  }

  /** Starts the peer and waits for its `ready` line. */
  static async start(bin: string, args: string[], timeout = 10000): Promise<Peer> {
    const p = new Peer(spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const first = await p.waitFor((l) => l.kind === 'ready' || l.kind === 'fatal', { since: 0, timeout });
    if (first.kind !== 'ready') {
      p.kill();
      throw new Error(`ergo-peer failed to start: ${String(first.error)}`);
    }
    p.ready = first;
    return p;
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  mark(): number {
    return this.lines.length;
  }

  /** The first line from `since` on that matches. */
  waitFor(pred: (l: Line) => boolean, { since = this.mark(), timeout = 5000 } = {}): Promise<Line> {
    return new Promise((resolve, reject) => {
      let i = since;
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== check);
      };
      const check = (): void => {
        for (; i < this.lines.length; i++) {
          if (pred(this.lines[i]!)) {
            done();
            resolve(this.lines[i]!);
            return;
          }
        }
        if (this.exitCode !== undefined) {
          done();
          reject(new Error(`ergo-peer exited (${this.exitCode}) while waiting; stderr: ${this.stderr.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`ergo-peer: no matching line within ${timeout} ms; stderr: ${this.stderr.slice(-2000)}`));
      }, timeout);
      this.#waiters.push(check);
      check();
    });
  }

  /** Runs one command; resolves with its `result` or `error` line. */
  cmd(cmd: string, fields: Record<string, unknown> = {}, timeout = 15000): Promise<Line> {
    const id = this.#nextId++;
    const since = this.mark();
    this.child.stdin.write(JSON.stringify({ cmd, id, ...fields }) + '\n');
    return this.waitFor((l) => l.id === id && (l.kind === 'result' || l.kind === 'error'), { since, timeout });
  }

  /** Stops gracefully (SIGKILL after `timeout`). */
  async stop(timeout = 10000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.child.stdin.write(JSON.stringify({ cmd: 'stop' }) + '\n');
    const timer = setTimeout(() => this.kill(), timeout);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }
}

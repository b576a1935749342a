// The parent side of server_child.ts: starts it, reads its first line (the MCP URL), sends it
// commands and reads their answers, and tells whether it is still running (and how it ended).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./server_child.js', import.meta.url));

/** A node with a read-only MCP server in its own OS process. */
export class ServerChild {
  /** The MCP endpoint. */
  url = '';
  /** The child node's name. */
  node = '';
  /** Its stderr so far (an uncaught error's stack lands there). */
  stderr = '';
  /** How it ended (exit code or signal), undefined while it runs. */
  ended: number | string | undefined;
  readonly exited: Promise<number | string>;
  #lines: string[] = [];
  #waiters: (() => void)[] = [];

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.ended = code ?? signal ?? 'exit';
        this.#wake();
        resolve(this.ended);
      }),
    );
    child.stderr.on('data', (b: Buffer) => (this.stderr += b.toString()));
    createInterface({ input: child.stdout }).on('line', (l) => {
      this.#lines.push(l);
      this.#wake();
    });
  }

  /** Starts the child (`args`: `--actions`, `--timeout=S`) and waits for its URL. */
  static async start(args: string[] = []): Promise<ServerChild> {
    const c = new ServerChild(spawn(process.execPath, [CHILD, ...args], { stdio: 'pipe' }));
    const first = (await c.#next()) as { url: string; node: string };
    c.url = first.url;
    c.node = first.node;
    return c;
  }

  /** Whether the child still runs. */
  get alive(): boolean {
    return this.ended === undefined;
  }

  /** Sends one command and resolves with its answer. */
  async cmd(command: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(command + '\n');
    return (await this.#next()) as Record<string, unknown>;
  }

  /** Ends the child (stdin `stop`), waiting for it. */
  async stop(): Promise<void> {
    if (this.alive) {
      this.child.stdin.write('stop\n');
      this.child.stdin.end();
    }
    await this.exited;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  async #next(): Promise<unknown> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return JSON.parse(line);
      if (!this.alive) throw new Error(`the MCP node's process ended (${String(this.ended)}): ${this.stderr}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

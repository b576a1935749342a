// The test side of hosts_agent.ts: starts an agent inside a test host and waits for its events.

import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Host } from '../src/index.js';

/** One event line of an agent. */
export type AgentEvent = Record<string, unknown> & { ev: string; at: number };

/** A traffic agent running inside a test host. */
export class Agent {
  readonly events: AgentEvent[] = [];
  #waiters = new Set<() => void>();
  #exit: string | undefined;
  #stderr = '';

  private constructor(
    readonly host: Host,
    readonly child: ChildProcess,
  ) {
    child.on('exit', (code, signal) => {
      this.#exit = `agent on ${host} exited (${code ?? signal}); stderr: ${this.#stderr}`;
      this.#wake();
    });
    child.stdin!.on('error', () => {});
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => (this.#stderr = (this.#stderr + d).slice(-4000)));
    readline.createInterface({ input: child.stdout! }).on('line', (t) => {
      this.events.push(JSON.parse(t) as AgentEvent);
      this.#wake();
    });
  }

  /** Starts an agent in `host` and waits until it is ready; it is killed after the test `t`. */
  static async start(host: Host, t: { after(fn: () => void): void }): Promise<Agent> {
    const main = fileURLToPath(new URL('./hosts_agent.js', import.meta.url));
    const a = new Agent(host, host.spawn(process.execPath, [main], { stdio: 'pipe' }));
    t.after(() => a.child.kill('SIGKILL'));
    await a.next('ready');
    return a;
  }

  /** Sends a command. */
  send(cmd: string, fields: Record<string, unknown> = {}): void {
    this.child.stdin!.write(JSON.stringify({ cmd, ...fields }) + '\n');
  }

  /** The index the next event will have (for `since`). */
  mark(): number {
    return this.events.length;
  }

  /** The first event from `since` on with this `ev` that `pred` accepts; 20 s hang guard. */
  wait(ev: string, pred: (e: AgentEvent) => boolean = () => true, since = 0, timeout = 20_000): Promise<AgentEvent> {
    return new Promise((resolve, reject) => {
      let i = since;
      const check = (): void => {
        for (; i < this.events.length; i++) {
          const e = this.events[i]!;
          if (e.ev === ev && pred(e)) {
            done();
            return resolve(e);
          }
        }
        if (this.#exit !== undefined) {
          done();
          reject(new Error(`${this.#exit} while waiting for ${ev}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `agent on ${this.host}: no ${ev} within ${timeout} ms; events: ${JSON.stringify(this.events.slice(-10))}`,
          ),
        );
      }, timeout);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The next `ev` event after now. */
  next(ev: string, pred?: (e: AgentEvent) => boolean): Promise<AgentEvent> {
    return this.wait(ev, pred, this.mark());
  }

  /** Sends a command and waits for the answer event `ev`. */
  ask(cmd: string, fields: Record<string, unknown>, ev: string): Promise<AgentEvent> {
    const since = this.mark();
    this.send(cmd, fields);
    return this.wait(ev, undefined, since);
  }

  /** The events of one kind so far. */
  all(ev: string): AgentEvent[] {
    return this.events.filter((e) => e.ev === ev);
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** Polls `probe` until it returns something other than undefined (a condition without an event). */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, timeout = 20_000): Promise<T> {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Drivers of the back-pressure and heartbeat suites: an ergo-ts node in its own OS process
// (linkflow_node.ts) driven over IPC, started here or inside a test host, whose node notices
// are collected so a test waits for them; and the flood a sender runs against a slow peer.

import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Host } from '@ergo-ts/test-support';
import { ErgoError, type Node, type ProcessID } from '../src/index.js';
import { IpcCommands, ipcMessage, isStarted } from '@ergo-ts/test-support';
import { within } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./linkflow_node.js', import.meta.url));

/** An answer of the fixture. */
export type Reply = { id: number; ok: boolean; value?: unknown; code?: string; message?: string };
/** A node notice the fixture reported. */
export type Notice = { kind: 'up' | 'down'; node: string; reason?: string };

/** A linkflow_node.ts process. */
export class LfNode {
  readonly #commands: IpcCommands<Reply>;
  readonly notices: Notice[] = [];
  readonly #watchers: (() => void)[] = [];

  private constructor(
    readonly proc: ChildProcess,
    readonly name: string,
    readonly port: number,
  ) {
    this.#commands = new IpcCommands<Reply>(proc, name);
    proc.on('message', (m: Reply | Notice) => {
      if (!('kind' in m)) return;
      this.notices.push(m);
      for (const w of [...this.#watchers]) w();
    });
  }

  /** Forks the fixture on this host (127.0.0.1), or inside test host `host`. */
  static async start(label: string, env: Record<string, string>, host?: Host): Promise<LfNode> {
    const vars = { ...process.env, LF_NAME: label, ...env };
    const proc =
      host === undefined
        ? fork(FIXTURE, [], { env: vars, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
        : host.spawn(process.execPath, [FIXTURE], {
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            env: { ...vars, LF_HOST: host.address },
          });
    const ready = await ipcMessage(proc, isStarted, `${label} ready`);
    return new LfNode(proc, ready.name, ready.port);
  }

  ask(cmd: string, fields: Record<string, unknown> = {}): Promise<Reply> {
    return this.#commands.ask(cmd, fields);
  }

  /** A static route from this node to `other`, at `host`. */
  async route(other: LfNode, host = '127.0.0.1'): Promise<void> {
    const r = await this.ask('route', { match: `^${other.name.replace(/[.$]/g, '\\$&')}$`, host, port: other.port });
    if (!r.ok) throw new Error(`route: ${r.message}`);
  }

  /** The first notice that matches, waited for (hang guard `ms`). */
  notice(pred: (n: Notice) => boolean, what: string, ms = 30_000): Promise<Notice> {
    return within(
      new Promise<Notice>((resolve) => {
        const check = (): void => {
          const n = this.notices.find(pred);
          if (n === undefined) return;
          this.#watchers.splice(this.#watchers.indexOf(check), 1);
          resolve(n);
        };
        this.#watchers.push(check);
        check();
      }),
      `${this.name}: ${what}`,
      ms,
    );
  }

  /** Stops the node (kills it if it does not answer). */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.kill('SIGCONT');
    await this.ask('stop').catch(() => this.proc.kill('SIGKILL'));
    await exited;
  }
}

/** What a flood of a slow peer gave. */
export interface FloodResult {
  accepted: number;
  refused: number;
  /** The largest `queuedBytes` the connection reported after any send. */
  maxQueued: number;
  /** The first refusal. */
  firstRefusal: ErgoError | undefined;
  /** Growth of the sender's resident set over the flood, in bytes (for the report). */
  rssGrowth: number;
}

/**
 * Sends `attempts` messages of `size` bytes from `node` to `to` (on `peer`), 50 per event-loop
 * turn, counting what the connection accepts and what it refuses with ERR_PEER_BUSY (any other
 * error fails). The connection's queue is read after every send.
 */
export async function flood(
  node: Node,
  peer: string,
  to: ProcessID,
  attempts: number,
  size: number,
): Promise<FloodResult> {
  const remote = await node.network().getNode(peer);
  const payload = new Uint8Array(size).fill(7);
  const rss0 = process.memoryUsage.rss();
  const r: FloodResult = { accepted: 0, refused: 0, maxQueued: 0, firstRefusal: undefined, rssGrowth: 0 };
  for (let n = 0; n < attempts; n += 50) {
    for (let i = 0; i < 50; i++) {
      try {
        node.send(to, payload);
        r.accepted++;
      } catch (e) {
        if (!(e instanceof ErgoError) || e.code !== 'ERR_PEER_BUSY') throw e;
        r.refused++;
        r.firstRefusal ??= e;
      }
      r.maxQueued = Math.max(r.maxQueued, remote.info().queuedBytes ?? Infinity);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  r.rssGrowth = process.memoryUsage.rss() - rss0;
  return r;
}

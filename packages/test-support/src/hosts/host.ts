// One test host: a network namespace with loopback and one interface (eth0) on the harness's
// bridge, with its own address. Commands run inside it through `ip netns exec`, which enters the
// namespace and then execs the command itself, so the ChildProcess's pid is the command's own
// (signals reach it directly).

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { run, TestHostsError, type CommandOutput, type RunOptions } from './commands.js';

/** One host of a {@link TestHosts} harness. */
export class Host {
  readonly #children = new Set<ChildProcess>();
  readonly #alive: () => void;

  /** @internal Made by the harness. */
  constructor(
    /** Position in the harness (0-based). */
    readonly index: number,
    /** The name the test gave it (`h0`, `h1` ... by default). */
    readonly name: string,
    /** The network namespace (`ergoth-<pid>-<n>-<name>`). */
    readonly namespace: string,
    /** Its address on the test subnet (10.200.X.(index+1)). */
    readonly address: string,
    alive: () => void,
  ) {
    this.#alive = alive;
  }

  /**
   * Starts `cmd args` inside the host (`ip netns exec`); options as for `child_process.spawn`
   * (stdio, env, cwd; an `ipc` channel works too). The harness kills it on dispose if it still
   * runs; a test that wants a clean stop stops it itself first.
   */
  spawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    this.#alive();
    const child = spawn('ip', ['netns', 'exec', this.namespace, cmd, ...args], opts);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /**
   * Runs `cmd args` inside the host to its end; resolves with what it printed, rejects with
   * `ERR_TESTHOSTS_COMMAND` (its stderr in the message) unless it exits with 0.
   */
  exec(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<CommandOutput> {
    this.#alive();
    return run('ip', ['netns', 'exec', this.namespace, cmd, ...args], opts);
  }

  /** The processes {@link spawn} started that have not exited yet. */
  children(): ChildProcess[] {
    return [...this.#children];
  }

  /** @internal SIGKILL to the children still running (dispose; `ip netns pids` gets the rest). */
  killChildren(): void {
    for (const c of this.#children) c.kill('SIGKILL');
  }

  toString(): string {
    return `${this.name} (${this.address})`;
  }
}

/** A host given by itself, its name or its index; `ERR_TESTHOSTS_BAD_ARG` if there is no such host. */
export type HostRef = Host | string | number;

/** Finds a host of `hosts` by {@link HostRef}. */
export function resolveHost(hosts: readonly Host[], ref: HostRef): Host {
  const h =
    ref instanceof Host
      ? hosts.find((x) => x === ref)
      : typeof ref === 'number'
        ? hosts[ref]
        : hosts.find((x) => x.name === ref);
  if (h === undefined)
    throw new TestHostsError(
      'ERR_TESTHOSTS_BAD_ARG',
      `no such host ${ref instanceof Host ? `${ref} (of another harness)` : JSON.stringify(ref)}; hosts: ${hosts.map((x) => x.name).join(', ')}`,
    );
  return h;
}

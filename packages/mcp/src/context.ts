// What every tool works with: the node the MCP server runs on, its options, the log rings, and
// what it learnt about the nodes it asked (which framework runs there: a Go Ergo 3.2 node does not
// answer ergo-ts's newer queries, so those are not sent to it).

import {
  MessageInspectNode,
  TerminateReasonShutdown,
  RequestInspectNode,
  type Atom,
  type Node,
  type PID,
} from 'ergo-ts';

import { detach } from './detach.js';
import { runClose } from './closing.js';
import { McpToolError } from './errors.js';
import { DEFAULT_INSPECT_TIMEOUT, reach, snapshot, type Target } from './inspect.js';
import { DEFAULT_LOG_RING, LogRing, REMOTE_RING_IDLE } from './logring.js';

/**
 * Shared state of one MCP server: the node, whether actions run, the log rings, and what it
 * learnt of the nodes it asked. `timeout` is in milliseconds (default 5000).
 */
export class ToolContext {
  /** Framework name by node name (`ergo-ts`, `Ergo Framework`...), learnt from node info. */
  readonly #frameworks = new Map<string, string>();
  /** Tool calls running now. */
  running = 0;
  /** The log ring of each node asked, by node name. */
  readonly #rings = new Map<string, Promise<PID>>();

  /** Whether the action tools run (`actions` option). */
  readonly actions: boolean;
  /** Records each log ring keeps. */
  readonly logRing: number;
  /** Default milliseconds of one question. */
  readonly timeout: number;

  constructor(
    readonly node: Node,
    options: { actions?: boolean; logRing?: number; timeout?: number } = {},
  ) {
    this.actions = options.actions === true;
    this.logRing = options.logRing ?? DEFAULT_LOG_RING;
    this.timeout = options.timeout ?? DEFAULT_INSPECT_TIMEOUT;
  }

  /** The node `name` names (this one when absent), connected to when needed within `timeout` ms (8 s at most). */
  reach(name: string | undefined, timeout?: number): Promise<Target> {
    return reach(this.node, name, timeout);
  }

  /** Remembers the framework a node reported (node_info does, so later tools need not ask). */
  noteFramework(node: Atom, framework: string): void {
    this.#frameworks.set(node, framework);
  }

  /** Whether `target` runs ergo-ts (asked once per node through its node info). */
  async isErgoTS(target: Target, timeout: number): Promise<boolean> {
    if (target.local) return true;
    let f = this.#frameworks.get(target.node);
    if (f === undefined) {
      const m = await snapshot(this.node, target, new RequestInspectNode(), 'node_info', timeout);
      if (!(m instanceof MessageInspectNode)) throw new McpToolError('ERR_MCP_REFUSED', `${target.node}: no node info`);
      f = m.info.framework.name;
      this.#frameworks.set(target.node, f);
    }
    return /ergo-ts/i.test(f);
  }

  /** The log ring of `target`, started when asked first (again after it ended). */
  async ring(target: Target, timeout: number): Promise<PID> {
    const known = this.#rings.get(target.node);
    if (known !== undefined) {
      const pid = await known.catch(() => undefined);
      if (pid !== undefined && this.alive(pid)) return pid;
      if (this.#rings.get(target.node) === known) this.#rings.delete(target.node);
      return this.ring(target, timeout);
    }
    const started = this.node.spawn(
      LogRing,
      {},
      { target, size: this.logRing, idle: target.local ? 0 : REMOTE_RING_IDLE, timeout },
    );
    this.#rings.set(target.node, started);
    try {
      return await started;
    } catch (err) {
      if (this.#rings.get(target.node) === started) this.#rings.delete(target.node);
      throw new McpToolError(
        'ERR_MCP_UNREACHABLE',
        `the log of ${target.node} could not be followed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** Whether process `pid` of this node runs. */
  alive(pid: PID): boolean {
    try {
      this.node.processInfo(pid);
      return true;
    } catch {
      return false;
    }
  }

  /** Ends every log ring (the server stops), and the profilers this server started when no other uses them. */
  close(): void {
    runClose(this, (err) =>
      this.node.log.warning('mcp: closing: %s', err instanceof Error ? err.message : String(err)),
    );
    for (const p of this.#rings.values())
      detach(p, 'ending a log ring', this.node.log, {
        value: (pid) => {
          try {
            this.node.sendExit(pid, TerminateReasonShutdown);
          } catch {
            // already gone
          }
        },
        error: () => undefined, // it never started
      });
    this.#rings.clear();
  }
}

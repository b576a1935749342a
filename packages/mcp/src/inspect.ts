// One answer from a node's inspector: the MCP tools are questions ("what runs now?"), the
// inspector protocol is subscriptions (docs/inspect.md). A question calls `system_inspect` of the
// node (this one, or a remote one, Go Ergo included), then a short-lived fetcher process
// subscribes to the event the response names and hands back the first snapshot: the buffered
// last one the subscription returns, or the next one the inspector publishes (once a second).

import {
  Actor,
  ErrProcessUnknown,
  ErrTimeout,
  ProcessID,
  SYSTEM_INSPECT,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  type Atom,
  type Event,
  type MessageEvent,
  type Node,
  type PID,
} from 'ergo-ts';

import { McpToolError } from './errors.js';

/** Default milliseconds one question to a node may take (the call plus the first snapshot): Go Ergo's proxy timeout. */
export const DEFAULT_INSPECT_TIMEOUT = 30_000;
/** Milliseconds allowed to connect to a node this one is not connected to yet. */
export const CONNECT_TIMEOUT = 8000;

/** Where a tool's question goes: the node and its incarnation (for reading printed PIDs). */
export interface Target {
  node: Atom;
  creation: number;
  local: boolean;
}

const done = Symbol('mcp fetcher done');
/** What a fetcher hands over when the inspector ended before publishing (its subject is gone). */
const gone = Symbol('mcp inspector gone');

interface FetcherArgs {
  event: Event;
  settle: (message: unknown) => void;
}

/** Subscribes to one inspector event, hands over the first snapshot, and ends. */
class Fetcher extends Actor {
  #settle: (message: unknown) => void = () => undefined;

  override async init(args: FetcherArgs): Promise<void> {
    this.#settle = args.settle;
    const buffered: MessageEvent[] = await this.monitorEvent(args.event);
    const last = buffered.at(-1);
    // None, or one older than the inspector's period: the next one is on its way (handleEvent).
    // An inspector nobody watched kept its last snapshot for up to its idle time (5 s), and
    // starts publishing again, at once, for this subscriber.
    if (last === undefined || !fresh(last)) return;
    this.#settle(last.message);
    this.send(this.pid, done);
  }

  override handleEvent(m: MessageEvent): Error {
    this.#settle(m.message);
    return TerminateReasonNormal;
  }

  override handleMessage(_from: PID, m: unknown): Error {
    // The inspector went away (MessageDownEvent) before a snapshot: what it inspected is gone.
    if (m !== done) this.#settle(gone);
    return TerminateReasonNormal;
  }
}

/**
 * Milliseconds a buffered snapshot may be old to be answered with: an inspector publishes once a
 * second while watched (INSPECT_PERIOD of the core's system application); an older one is from
 * before its watchers left, and the next one is asked for.
 */
export const SNAPSHOT_FRESHNESS = 1000;

/** Whether the snapshot `m` was published within {@link SNAPSHOT_FRESHNESS} (by its own timestamp). */
function fresh(m: MessageEvent): boolean {
  const ageMs = Date.now() - Number(m.timestamp / 1_000_000n);
  return ageMs <= SNAPSHOT_FRESHNESS;
}

/** Rejects with `McpToolError(ERR_MCP_TIMEOUT)` when `p` has not settled within `ms`. */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new McpToolError('ERR_MCP_TIMEOUT', what)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The error a ResponseDo* / ResponseInspect* carries in `error`, or null. */
export function responseError(response: unknown): string | null {
  if (response instanceof Error) return response.message;
  const e = (response as { error?: unknown } | null)?.error;
  if (e === undefined || e === null || e === '') return null;
  return e instanceof Error ? e.message : String(e);
}

/** Error codes that say the request did not get there (or back): everything else is an answer. */
const TRANSPORT_CODES = new Set([
  'ERR_NO_CONNECTION',
  'ERR_NO_ROUTE',
  'ERR_NETWORK_STOPPED',
  'ERR_NODE_TERMINATED',
  'ERR_PEER_BUSY',
  'ERR_DIAL_QUEUE_FULL',
  'ERR_REGISTRAR_UNAVAILABLE',
  'ERR_REGISTRAR_TERMINATED',
  'ERR_ABORTED',
  'ERR_PROCESS_TERMINATED',
  'ERR_TOO_LARGE',
]);

/**
 * Calls `system_inspect` on `target` with `request`; the answer, or McpToolError naming the node
 * and the question (`what`): ERR_MCP_TIMEOUT, ERR_MCP_UNSUPPORTED (no system_inspect there),
 * ERR_MCP_REFUSED (the node answered with an error), ERR_MCP_UNREACHABLE.
 */
export async function ask(
  node: Node,
  target: Target,
  request: unknown,
  what: string,
  timeout: number,
): Promise<unknown> {
  let response: unknown;
  try {
    response = await node.call(new ProcessID(SYSTEM_INSPECT, target.node), request, { timeout });
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === ErrTimeout.code)
      throw new McpToolError(
        'ERR_MCP_TIMEOUT',
        `${target.node} did not answer the ${what} request within ${seconds(timeout)} s: the node is busy, ` +
          'stopped or unreachable, or does not know this request (a Go Ergo 3.2 node has no event list)',
      );
    if (code === ErrProcessUnknown.code)
      throw new McpToolError('ERR_MCP_UNSUPPORTED', `${target.node} has no system_inspect process`);
    // A coded error that is not about the way there is the node's answer (a local call rejects
    // with what the inspector answered, e.g. ErrIncorrect "unable to inspect the state of itself").
    if (typeof code === 'string' && !TRANSPORT_CODES.has(code))
      throw new McpToolError('ERR_MCP_REFUSED', `${target.node} refused the ${what} request: ${message(err)}`);
    throw new McpToolError('ERR_MCP_UNREACHABLE', `the ${what} request to ${target.node} failed: ${message(err)}`);
  }
  const failed = responseError(response);
  if (failed !== null)
    throw new McpToolError('ERR_MCP_REFUSED', `${target.node} refused the ${what} request: ${failed}`);
  return response;
}

/**
 * The first snapshot of the inspector `request` starts on `target` (a `MessageInspect*`), within
 * `timeout` milliseconds in all.
 */
export async function snapshot(
  node: Node,
  target: Target,
  request: unknown,
  what: string,
  timeout: number,
): Promise<unknown> {
  const started = Date.now();
  const response = await ask(node, target, request, what, timeout);
  const event = (response as { event?: Event } | null)?.event;
  if (event === undefined || event === null || typeof event.name !== 'string' || event.name === '')
    throw new McpToolError('ERR_MCP_REFUSED', `${target.node} answered the ${what} request without an event`);
  let settle!: (message: unknown) => void;
  const first = new Promise<unknown>((resolve) => (settle = resolve));
  let pid: PID | undefined;
  try {
    try {
      pid = await node.spawn(Fetcher, {}, { event, settle });
    } catch {
      settle(gone); // the inspector ended at once (monitorEvent: no such event)
    }
    const m = await deadline(
      first,
      Math.max(1, timeout - (Date.now() - started)),
      `${target.node} published no ${what} snapshot within ${seconds(timeout)} s`,
    );
    if (m === gone)
      throw new McpToolError(
        'ERR_MCP_REFUSED',
        `${target.node}: the ${what} inspector ended without a snapshot (what it inspects has ended or never existed)`,
      );
    return m;
  } finally {
    if (pid !== undefined) endQuietly(node, pid);
  }
}

function endQuietly(node: Node, pid: PID): void {
  try {
    node.sendExit(pid, TerminateReasonShutdown);
  } catch {
    // it has ended by itself
  }
}

/**
 * The node a tool addresses: this one when `name` is empty or this node's name; another one is
 * connected to first when needed (routes, the registrar), within `timeout` milliseconds (the
 * tool's own, so a dial to a node that never answers ends with the call) or
 * {@link CONNECT_TIMEOUT}, whichever is shorter.
 */
export async function reach(node: Node, name: string | undefined, timeout = CONNECT_TIMEOUT): Promise<Target> {
  if (name === undefined || name === '' || name === node.name)
    return { node: node.name, creation: node.creation, local: true };
  if (!/^[^@\s]+@[^@\s]+$/.test(name))
    throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `node: "${name}" is not a node name (name@host)`);
  let network;
  try {
    network = node.network();
  } catch {
    throw new McpToolError('ERR_MCP_UNREACHABLE', `${node.name} runs without a network: it can inspect only itself`);
  }
  try {
    const ms = Math.min(timeout, CONNECT_TIMEOUT);
    const remote = await deadline(
      network.getNode(name as Atom),
      ms,
      `could not connect to ${name} within ${seconds(ms)} s`,
    );
    return { node: name as Atom, creation: Number(remote.creation()), local: false };
  } catch (err) {
    if (err instanceof McpToolError) throw new McpToolError('ERR_MCP_UNREACHABLE', err.message);
    throw new McpToolError('ERR_MCP_UNREACHABLE', `could not connect to ${name}: ${message(err)}`);
  }
}

/** Milliseconds as seconds for a message, to a tenth (a call's time left after its dial reads as its limit). */
export function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** An error's text. */
export function message(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err); // no toString (Object.create(null)), or one that throws
  }
}

// Which framework a remote node runs, asked of its node inspector: a session needs it before it
// sends an ergo-ts-only request (mailbox peek, message trace), because a Go Ergo node never
// answers one (the call would wait for its time limit). The handshake does not say: its version is
// the node's own, not the framework's. The answer is the first node_info snapshot's
// `info.framework.name`: the one the inspector buffered, or the next it publishes (once a second).

import {
  Actor,
  MessageInspectNode,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  type Event,
  type MessageEvent,
  type Node,
  type PID,
} from 'ergo-ts';

import { CommandError } from './requests.js';
import { deadline } from './session_protocol.js';

const gone = Symbol('observer inspector gone');

interface FrameworkFetcherArgs {
  event: Event;
  settle: (message: unknown) => void;
}

/** Subscribes to one node_info event, hands over its first snapshot, and ends. */
class FrameworkFetcher extends Actor {
  #settle: (message: unknown) => void = () => undefined;

  override async init(args: FrameworkFetcherArgs): Promise<void> {
    this.#settle = args.settle;
    const buffered: MessageEvent[] = await this.monitorEvent(args.event);
    const last = buffered.at(-1);
    if (last !== undefined) this.#settle(last.message);
  }

  override handleEvent(m: MessageEvent): Error {
    this.#settle(m.message);
    return TerminateReasonNormal;
  }

  override handleMessage(): Error {
    this.#settle(gone); // the inspector went away (MessageDownEvent) before a snapshot
    return TerminateReasonNormal;
  }
}

/**
 * The framework name (`ergo-ts`, `Ergo Framework`…) in the first snapshot of the node_info
 * `event` a node's inspector answered with, within `timeout` ms; a CommandError (504 / 502)
 * otherwise.
 */
export async function frameworkOf(node: Node, nodeName: string, event: Event, timeout: number): Promise<string> {
  let settle!: (message: unknown) => void;
  const first = new Promise<unknown>((resolve) => (settle = resolve));
  let pid: PID | undefined;
  try {
    pid = await node.spawn(FrameworkFetcher, {}, { event, settle });
  } catch {
    settle(gone);
  }
  try {
    const m = await deadline(first, timeout, `${nodeName} sent no node info within ${timeout / 1000} s`);
    if (!(m instanceof MessageInspectNode)) throw new CommandError(502, `${nodeName} sent no node info`);
    return m.info.framework.name;
  } finally {
    if (pid !== undefined)
      try {
        node.sendExit(pid, TerminateReasonShutdown);
      } catch {
        // it has ended by itself
      }
  }
}

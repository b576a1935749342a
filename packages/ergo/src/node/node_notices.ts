// Node notices (Erlang's `net_kernel:monitor_nodes(true)`): processes that asked to hear about
// every remote node get MessageNodeUp when a connection to a node is made and MessageNodeDown when
// it is lost, whatever made it (a send, getNode, an inbound connection, the Erlang package) and
// whatever registrar resolved it. Ergo has no such call (only MonitorNode of one named node and
// the etcd registrar's EventNodeJoined/Left, which report registrations, not connections).

import type { Atom } from '../gen/atom.js';
import { MessageNodeDown, MessageNodeUp } from '../gen/messages.js';
import { MailboxKind } from '../gen/process.js';
import { Q_SYSTEM } from './mailbox.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';

/**
 * The subscribers of node notices and the nodes connected now. Lifecycle: a subscription lasts
 * until `unsubscribe` or the end of the process (termination calls `processEnded`).
 */
export class NodeNotices {
  private readonly watchers = new Set<ProcessImpl>();
  private readonly connected = new Set<Atom>();

  constructor(private readonly node: NodeImpl) {}

  /** Subscribers now (0 keeps process termination from looking further). */
  get size(): number {
    return this.watchers.size;
  }

  /** Subscribes `p` (again: no change) and returns the nodes connected now, in connection order. */
  subscribe(p: ProcessImpl): Atom[] {
    this.watchers.add(p);
    return [...this.connected];
  }

  /** Ends the subscription of `p`; false when it had none. */
  unsubscribe(p: ProcessImpl): boolean {
    return this.watchers.delete(p);
  }

  processEnded(p: ProcessImpl): void {
    this.watchers.delete(p);
  }

  /** A connection to `name` is up: MessageNodeUp to every subscriber (once per connection). */
  nodeUp(name: Atom): void {
    if (this.connected.has(name)) return;
    this.connected.add(name);
    if (this.watchers.size === 0) return;
    const m = new MessageNodeUp(name);
    for (const p of this.watchers) p.notify(Q_SYSTEM, MailboxKind.Regular, this.node.pid, m);
  }

  /**
   * The connection to `name` is gone: MessageNodeDown to every subscriber. Nothing for a node
   * that was never up (a failed dial reports "down" to waiting calls too).
   */
  nodeDown(name: Atom, reason: Error): void {
    if (!this.connected.delete(name)) return;
    if (this.watchers.size === 0) return;
    const m = new MessageNodeDown(name, reason);
    for (const p of this.watchers) p.notify(Q_SYSTEM, MailboxKind.Regular, this.node.pid, m);
  }
}

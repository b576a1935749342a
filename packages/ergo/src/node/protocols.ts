// attachProtocol: the public way for a second protocol (the Erlang distribution of
// @ergo-ts/erlang) to plug into a running node through the gen/ seams only. The protocol gets the
// node's Core (inbound traffic) and is asked for the Connection of every remote operation before
// the node's own network. Kept deliberately small: the network stack's registerProto /
// acceptor options are the long-term shape.

import { ErrIncorrect } from '../gen/errors.js';
import type { Core } from '../gen/core.js';
import type { ProtocolAttachment } from '../gen/network.js';
import type { Node } from '../gen/node.js';
import { NodeHandle } from './handle.js';

/**
 * Attaches a protocol to a started node: `factory` receives the node's {@link Core} and returns
 * the attachment; from then on every remote operation asks `attachment.connection(node)` first.
 * `attachment.stop()` runs when the node stops (after its processes are gone). Returns a function
 * that detaches it (without calling `stop`).
 * @throws ErrIncorrect when `node` is not a handle from startNode / `process.node`;
 *   ErrNodeTerminated when the node is stopped; whatever `factory` throws.
 */
export function attachProtocol(node: Node, factory: (core: Core) => ProtocolAttachment): () => void {
  if (!(node instanceof NodeHandle)) throw ErrIncorrect.with('attachProtocol needs a node handle (from startNode)');
  const n = NodeHandle.engineOf(node);
  n.checkAlive();
  const attachment = factory(n.router.core);
  const detach = n.router.addProtocol(attachment);
  n.addStopHook({ afterProcesses: () => attachment.stop() });
  return detach;
}

// Admitting inbound links: the crossing rule applied when a peer's Introduce names it (a node
// being dialled or connected already is refused by name, and a Go peer's crossing waits for this
// node's own dial: crossing.ts), Joins to connections this node holds, a handshake that passed
// (the connection registered) or failed (one warning per source per window: refusals.ts), and the
// in-host transport of cluster nodes of one OS process, whose links run the same handshake.

import type net from 'node:net';
import type { InHostTransport } from '../inhost/transport.js';
import { WireError } from '../error.js';
import type { Atom } from '../../gen/atom.js';
import { toError } from '../../gen/errors.js';
import { acceptHandshake, type HandshakeOptions, type HandshakeResult } from '../handshake/handshake.js';
import { EnpConnection } from '../proto/connection.js';
import type { AcceptorHost } from './acceptor.js';
import { handshakeChannel, type AcceptTerms } from './connection_table.js';
import { followsGoOrder, isRefusal, refusal } from './crossing.js';
import { NetworkDialler } from './dialler.js';
import { HandshakeRefusals } from './refusals.js';

/**
 * The accepting side of a node's network (the acceptors' and the in-host transport's host).
 * Lifecycle: that of NetworkImpl (network.ts).
 */
export abstract class NetworkAdmission extends NetworkDialler implements AcceptorHost {
  /**
   * The crossing rule (crossing.ts): throws ERR_HANDSHAKE_REFUSED, or records the admission. A
   * peer that does not announce `ergoPool` (a Go node) gets Go's rule: an inbound arriving once
   * this node's dial of it sent its Introduce waits for that dial (a promise).
   */
  admit(peer: string, socket: net.Socket, flags: { ergoPool?: boolean }): void | Promise<void> {
    const name = peer as Atom;
    if (followsGoOrder(flags) && this.running && !this.crossings.accepting(name)) {
      if (this.connections.has(name)) {
        // A Go peer whose dial crossed ours and lost the race here: refused, it would fail its
        // dial; accepted, it finds our connection registered and uses it (as from a Go node).
        this.crossingLost.add(socket);
        return;
      }
      const dial = this.introductions.settled(name);
      if (dial !== undefined) return this.afterOwnDial(name, socket, dial);
      this.crossings.admitted(name, socket, true);
      return;
    }
    const why = this.running
      ? refusal(this.core.name(), name, {
          connected: this.connections.has(name),
          dialling: this.dialling.has(name),
          accepting: this.crossings.accepting(name),
        })
      : refusal(this.core.name(), name, { connected: true, dialling: false, accepting: false });
    if (why !== null) throw why;
    this.crossings.admitted(name, socket);
  }

  /**
   * An inbound of a Go peer that crossed this node's dial after its Introduce (crossing.ts): once
   * the dial is up the peer uses it, so this one gets its Accept and is closed quietly; when the
   * dial failed it is refused.
   */
  protected async afterOwnDial(name: Atom, socket: net.Socket, dial: Promise<void>): Promise<void> {
    await dial;
    if (this.running && this.connections.has(name) && !socket.destroyed) {
      this.crossingLost.add(socket);
      return;
    }
    throw new WireError(
      'ERR_HANDSHAKE_REFUSED',
      `connection from ${name} refused: it crossed a dial of it that failed`,
    );
  }

  /** A Join for a connection this node does not have is refused before the Accept (ERR_HANDSHAKE_REFUSED). */
  admitJoin(peer: string, connectionID: string): void {
    const existing = this.running ? this.connections.get(peer as Atom) : undefined;
    if (existing === undefined || existing.connectionID !== connectionID)
      throw new WireError('ERR_HANDSHAKE_REFUSED', `join from ${peer} refused: no such connection with it here`);
  }

  accepted(socket: net.Socket, hs: HandshakeResult, acceptor: AcceptTerms): void {
    const peer = hs.peer as Atom;
    const existing = this.connections.get(peer);
    if (hs.join) {
      if (existing === undefined || existing.connectionID !== hs.connectionID) {
        this.log.warning('join from %s for an unknown connection refused', peer);
        socket.destroy();
        return;
      }
      existing.addLink(socket, hs.tail, true);
      return;
    }
    if (existing !== undefined && this.crossingLost.has(socket)) {
      // A Go peer's side of a crossing this node's dial won: the peer uses that one (crossing.ts).
      this.log.debug('connection from %s closed: it crossed our dial, which the peer uses', peer);
      socket.destroy();
      return;
    }
    if (!this.running || existing !== undefined) {
      // Ergo's rule: one connection per pair; a restarted peer waits until the old one is gone.
      this.log.warning('connection from %s refused: %s', peer, this.running ? 'already connected' : 'network stopped');
      socket.destroy();
      return;
    }
    const conn = new EnpConnection(this.core, this, this.log, hs, {
      flags: acceptor.networkFlags(),
      maxMessageSize: acceptor.maxMessageSize(),
      stallTimeout: this.stallTimeout,
      bufferLimit: this.bufferLimit,
    });
    conn.addLink(socket, hs.tail);
    this.register(conn, false);
    this.crossings.settle(peer, socket, conn);
  }

  refused(remote: string, err: Error, acceptor: AcceptTerms): void {
    // The crossing rule refused it by name (crossing.ts): no failure, nothing to count.
    if (isRefusal(err)) {
      this.log.debug('%s', err.message);
      return;
    }
    // One line per source per window, not one per attempt (refusals.ts).
    (this.refusals ??= new HandshakeRefusals(this.log)).failed(
      remote.slice(0, Math.max(0, remote.lastIndexOf(':'))),
      remote,
      acceptor.interface(),
      err,
    );
    if (handshakeChannel.hasSubscribers)
      handshakeChannel.publish({ node: this.core.name(), peer: '', remote, error: err });
  }

  // --- the in-host transport (cluster nodes of one OS process) -----------------------------------

  /** The terms of links accepted in-host: this network's cookie, flags and size limit. */
  private readonly inHostTerms: AcceptTerms = {
    networkFlags: () => this.inHost?.flags(this.flags) ?? this.flags,
    maxMessageSize: () => this.maxSize,
    interface: () => 'inhost',
  };

  /**
   * Attaches the in-host transport of a cluster node (`ergo-ts/cluster`): nodes it knows are
   * dialled through it (one link, no TCP) and links it accepts run the usual handshake with this
   * network's cookie. Replaces an earlier one. ErrNetworkStopped when the network is not running.
   */
  attachInHost(transport: InHostTransport): void {
    this.checkRunning();
    if (this.inHost !== null && this.inHost !== transport) this.inHost.close();
    this.inHost = transport;
    transport.onAccept((s) => {
      const socket = s as unknown as net.Socket;
      if (!this.running) {
        socket.destroy();
        return;
      }
      const options: HandshakeOptions = {
        ...this.handshakeBase(),
        cookie: this.cookieValue,
        flags: transport.flags(this.flags),
        maxMessageSize: this.maxSize,
        poolSize: 1, // one ordered port is the whole pool: no kernel queue to spread over
        admit: (peer, flags) => this.admit(peer, socket, flags),
        admitJoin: (peer, id) => this.admitJoin(peer, id),
      };
      acceptHandshake(socket, options).then(
        (hs) => this.accepted(socket, hs, this.inHostTerms),
        (err: unknown) => this.refused('inhost:0', toError(err), this.inHostTerms),
      );
    });
  }

  throttled(address: string): boolean {
    return this.refusals !== null && this.refusals.blocked(address);
  }
}

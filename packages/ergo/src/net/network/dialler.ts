// Dialling a node (WIRE.md §4.3): the queue its operations wait in meanwhile (pending.ts), the
// routes to try (static routes, then the registrar: candidates.ts), the handshake on each until
// one works, a dial tried again on a late handshake or a crossing dial (establish.ts,
// crossing.ts), the rest of the pool joined before the connection is used, and the one warning
// per node that cannot be reached.

import type net from 'node:net';
import { WireError } from '../error.js';
import type { Atom } from '../../gen/atom.js';
import { ErrIncorrect, ErrNetworkStopped, ErrNoConnection, ErrNodeTerminated, toError } from '../../gen/errors.js';
import type { NetworkRoute } from '../../gen/network.js';
import { joinHandshake, startHandshake, type HandshakeOptions } from '../handshake/handshake.js';
import { EnpConnection } from '../proto/connection.js';
import { candidates, hostOf, openSocket, splitDSN, type Candidate } from './candidates.js';
import { NetworkConnections, handshakeChannel, type Dialling } from './connection_table.js';
import { followsGoOrder, isRefusal } from './crossing.js';
import { establish, type AttemptHooks, type EstablishHost } from './establish.js';
import { PendingConnection } from './pending.js';

/**
 * The dialling side of a node's network: {@link NetworkDialler.dial} gives the queue of a node
 * being dialled (one dial per node at a time); the connection it makes is registered in the
 * table. Lifecycle: that of NetworkImpl (network.ts).
 */
export abstract class NetworkDialler extends NetworkConnections {
  protected dial(name: Atom): Dialling {
    let d = this.dialling.get(name);
    if (d !== undefined) return d;
    const pending = new PendingConnection(
      name,
      this.dialQueueLimit,
      this.log,
      (caller, options, err) => this.core.routeSendResponse(caller, caller, options, err, false),
      this.bufferLimit,
      (peer, sends, reason) => this.undelivered.dropped(peer, sends, 0, reason),
    );
    const promise = this.establish(name).then(
      (conn) => {
        if (this.dialling.get(name)?.pending === pending) this.dialling.delete(name);
        pending.ready(conn);
        return conn;
      },
      (err: unknown) => {
        const e = toError(err);
        if (this.dialling.get(name)?.pending === pending) this.dialling.delete(name);
        // The peer's own connection came up meanwhile (a crossing dial): the queue went out on it.
        const up = this.connections.get(name);
        if (up !== undefined && this.running) {
          pending.ready(up);
          return up;
        }
        // Once per node until it connects: a caller polling getNode (or a leader actor sending
        // heartbeats to a member that is down) must not flood the log.
        // A dial the network's stop cut short is no news.
        const quiet = this.dialFailed.has(name) || !this.running;
        pending.fail(e, quiet);
        if (quiet) this.log.debug('cannot connect to %s (again or stopping): %s', name, e.message);
        else {
          this.dialFailed.add(name);
          this.log.warning(
            'cannot connect to %s: %s (repeats are logged at debug level until it connects)',
            name,
            e.message,
          );
        }
        // Calls and watchers waiting for that node fail now rather than at their timeouts.
        if (this.running) this.core.routeNodeDown(name, e);
        throw e;
      },
    );
    promise.catch(() => undefined);
    d = { pending, promise };
    this.dialling.set(name, d);
    return d;
  }
  /** Routes to try for `name` (candidates.ts). */
  protected candidates(name: Atom, only?: NetworkRoute): Promise<Candidate[]> {
    return candidates(
      {
        log: this.log,
        inHost: this.inHost,
        routes: this.routes,
        registrar: this.registrarValue,
        cookie: this.cookieValue,
        flags: this.flags,
        insecureSkipVerify: this.options.insecureSkipVerify ?? false,
        dialTimeout: this.dialTimeout,
      },
      name,
      only,
    );
  }

  /** The connection to `name` for a dial, tried again on a late handshake or a crossing (establish.ts). */
  protected establish(name: Atom): Promise<EnpConnection> {
    const host: EstablishHost = {
      log: this.log,
      localName: () => this.core.name(),
      isRunning: () => this.running,
      connected: (n) => this.connections.get(n),
      inbound: (n) => this.crossings.wait(n),
      connectTo: (n, hooks) => this.connectTo(n, undefined, hooks),
      registrarAsksAgain: () => this.registrarValue?.resolveRetryable === true,
    };
    return establish(host, name, this.dialTimeout, this.handshakeTimeout);
  }

  protected async connectTo(name: Atom, only?: NetworkRoute, hooks?: AttemptHooks): Promise<EnpConnection> {
    if (name === this.core.name()) throw ErrIncorrect.with('a node cannot connect to itself');
    const list = await this.candidates(name, only);
    let last: Error | null = null;
    for (const c of list) {
      try {
        return await this.dialRoute(name, c, hooks);
      } catch (e) {
        last = toError(e);
        // A refusal by name is the crossing rule at work (crossing.ts), not a failed handshake;
        // an attempt given up (another one won) tries no other route.
        if (isRefusal(last) || hooks?.signal.aborted === true) break;
        if (handshakeChannel.hasSubscribers)
          handshakeChannel.publish({
            node: this.core.name(),
            peer: name,
            remote: `${c.route.host || hostOf(name)}:${c.route.port}`,
            error: last,
          });
      }
    }
    throw ErrNoConnection.with(`${name}: ${last?.message ?? 'no route worked'}`, last ?? undefined);
  }

  protected handshakeOptions(c: Candidate): HandshakeOptions {
    return { ...this.handshakeBase(), cookie: c.cookie, flags: c.flags, maxMessageSize: this.maxSize };
  }

  protected async dialRoute(name: Atom, c: Candidate, hooks?: AttemptHooks): Promise<EnpConnection> {
    const attempt = this.introductions.attempt(name);
    const beforeIntroduce = (): void => {
      // A Go peer's own connection is admitted (or up) here: the peer must not register this one.
      const up = this.connections.get(name);
      if (this.crossings.acceptingGo(name) || (up !== undefined && followsGoOrder(up.peerFlags)))
        throw new WireError('ERR_HANDSHAKE_REFUSED', `dial of ${name} given up: its own connection came first`);
      attempt.introduce();
    };
    try {
      return await this.dialRouteOnce(name, c, beforeIntroduce, hooks);
    } finally {
      attempt.settle();
    }
  }

  protected async dialRouteOnce(
    name: Atom,
    c: Candidate,
    beforeIntroduce: () => void,
    hooks?: AttemptHooks,
  ): Promise<EnpConnection> {
    const host = c.route.host || hostOf(name);
    const opts = { ...this.handshakeOptions(c), beforeIntroduce };
    const socket = c.open !== undefined ? c.open() : await this.openSocket(host, c.route.port, c);
    // A late step tells the dial (which may try another socket meanwhile) and waits on; the
    // dial ends this attempt through the signal when another one won.
    const hs = await startHandshake(
      socket,
      hooks === undefined ? opts : { ...opts, late: hooks.late, signal: hooks.signal, lateUntil: hooks.until },
      name,
    );
    if (!this.running) {
      socket.destroy();
      throw ErrNetworkStopped.with(`network of ${this.core.name()} stopped while dialling ${name}`);
    }
    const existing = this.connections.get(name);
    if (existing !== undefined) {
      // The peer admitted this connection while one with it was up here (not a crossing: the
      // acceptor refuses those before its Accept). Keep the older one, one per pair.
      this.log.debug('dial of %s completed while connected to it: the new connection is closed', name);
      socket.destroy();
      return existing;
    }
    const conn = new EnpConnection(this.core, this, this.log, hs, {
      flags: c.flags,
      maxMessageSize: this.maxSize,
      stallTimeout: this.stallTimeout,
      bufferLimit: this.bufferLimit,
    });
    conn.addLink(socket, hs.tail);
    // The rest of the pool joins before the connection is used, so link selection is stable.
    const join = async (i: number): Promise<void> => {
      const dsn = hs.poolDSN.length > 0 ? splitDSN(hs.poolDSN[i % hs.poolDSN.length]!) : { host, port: c.route.port };
      const s = c.open !== undefined ? c.open() : await this.openSocket(dsn.host, dsn.port, c);
      const j = await joinHandshake(s, opts, hs.connectionID, name);
      conn.confirmJoin(conn.addLink(s, j.tail));
    };
    // Between nodes that send link frames (and agree on the ergo-ts link count) the pool starts with this one link and grows when its
    // traffic pays for more (link_pool.ts, GROW_PACKETS): a link joined in use keeps each order
    // key's packets in order (the switch frame). A 100-node mesh so makes 4,950 handshakes, not
    // 14,850, and no join can fail while a cluster meshes. Other peers (Go) get the whole pool
    // before the connection is used, so link selection is stable.
    const lazy = conn.linkFrames && hs.peerFlags.ergoPool === true && c.flags.ergoPool !== false && hs.poolSize > 1;
    if (lazy) conn.grow = () => void this.growPool(conn, join, hs.poolSize);
    // The first join that fails ends the joins of this dial: the others would fail the same way
    // (a peer that still holds the connection a cut left it, a listener that went away), each
    // with its own warning. The connection goes on with the links it has; the re-dialler tries
    // the missing ones later, and the one warning below (or the dial's own failure) tells it.
    let joinFailure: Error | null = null;
    for (let i = 1; i < hs.poolSize && joinFailure === null && !lazy; i++) {
      try {
        await join(i);
      } catch (e) {
        joinFailure = toError(e);
      }
    }
    if (!conn.isAlive) {
      // The peer closed it before the joins ended: most often a Go acceptor that gave up waiting
      // for this side's final Accept (1 s; a starved loop sends it later) and closed the socket
      // as it went out. The peer holds nothing of it, so the dial may try again (establish.ts)
      // as after a late step, instead of failing every call waiting for it.
      hooks?.late('final Accept (the peer closed the connection)');
      throw ErrNoConnection.with(`${name} closed the connection`, joinFailure ?? undefined);
    }
    if (!this.running) {
      conn.terminate(ErrNodeTerminated.with(this.core.name()));
      throw ErrNetworkStopped.with(`network of ${this.core.name()} stopped while dialling ${name}`);
    }
    this.redials.add(conn, join);
    this.register(conn, true);
    if (joinFailure !== null) {
      const missing = hs.poolSize - conn.links.length;
      this.log.warning(
        'connected to %s with %d of %d pool links (the others are re-dialled): %s',
        name,
        conn.links.length,
        hs.poolSize,
        joinFailure.message,
      );
      for (let k = 0; k < missing; k++) this.redials.linkLost(conn);
    }
    return conn;
  }

  /**
   * Joins the links `conn` lacks of the `size` its acceptor offered, one after the other, while
   * it lives; a join that fails ends it (the traffic goes on over the links there are).
   */
  private async growPool(conn: EnpConnection, join: (i: number) => Promise<void>, size: number): Promise<void> {
    for (let k = conn.links.length; k < size && conn.isAlive && this.running; k++) {
      try {
        await join(conn.links.length);
      } catch (e) {
        this.log.debug('pool of the connection to %s not grown: %s', conn.peer, toError(e).message);
        return;
      }
    }
    this.log.debug('pool of the connection to %s grown to %d links', conn.peer, conn.links.length);
  }

  protected openSocket(host: string, port: number, c: Candidate): Promise<net.Socket> {
    return openSocket(host, port, c, this.dialTimeout, this.options.certManager);
  }
}

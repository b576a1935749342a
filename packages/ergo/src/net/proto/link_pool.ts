// The links of one ENP:R1 connection (WIRE.md §3.8): the pool of authenticated sockets joined
// into one connection to a remote node, and what keeps it sound — which link a packet goes on
// (pool key → link; a link the peer joined is held until the peer shows it kept it), how much the
// links may hold for the peer (flow.ts: user packets are refused past the buffer limit, and a
// large batch is written at once), whether the peer is alive (heartbeat.ts), and the end of the
// connection when its last link closes or it is terminated. Inbound packets are routed from here
// (inbound.ts); the outbound operations of the gen `Connection` are EnpConnection's
// (connection.ts), which encodes them into the links this class picks.

import type { Atom } from '../../gen/atom.js';
import type { Core } from '../../gen/core.js';
import { ErrNoConnection, toError } from '../../gen/errors.js';
import type { Log } from '../../gen/log.js';
import type { NetworkDial, NetworkSocket } from '../../gen/network.js';
import type { NetworkFlags } from '../edf/framework.js';
import type { WireError } from '../error.js';
import type { HandshakeResult } from '../handshake/handshake.js';
import { DEFAULT_PEER_BUFFER_LIMIT, flushThreshold, peerBusy, userBytesOn, UserPacketLedger } from './flow.js';
import { Heartbeat, PROBE_AFTER_ALONE, PROBE_AFTER_FOLLOW, PROBE_AFTER_LEAD, type HeartbeatHost } from './heartbeat.js';
import { InboundDispatcher, type AnsweredRequest, type InboundConnection } from './inbound.js';
import { EnpLink, LinkFrame, type LinkCodec, type LinkOwner } from './link.js';
import { MessageUpdateCache } from './messages.js';
import type { EnpPacket, WireID3 } from './packet.js';
import { RequestTable } from './waits.js';
import type { ConnectionTerms } from './connection_terms.js';

/**
 * The codec of in-host links when both nodes announced the private frame (set by the in-host
 * transport's module, so ENP connections do not load it).
 */
let inHostCodec: LinkCodec | null = null;

/** @internal Installs the in-host private frame's codec (net/inhost/transport.ts). */
export function setInHostCodec(codec: LinkCodec): void {
  inHostCodec = codec;
}

/** Default stalled-peer timeout when the terms give none (see ConnectionTerms.stallTimeout). */
const STALL_TIMEOUT_DEFAULT = 15_000;
/**
 * Packets (sent and received) within {@link GROW_WINDOW_MS} that make a connection join the rest
 * of its pool (see EnpLinkPool.grow). One link carries a call at a time as fast as three, and
 * what one link costs less is per peer (sockets, keepalives, handshakes when a cluster meshes);
 * more links pay off with many calls in flight and under packet loss (TCP's head-of-line
 * blocking): a thousand packets a second is far above what a mesh or an idle cluster sends a
 * peer, and what any such load reaches in its first second.
 */
export const GROW_PACKETS = 1024;
/** See {@link GROW_PACKETS}. */
export const GROW_WINDOW_MS = 1000;
/** Events between two sums of the links' queued bytes (eventRoom). */
export const EVENT_ROOM_EVERY = 32;

function num(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * The links of one connection. Lifecycle: created (as an EnpConnection) by the network after the
 * first link's handshake; extra links arrive through {@link EnpLinkPool.addLink}; it ends when its
 * last link closes or on {@link EnpLinkPool.terminate}. After the end {@link EnpLinkPool.link}
 * throws ErrNoConnection, and so every outbound operation.
 */
export abstract class EnpLinkPool implements LinkOwner, HeartbeatHost, InboundConnection {
  readonly peer: Atom;
  readonly peerCreation: number;
  readonly peerFlags: NetworkFlags;
  readonly peerVersion: HandshakeResult['peerVersion'];
  readonly peerMaxMessageSize: number;
  readonly connectionID: string;
  readonly startedAt = Date.now();
  readonly links: EnpLink[] = [];
  /** The links packets are sent on: {@link links} but those still held (see addLink). */
  protected readonly sendable: EnpLink[] = [];
  readonly poolSize: number;
  readonly poolDSN: string[];
  messagesIn = 0;
  messagesOut = 0;
  /** Bytes of links that already closed. */
  private closedBytesIn = 0;
  private closedBytesOut = 0;
  private rr = 0;
  protected alive = true;
  /** Requests waiting for the peer's answer. */
  readonly requests: RequestTable;
  private readonly inbound: InboundDispatcher;
  private readonly stallTimeout: number;
  private heartbeat: Heartbeat | null = null;
  /** Bytes held for the peer before sends are refused, and the batch written at once (flow.ts). */
  readonly bufferLimit: number;
  private readonly flushAt: number;
  /** eventRoom: the links' queued bytes as the latest event left them, and events until the next sum. */
  protected evQueued = 0;
  protected evChecks = 0;
  /** Both nodes announced `eventBatch`: events go in ergo-ts event batch packets. */
  readonly batchEvents: boolean;
  /** Both nodes announced the ergo-ts control batch (control_batch.ts). */
  readonly batching: boolean;
  /** @internal */
  readonly localName: string;
  protected readonly localCreation: number;

  constructor(
    /** @internal */ readonly core: Core,
    readonly log: Log,
    private readonly hs: HandshakeResult,
    readonly terms: ConnectionTerms,
  ) {
    this.peer = hs.peer as Atom;
    this.peerCreation = num(hs.peerCreation);
    this.peerFlags = hs.peerFlags;
    this.peerVersion = hs.peerVersion;
    this.peerMaxMessageSize = hs.peerMaxMessageSize;
    this.connectionID = hs.connectionID;
    this.poolSize = hs.poolSize;
    this.poolDSN = hs.poolDSN;
    this.stallTimeout = terms.stallTimeout ?? STALL_TIMEOUT_DEFAULT;
    this.bufferLimit = terms.bufferLimit ?? DEFAULT_PEER_BUFFER_LIMIT;
    this.flushAt = flushThreshold(this.bufferLimit);
    this.requests = new RequestTable(this.peer);
    this.inbound = new InboundDispatcher(core, this);
    this.batchEvents = hs.peerFlags.eventBatch === true && terms.flags.eventBatch !== false;
    this.batching = hs.peerFlags.controlBatch === true && terms.flags.controlBatch !== false;
    this.localName = core.name();
    this.localCreation = core.creation();
  }

  /** This node's announced flags (InboundConnection). */
  get localFlags(): NetworkFlags {
    return this.terms.flags;
  }

  /**
   * Attaches one more authenticated socket (the first one too) and starts reading it; every link
   * decodes with the caches the first handshake announced. ErrNoConnection once closed.
   *
   * `held`: a link the peer joined to a connection this node accepted. The peer's side of a join
   * may still fail after this side's Accept went out (its handshake step timed out on a lossy
   * or loaded network), and then it closes the socket: whatever this node wrote on it meanwhile
   * would be lost. So such a link only receives until the peer's first packet on it (an ergo-ts
   * initiator sends one at once, see {@link confirmJoin}); a connection with no other link uses it.
   */
  addLink(socket: NetworkSocket, tail: Uint8Array | null, held = false): EnpLink {
    const hs = this.hs;
    if (!this.alive) {
      socket.destroy();
      throw ErrNoConnection.with(`connection to ${this.peer} is closed`);
    }
    const link = new EnpLink(
      socket as never,
      this,
      // JS values only to a peer that announced it decodes them (an ergo-ts node, WIRE.md §2.6).
      { peerMaxMessageSize: this.peerMaxMessageSize, jsValues: this.peerFlags.jsValues === true },
      { atomCache: hs.peerAtomCache, typeCache: hs.peerRegCache, errorCache: hs.peerErrCache },
      this.terms.maxMessageSize,
      this.codecFor(socket),
    );
    // A link joined to a connection in use, between nodes that send link frames: packets of one
    // order key may move to it, so what the peer sent on the older links before its switch
    // frames is read first (the link reads once every older link brought its switch).
    const older = this.links.length > 0 && this.framesOn(link) ? new Set(this.links) : null;
    this.links.push(link);
    if (held && this.sendable.length > 0) link.held = true;
    else this.use(link);
    if (older !== null) this.waitingFor.set(link, older);
    link.start(tail, older !== null);
    if (this.heartbeat === null && this.stallTimeout > 0)
      this.heartbeat = new Heartbeat(this, this.stallTimeout, this.probeAfter());
    return link;
  }

  /** Links joined in use that read nothing yet, and the older links whose switch they wait for. */
  private readonly waitingFor = new Map<EnpLink, Set<EnpLink>>();

  /** Both nodes send link frames, and `link` carries ENP (not the in-host private frame). */
  private framesOn(link: EnpLink): boolean {
    return this.peerFlags.ergoFrames === true && this.terms.flags.ergoFrames !== false && !link.privateFrame;
  }

  /**
   * `link` is sent on from now on. Between nodes that send link frames, every link already sent
   * on first carries a switch frame, so the peer reads what went on it before what goes on `link`.
   */
  private use(link: EnpLink): void {
    if (this.sendable.length > 0 && this.framesOn(link))
      for (const l of this.sendable) if (l.writable) l.frame(LinkFrame.Switch);
    this.sendable.push(link);
  }

  /** The peer's switch frame came on `link` (or `link` closed): links waiting for it may read. */
  private switched(link: EnpLink): void {
    for (const [waiting, older] of this.waitingFor) {
      if (!older.delete(link) || older.size > 0) continue;
      this.waitingFor.delete(waiting);
      waiting.read();
    }
  }

  /**
   * The in-host private frame for `socket` when both nodes announced it (the flag goes only on
   * in-host handshakes) and the socket is an in-host one; else null (ENP).
   */
  private codecFor(socket: NetworkSocket): LinkCodec | null {
    if (inHostCodec === null || this.terms.flags.inHostFrame !== true || this.peerFlags.inHostFrame !== true)
      return null;
    return (socket as { remoteAddress?: string }).remoteAddress === 'inhost' ? inHostCodec : null;
  }

  /** True when this connection's links carry the in-host private frame. */
  get privateFrame(): boolean {
    return this.links.length > 0 && this.links.every((l) => l.privateFrame);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  get bytesIn(): number {
    let n = this.closedBytesIn;
    for (const l of this.links) n += l.bytesIn;
    return n;
  }

  get bytesOut(): number {
    let n = this.closedBytesOut;
    for (const l of this.links) n += l.bytesOut;
    return n;
  }

  // --- link selection -------------------------------------------------------------------------

  /** @internal The link of pool key `key` (0: round robin; remote_start.ts sends on it too). */
  link(key: number): EnpLink {
    const ls = this.sendable;
    if (!this.alive || ls.length === 0) throw ErrNoConnection.with(`connection to ${this.peer} is closed`);
    if (key === 0) {
      const l = ls[this.rr % ls.length]!;
      this.rr = (this.rr + 1) & 0x3fffffff;
      return l;
    }
    // A link that broke stays listed until its close event: its packets move to another link
    // when it is flushed (onOrphanBytes).
    return ls[key % ls.length]!;
  }

  // --- back-pressure (flow.ts) --------------------------------------------------------------------

  /** Bytes the links hold for the peer: encoded and not written yet, or written and not taken. */
  get queuedBytes(): number {
    return this.linkBytes();
  }

  /**
   * Room for one more user packet: what the links hold now (to pass to {@link admit}), or
   * ErrPeerBusy when that is the limit already.
   */
  protected room(): number {
    // Another packet is going in: the next event takes the sum again (eventRoom).
    this.evChecks = 0;
    const q = this.linkBytes();
    if (q >= this.bufferLimit) throw peerBusy(this.peer, q, this.bufferLimit);
    return q;
  }

  /** What the links hold now (see {@link queuedBytes}). */
  protected linkBytes(): number {
    let q = 0;
    for (const l of this.links) q += l.queued;
    return q;
  }

  /**
   * After a user packet was encoded into `link` from `mark` on: takes it back and throws
   * ErrPeerBusy if it brings the queue over the limit — unless no user packet waits on any link:
   * a packet larger than the limit still goes then, whatever protocol packets (a heartbeat, an
   * ack) happen to wait; writes the link at once when its batch is large.
   */
  protected admit(link: EnpLink, queued: number, mark: number): void {
    const pending = link.enc.pending;
    const added = pending - mark;
    if (queued + added > this.bufferLimit && userBytesOn(this.links) > 0) {
      link.enc.truncate(mark);
      throw peerBusy(this.peer, queued, this.bufferLimit);
    }
    link.userPending += added;
    this.userLedger.admitted(added);
    if (pending >= this.flushAt) link.flushNow();
  }

  /** User packets admitted, and those a down left undelivered (flow.ts). */
  readonly userLedger = new UserPacketLedger();
  /** HeartbeatHost: the peer ran since the last check (the ledger marks its counts). */
  readonly heard = (): void => this.userLedger.heard();

  // --- heartbeat (heartbeat.ts) ---------------------------------------------------------------------

  /** Probes the heartbeat sent (diagnostics and tests). */
  get heartbeats(): number {
    return this.heartbeat?.probes ?? 0;
  }

  /**
   * Both nodes send the ergo-ts link frames (8 bytes; both announced `ergoFrames`). Not on the
   * in-host private frame, whose reader takes ENP packets of the known types only.
   */
  get linkFrames(): boolean {
    return this.peerFlags.ergoFrames === true && this.terms.flags.ergoFrames !== false && !this.privateFrame;
  }

  /**
   * When this side probes (heartbeat.ts): between two nodes sending the heartbeat frame the
   * smaller name leads and the other follows, so an idle pair makes one exchange per silence;
   * else this side probes on its own schedule (a Go peer never probes).
   */
  private probeAfter(): number {
    if (this.peerFlags.ergoFrames !== true || this.terms.flags.ergoFrames === false) return PROBE_AFTER_ALONE;
    return this.localName < this.peer ? PROBE_AFTER_LEAD : PROBE_AFTER_FOLLOW;
  }

  /**
   * HeartbeatHost: the ergo-ts heartbeat frame to a peer that takes it, else an empty
   * MessageUpdateCache, which Go Ergo 3.2 and ergo-ts answer from their network layer with a
   * MessageResult (ignored on arrival: only the bytes matter). It goes on the link that holds
   * the least, and is never refused.
   */
  probe(): void {
    if (!this.alive) return;
    let best: EnpLink | null = null;
    for (const l of this.sendable) if (l.writable && (best === null || l.queued < best.queued)) best = l;
    if (best === null) return;
    if (this.linkFrames) {
      best.frame(LinkFrame.Probe);
      return;
    }
    try {
      best.enc.sendControl(0, new MessageUpdateCache({ ref: this.core.makeRef() }));
      best.touch();
    } catch (e) {
      this.log.warning('heartbeat to %s not sent: %s', this.peer, toError(e).message);
    }
  }

  /**
   * LinkOwner: a link frame of the peer. A probe is answered on the link it came on; a switch
   * lets the links joined after this one be read once every older link brought its own.
   */
  onLinkFrame(link: EnpLink, kind: number): void {
    if (kind === LinkFrame.Switch) {
      this.switched(link);
      return;
    }
    if (link.held) this.release(link);
    if (kind === LinkFrame.Probe && this.alive && link.writable) link.frame(LinkFrame.Answer);
  }

  /**
   * On a link this node joined to the peer's connection: one packet at once (the heartbeat
   * frame's answer to a peer that takes it, else an empty MessageUpdateCache, which Go Ergo and
   * ergo-ts answer and otherwise ignore), so an ergo-ts acceptor starts sending on the link
   * (addLink's `held`).
   */
  confirmJoin(link: EnpLink): void {
    if (!this.alive || !link.writable) return;
    if (this.linkFrames) {
      link.frame(LinkFrame.Answer);
      return;
    }
    link.enc.sendControl(0, new MessageUpdateCache({ ref: this.core.makeRef() }));
    link.touch();
  }

  /** HeartbeatHost: nothing came from the peer for `ms`, heartbeats included: declare it down. */
  stalled(ms: number): void {
    if (!this.alive) return;
    const reason = ErrNoConnection.with(
      `${this.peer} stalled: nothing read from it for ${Math.round(ms)} ms, heartbeats unanswered (peerStallTimeout ${this.stallTimeout} ms)`,
    );
    const lost = this.userLedger.down(userBytesOn(this.links));
    const what = `${lost.packets} user packets (${lost.bytes} bytes) sent since it was last heard are not delivered`;
    this.log.warning('connection to %s declared down: %s (%s)', this.peer, reason.message, what);
    this.down(reason);
    // Its sockets may never drain: no graceful end.
    for (const l of [...this.links]) l.destroy();
  }

  /** @internal Counts a packet handed to `link` (nothing to wait for). */
  counted(link: EnpLink): void {
    this.messagesOut++;
    link.touch();
    if (this.grow !== null && --this.growLeft === 0) this.traffic();
  }

  // --- pool growth ------------------------------------------------------------------------------

  /**
   * Set by the side that dialled, while the connection has fewer links than the acceptor offered
   * and both nodes send link frames: joins the others. Called once, when the traffic pays for
   * them ({@link GROW_PACKETS} packets within {@link GROW_WINDOW_MS}, both ways together).
   */
  grow: (() => void) | null = null;
  /** Packets until the next look at the rate. */
  private growLeft = GROW_PACKETS;
  /** performance.now() when the current count of packets began. */
  private growSince = performance.now();

  private traffic(): void {
    const now = performance.now();
    this.growLeft = GROW_PACKETS;
    if (now - this.growSince > GROW_WINDOW_MS) {
      this.growSince = now;
      return;
    }
    const grow = this.grow;
    this.grow = null;
    grow?.();
  }

  /**
   * {@link room} for a stream of events in O(1): the links' sum is taken every EVENT_ROOM_EVERY
   * events, and in between its last value plus what the events since added stands for it (writes
   * and drains only lower the true sum; any other user packet makes the next event take the sum,
   * so only control packets go uncounted, as they always did). Past half the limit every event
   * takes the sum.
   */
  protected eventRoom(): number {
    if (--this.evChecks > 0 && this.evQueued < this.bufferLimit / 2) return this.evQueued;
    const q = this.room();
    this.evChecks = EVENT_ROOM_EVERY;
    return q;
  }

  join(socket: NetworkSocket, _connectionID: string, _dial: NetworkDial, tail: Uint8Array | null): void {
    this.addLink(socket, tail);
  }

  /** Flushes what is pending and closes every link; the node hears it via Core.routeNodeDown. */
  terminate(reason: Error): void {
    if (!this.alive) return;
    for (const l of [...this.links]) l.close();
    this.down(reason);
  }

  private down(reason: Error, peerGone = false): void {
    if (!this.alive) return;
    this.alive = false;
    this.heartbeat?.stop();
    this.requests.rejectAll(ErrNoConnection.with(`connection to ${this.peer} is closed`));
    this.ended(reason, peerGone);
  }

  // --- LinkOwner: inbound -------------------------------------------------------------------------

  onLinkDown(link: EnpLink, reason: Error | null): void {
    const i = this.links.indexOf(link);
    if (i >= 0) this.links.splice(i, 1);
    // What it brought is all it will bring: links waiting for its switch need not wait.
    this.waitingFor.delete(link);
    this.switched(link);
    const j = this.sendable.indexOf(link);
    if (j >= 0) this.sendable.splice(j, 1);
    // Only held links are left: they are all there is to send on.
    if (this.sendable.length === 0) for (const l of this.links) this.release(l);
    this.closedBytesIn += link.bytesIn;
    this.closedBytesOut += link.bytesOut;
    // At debug: a lost peer is told once, by the network's line for the connection; a link lost
    // while the others live is re-dialled, and only a failed re-dial is worth a warning.
    if (reason !== null) this.log.debug('link %s to %s closed: %s', link.dsn, this.peer, reason.message);
    if (this.links.length === 0) {
      if (this.alive) this.userLedger.atDown.bytes = link.userQueued;
      this.down(reason ?? ErrNoConnection.with(`${this.peer} closed the connection`), true);
    } else if (this.alive) this.linkLost();
  }

  onOrphanBytes(link: EnpLink, bytes: Buffer): void {
    for (const l of this.sendable) {
      if (l === link || !l.writable) continue;
      l.flushNow();
      l.write(bytes);
      return;
    }
    this.log.warning('%d bytes for %s lost with the last link', bytes.length, this.peer);
  }

  onBadPacket(err: WireError, link: EnpLink): void {
    if (err.fatal) this.log.error('link %s to %s: %s (closing the link)', link.dsn, this.peer, err.message);
    else this.log.warning('packet from %s dropped: %s', this.peer, err.message);
  }

  /** Routes one decoded packet (inbound.ts). */
  onPacket(p: EnpPacket, link: EnpLink): void {
    if (link.held) this.release(link);
    this.messagesIn += p.batchCount > 0 ? p.batchCount : 1; // an event batch: one per event
    if (this.grow !== null && --this.growLeft === 0) this.traffic();
    this.inbound.onPacket(p, link);
  }

  /** A held link (addLink) is used for sending from now on. */
  private release(link: EnpLink): void {
    if (!link.held) return;
    link.held = false;
    this.use(link);
  }

  /** InboundConnection: writes what every link holds now (see BatchConnection.flushAnswers). */
  flushAnswers(): void {
    for (const l of this.sendable) l.flushNow();
  }

  /**
   * The connection ended (the network forgets it). `lost`: its last link closed under it (the
   * peer went away), not this side's decision.
   */
  protected abstract ended(reason: Error, lost: boolean): void;

  /** One link of the live connection closed (the dialling side re-dials it, WIRE §3.8). */
  protected abstract linkLost(): void;

  /** InboundConnection: answers a control batch entry (see BatchConnection). */
  abstract answerEntry(route: number, ref: WireID3, err: Error | null, result: unknown): void;

  /** InboundConnection: sends the MessageResult of the peer's control request `request`. */
  abstract answer(request: AnsweredRequest, err: Error | null, result: unknown): void;
}

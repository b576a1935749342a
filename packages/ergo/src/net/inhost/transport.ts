// The in-host transport of one cluster node: for every other node of the cluster, a control
// `MessagePort` (the launcher made the channel and gave one end to each node). Dialling a peer
// makes a fresh MessageChannel and sends one end over the control port — the in-host analogue
// of a TCP connect; the peer accepts it as a new link and both run the ordinary EHS handshake
// and ENP over it (see port_socket.ts). When a peer node restarts, the launcher hands over a new
// control port for it; the old one is closed. Both nodes announce the in-host private frame in
// that handshake (unless `frame: false`); when both did, the link carries it (private_frame.ts).

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ErrNoRoute } from '../../gen/errors.js';
import { NetworkFlags } from '../edf/framework.js';
import { setInHostCodec } from '../proto/link_pool.js';
import { privateFrameCodec } from './private_frame.js';
import { PortSocket } from './port_socket.js';
import { ByteRing, DEFAULT_RING_SIZE } from './ring.js';

/** The message that carries a new link over a control port: its port and its two rings. */
interface DialMessage {
  dial: MessagePort;
  /** [dialler → acceptor, acceptor → dialler]. */
  rings: [SharedArrayBuffer, SharedArrayBuffer];
}

function isDial(m: unknown): m is DialMessage {
  return typeof m === 'object' && m !== null && (m as DialMessage).dial !== undefined;
}

/** Options of an {@link InHostTransport}. */
export interface InHostOptions {
  /**
   * Bytes of each direction's ring of the links this node dials (a power of two, 4 KiB..1 GiB;
   * default 4 MiB). A writer whose peer does not read holds what does not fit.
   */
  ringSize?: number;
  /**
   * Announce the in-host private frame in this node's in-host handshakes (default true): with a
   * peer that announces it too, the hot messages go as short records with interned senders and
   * targets instead of ENP packets. False: ENP only (a peer with it on still talks to this node).
   */
  frame?: boolean;
}

setInHostCodec(privateFrameCodec);

/**
 * The control ports of one node. Lifecycle: created by the cluster worker, attached to the
 * node's network (`NetworkImpl.attachInHost`); {@link InHostTransport.close} (called by the
 * network's stop) closes every control port. Control ports are unref'd: they never keep a
 * thread alive on their own.
 */
export class InHostTransport {
  readonly #peers = new Map<string, MessagePort>();
  #accept: ((socket: PortSocket) => void) | null = null;
  /** Links that arrived before the network attached (kept in order). */
  #early: PortSocket[] = [];
  #closed = false;
  readonly #ringSize: number;
  readonly #frame: boolean;
  #flagsIn: NetworkFlags | null = null;
  #flagsOut: NetworkFlags | null = null;

  /** ErrIncorrect for a bad ring size. */
  constructor(options: InHostOptions = {}) {
    this.#ringSize = options.ringSize ?? DEFAULT_RING_SIZE;
    this.#frame = options.frame !== false;
    ByteRing.check(this.#ringSize);
  }

  /** The flags an in-host handshake announces: the network's, plus the private frame when on. */
  flags(network: NetworkFlags): NetworkFlags {
    if (!this.#frame) return network;
    if (this.#flagsIn !== network || this.#flagsOut === null) {
      this.#flagsIn = network;
      this.#flagsOut = new NetworkFlags({ ...network, inHostFrame: true });
    }
    return this.#flagsOut;
  }

  /** Sets (or replaces) the control port to node `name`. */
  setPeer(name: string, control: MessagePort): void {
    if (this.#closed) {
      control.close();
      return;
    }
    this.#peers.get(name)?.close();
    this.#peers.set(name, control);
    control.on('message', (m: unknown) => {
      if (!isDial(m)) return;
      let s: PortSocket;
      try {
        s = new PortSocket(m.dial, new ByteRing(m.rings[1]), new ByteRing(m.rings[0]));
      } catch {
        m.dial.close(); // not a link this transport made: refused as a bad connect
        return;
      }
      if (this.#accept !== null) this.#accept(s);
      else this.#early.push(s);
    });
    control.on('close', () => {
      if (this.#peers.get(name) === control) this.#peers.delete(name);
    });
    control.unref();
  }

  /** Forgets node `name` (its control port closes). */
  removePeer(name: string): void {
    const c = this.#peers.get(name);
    this.#peers.delete(name);
    c?.close();
  }

  /** True when node `name` is reachable in-host. */
  has(name: string): boolean {
    return this.#peers.has(name);
  }

  /** Nodes reachable in-host. */
  peers(): string[] {
    return [...this.#peers.keys()];
  }

  /** Opens a new link to node `name`. ErrNoRoute when it is not a peer. */
  dial(name: string): PortSocket {
    const control = this.#peers.get(name);
    if (control === undefined) throw ErrNoRoute.with(`${name} (not an in-host peer)`);
    const { port1, port2 } = new MessageChannel();
    const out = ByteRing.create(this.#ringSize);
    const back = ByteRing.create(this.#ringSize);
    const s = new PortSocket(port1, out, back);
    control.postMessage({ dial: port2, rings: [out.sab, back.sab] } satisfies DialMessage, [port2]);
    return s;
  }

  /** Installs the handler of accepted links (the network's); links that waited go first. */
  onAccept(fn: (socket: PortSocket) => void): void {
    this.#accept = fn;
    const early = this.#early;
    this.#early = [];
    for (const s of early) fn(s);
  }

  /** Closes every control port (links already up stay up until their connection ends). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#accept = null;
    for (const c of this.#peers.values()) c.close();
    this.#peers.clear();
    for (const s of this.#early) s.destroy();
    this.#early = [];
  }
}

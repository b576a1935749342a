// Resolving node names through the embedded registrar (WIRE.md §4.3): one UDP request to the
// registrar port on the host part of the name, one datagram back. The socket is connected to the
// registrar (as Go's DialUDP), so the kernel drops datagrams from any other address or port: a
// forged reply cannot point the node at an attacker (who would get its Hello) or strip TLS from
// a route. A node that serves the registrar itself answers names on its own host from memory.

import dgram from 'node:dgram';
import { boundText, ErgoError, ErrIncorrect, ErrNoRoute, ErrUnknown, ErrUnsupported } from '../../gen/errors.js';
import type { Atom } from '../../gen/atom.js';
import type { ApplicationRoute, ProxyRoute, Resolver, Route } from '../../gen/network.js';
import { Route as WireRoute, WireVersion } from '../edf/framework.js';
import { type MessageResolveReply, MessageResolveRoutes } from './messages.js';
import { RegistrarCodec, RegistrarPacketType } from './packet.js';
import { ignorable, rejected } from '../../gen/ignorable.js';
import { cachedLookup } from '../../lib/localhost_lookup.js';

/**
 * Code of the error a resolve (and so a dial) gets when the registrar cannot be asked: no reply
 * in time, its host or port unreachable, or (another registrar) its service down or without
 * quorum. Not "the node is unknown": that is ERR_NO_ROUTE.
 */
export const ErrRegistrarUnavailable = new ErgoError('ERR_REGISTRAR_UNAVAILABLE', 'registrar unavailable');

/**
 * A resolve the registrar did not answer in time: no reply within the registrar's own timeout
 * (the embedded resolver's `resolveTimeout`), or within the dial's bound. Its code is
 * ERR_REGISTRAR_UNAVAILABLE, as every registrar-unavailable error's; `unanswered` tells it apart
 * from a registrar that refused (its host or port unreachable), so no one reads its text. A dial
 * asks again on it only a registrar whose `resolveRetryable` is true (the embedded one; see
 * `Registrar.resolveRetryable`). A registrar of your own may throw it for its own timeout.
 */
export class RegistrarUnansweredError extends ErgoError {
  /** Always true: the registrar was asked and gave no answer in time (not a refusal). */
  readonly unanswered = true as const;

  /**
   * @param detail appended to `registrar unavailable: ` (cut as {@link ErgoError.with} cuts it).
   * @param cause the timeout's own error, if any.
   */
  constructor(detail: string, cause?: unknown) {
    super(
      ErrRegistrarUnavailable.code,
      `${ErrRegistrarUnavailable.message}: ${boundText(detail)}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * True when the first error with code ERR_REGISTRAR_UNAVAILABLE in `err`'s cause chain (`err`
 * itself first) is a {@link RegistrarUnansweredError}: the registrar gave no answer in time.
 * Read by its `unanswered` flag, not `instanceof`, so one from another copy of ergo-ts counts too.
 */
export function isRegistrarUnanswered(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (ErrRegistrarUnavailable.is(e)) return (e as { unanswered?: unknown }).unanswered === true;
  }
  return false;
}

/** Longest node name on the wire (an atom), in UTF-8 bytes. */
export const MAX_NODE_NAME = 255;

/**
 * Splits `name@host`.
 * @throws ErgoError ERR_INCORRECT unless there is exactly one `@` between non-empty parts and the
 *   name fits in {@link MAX_NODE_NAME} UTF-8 bytes.
 */
export function splitNodeName(node: string): { name: string; host: string } {
  const at = node.indexOf('@');
  if (at <= 0 || at === node.length - 1 || node.indexOf('@', at + 1) !== -1)
    throw ErrIncorrect.with(`node name must be name@host, got ${JSON.stringify(node)}`);
  if (Buffer.byteLength(node, 'utf8') > MAX_NODE_NAME)
    throw ErrIncorrect.with(`node name is longer than ${MAX_NODE_NAME} bytes`);
  return { name: node.slice(0, at), host: node.slice(at + 1) };
}

/** A gen Route as the wire carries it. */
export function toWireRoute(r: Route): WireRoute {
  return new WireRoute({
    host: r.host,
    port: r.port,
    tls: r.tls,
    handshakeVersion: new WireVersion(r.handshakeVersion),
    protoVersion: new WireVersion(r.protoVersion),
  });
}

/** A wire route as gen's plain {@link Route} (an empty host stays empty: it means the name's host). */
export function fromWireRoute(r: WireRoute): Route {
  return {
    host: r.host,
    port: r.port,
    tls: r.tls,
    handshakeVersion: { ...r.handshakeVersion },
    protoVersion: { ...r.protoVersion },
  };
}

/** The first re-ask of an unanswered resolve, in ms (then twice as long each time). */
const RESEND_FIRST_MS = 500;

/** Options of {@link EmbeddedResolver}. */
export interface EmbeddedResolverOptions {
  /** Registrar port on every host. Default 4499. */
  port: number;
  /**
   * How long to wait for the UDP reply, in ms (Ergo: 3 s). Expiry rejects with a
   * {@link RegistrarUnansweredError} (ERR_REGISTRAR_UNAVAILABLE).
   */
  resolveTimeout: number;
  /** Answers from memory for names on `host` when this node serves the registrar; undefined = ask by UDP. */
  local?: (host: string, node: string) => Route[] | null | undefined;
}

/**
 * The {@link Resolver} of the embedded registrar. Stateless between calls (one UDP socket per
 * request, connected to the registrar's address and port and closed when it is answered), so it
 * works before and without registration. Replies from any other address or port are ignored. An
 * unanswered request is sent again after 0.5 s, 1.5 s, 3.5 s… within `resolveTimeout` (Go Ergo
 * sends one).
 */
export class EmbeddedResolver implements Resolver {
  readonly #codec = new RegistrarCodec();
  readonly #options: EmbeddedResolverOptions;

  constructor(options: EmbeddedResolverOptions) {
    this.#options = options;
  }

  /**
   * Routes of `node`, each as registered (an empty host means the host of the node name).
   * @throws ErgoError ERR_INCORRECT (not name@host), ERR_NO_ROUTE (the registrar does not know
   *   the name), ERR_REGISTRAR_UNAVAILABLE (the registrar's host or port cannot be reached, or no
   *   reply within `resolveTimeout`: a {@link RegistrarUnansweredError}).
   */
  resolve(node: Atom): Promise<Route[]> {
    return ignorable(this.#resolve(node), undefined, `resolve ${node}`);
  }

  async #resolve(node: Atom): Promise<Route[]> {
    const { host } = splitNodeName(node);
    const local = this.#options.local?.(host, node);
    if (local !== undefined) {
      if (local === null || local.length === 0) throw ErrNoRoute.with(`registrar does not know ${node}`);
      return local;
    }
    const reply = await this.#ask(host, node);
    if (reply.error !== null) {
      if (ErrUnknown.is(reply.error))
        throw ErrNoRoute.with(`registrar at ${host}:${this.#options.port} does not know ${node}`);
      throw ErrNoRoute.with(`registrar at ${host}:${this.#options.port}: ${reply.error.message}`, reply.error);
    }
    if (reply.routes === null || reply.routes.length === 0)
      throw ErrNoRoute.with(`registrar at ${host}:${this.#options.port} has no routes for ${node}`);
    return reply.routes.map(fromWireRoute);
  }

  /** The embedded registrar has no proxy routes. @throws ErgoError ERR_UNSUPPORTED always. */
  resolveProxy(_node: Atom): Promise<ProxyRoute[]> {
    return rejected(
      ErrUnsupported.with('the embedded registrar does not resolve proxy routes'),
      undefined,
      'resolveProxy',
    );
  }

  /** The embedded registrar has no application routes. @throws ErgoError ERR_UNSUPPORTED always. */
  resolveApplication(_name: Atom): Promise<ApplicationRoute[]> {
    return rejected(
      ErrUnsupported.with('the embedded registrar does not resolve application routes'),
      undefined,
      'resolveApplication',
    );
  }

  #ask(host: string, node: string): Promise<MessageResolveReply> {
    const { port, resolveTimeout } = this.#options;
    const request = this.#codec.encode(new MessageResolveRoutes({ node }));
    return new Promise((resolve, reject) => {
      const udp = dgram.createSocket({ type: 'udp4', lookup: cachedLookup as dgram.SocketOptions['lookup'] });
      let settled = false;
      let resend: ReturnType<typeof setTimeout> | undefined;
      const finish = (err: ErgoError | null, reply?: MessageResolveReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (poll !== undefined) clearImmediate(poll);
        clearTimeout(resend);
        udp.close();
        if (err !== null) reject(err);
        else resolve(reply!);
      };
      let poll: NodeJS.Immediate | undefined;
      // A loop turn of a starved process can outlast the timeout (many handshakes read in one
      // poll phase): the next turn runs due timers before it reads the sockets, so the timeout
      // waits one poll phase, which reads a reply that has arrived meanwhile.
      const timer = setTimeout(() => {
        poll = setImmediate(() =>
          finish(
            new RegistrarUnansweredError(
              `no reply from the registrar at ${host}:${port} within ${resolveTimeout} ms resolving ${node}`,
            ),
          ),
        );
      }, resolveTimeout);
      udp.on('error', (err) =>
        finish(ErrRegistrarUnavailable.with(`registrar at ${host}:${port}: ${err.message}`, err)),
      );
      udp.on('message', (msg, rinfo) => {
        // The kernel filters a connected socket; checked again so no platform quirk lets one in.
        let peer: { address: string; port: number };
        try {
          peer = udp.remoteAddress();
        } catch {
          return; // not connected yet: nothing can be the reply
        }
        if (rinfo.address !== peer.address || rinfo.port !== peer.port) return;
        try {
          finish(null, this.#codec.decode(msg, RegistrarPacketType.ResolveReply) as MessageResolveReply);
        } catch (err) {
          finish(ErrNoRoute.with(`registrar at ${host}:${port} sent a bad reply: ${(err as Error).message}`, err));
        }
      });
      // A lookup or connect failure goes to 'error' (no callback given to connect).
      // A datagram lost on the way (a registrar's receive buffer full while a hundred nodes ask at
      // once) is asked again, as a DNS resolver does: at RESEND_FIRST_MS, then twice as long each
      // time, until the reply or `resolveTimeout`. The question is idempotent; any answer will do.
      let wait = RESEND_FIRST_MS;
      const send = (): void => {
        if (settled) return;
        udp.send(request, (err) => {
          if (err) finish(ErrRegistrarUnavailable.with(`registrar at ${host}:${port}: ${err.message}`, err));
        });
        resend = setTimeout(send, wait);
        wait *= 2;
      };
      udp.once('connect', send);
      udp.connect(port, host);
    });
  }
}

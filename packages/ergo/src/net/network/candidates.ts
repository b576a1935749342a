// Where to dial a node, and the socket to it (WIRE.md §4.3): its in-host link when it is a node
// of this host's cluster, else its static routes (with their resolvers), else the registrar. A
// registrar that cannot be asked (stopped, unreachable, etcd without quorum) is named in the
// error with its own code, ERR_REGISTRAR_UNAVAILABLE, within 3 s (REGISTRAR_ANSWER_BOUND): the calls queued
// for the node fail with it rather than wait out their timeouts with a wrong hint.

import net from 'node:net';
import type { Atom } from '../../gen/atom.js';
import { ErgoError, ErrIncorrect, ErrNoConnection, ErrNoRoute, ErrTimeout, toError } from '../../gen/errors.js';
import type { Log } from '../../gen/log.js';
import type { CertManager, NetworkRoute, Registrar } from '../../gen/network.js';
import type { NetworkFlags } from '../edf/framework.js';
import type { InHostTransport } from '../inhost/transport.js';
import { ErrRegistrarUnavailable, RegistrarUnansweredError } from '../registrar/resolver.js';
import { dialTls } from '../tls/socket.js';
import { wireFlags } from './acceptor.js';
import type { RouteTable } from './routes.js';
import { cachedLookup } from '../../lib/localhost_lookup.js';

/**
 * Longest wait for the registrar's answer in a dial, in ms (or the dial timeout when shorter):
 * Ergo's resolve timeout, below the default call timeout (5 s), so calls queued for the node
 * fail with the registrar's error rather than at their own timeouts.
 */
export const REGISTRAR_ANSWER_BOUND = 3000;

/** One way to reach a node: an address (or an in-host link) and the terms to handshake with. */
export interface Candidate {
  route: NonNullable<NetworkRoute['route']>; // a dial reads host, port and tls only
  cookie: string;
  insecureSkipVerify: boolean;
  cert: NetworkRoute['cert'];
  flags: NetworkFlags;
  /** An in-host link to the peer (cluster nodes of one process), instead of a TCP dial. */
  open?: () => net.Socket;
}

/** What {@link candidates} reads from the network. */
export interface CandidateSource {
  readonly log: Log;
  readonly inHost: InHostTransport | null;
  readonly routes: RouteTable;
  readonly registrar: Registrar | null;
  readonly cookie: string;
  readonly flags: NetworkFlags;
  readonly insecureSkipVerify: boolean;
  /** The network's dialTimeout, in ms (it bounds the registrar's answer too). */
  readonly dialTimeout: number;
}

/** The host part of `name@host`. */
export function hostOf(name: string): string {
  return name.slice(name.indexOf('@') + 1);
}

/** `host:port` (IPv6 in brackets) split. */
export function splitDSN(dsn: string): { host: string; port: number } {
  const i = dsn.lastIndexOf(':');
  const host = dsn.slice(0, i).replace(/^\[|\]$/g, '');
  return { host, port: Number(dsn.slice(i + 1)) };
}

/**
 * Routes to try for `name`: the in-host link, static routes (with their resolvers), else the
 * registrar; `only` replaces them all (getNodeWithRoute).
 * @throws ErgoError ERR_NO_ROUTE (nothing to dial), ERR_REGISTRAR_UNAVAILABLE (the registrar
 *   failed or did not answer within the dial timeout; the cause is its error), ERR_INCORRECT.
 */
export async function candidates(src: CandidateSource, name: Atom, only?: NetworkRoute): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const inHost = src.inHost;
  if (only === undefined && inHost !== null && inHost.has(name)) {
    // A node of this host's cluster: its in-host link, with this network's own terms.
    out.push({
      route: { host: 'inhost', port: 0, tls: false },
      cookie: src.cookie,
      insecureSkipVerify: false,
      cert: undefined,
      flags: inHost.flags(src.flags),
      open: () => inHost.dial(name) as unknown as net.Socket,
    });
    return out;
  }
  const add = (r: NetworkRoute, route: NonNullable<NetworkRoute['route']>): void => {
    out.push({
      route,
      cookie: r.cookie ?? src.cookie,
      insecureSkipVerify: r.insecureSkipVerify ?? src.insecureSkipVerify,
      cert: r.cert,
      flags: wireFlags(r.flags, src.flags),
    });
  };
  const statics = only !== undefined ? [{ route: only }] : src.routes.lookup(name);
  if (statics.length > 0) {
    for (const s of statics) {
      const r = s.route;
      if (r.route !== undefined) add(r, r.route);
      else if (r.resolver !== undefined) {
        try {
          for (const x of await r.resolver.resolve(name)) add(r, x);
        } catch (e) {
          src.log.warning('route resolver for %s failed: %s', name, toError(e).message);
        }
      }
    }
    if (out.length === 0) throw ErrNoRoute.with(name);
    return out;
  }
  if (src.registrar === null) throw ErrNoRoute.with(`${name} (no static route and no registrar)`);
  const bound = Math.min(src.dialTimeout, REGISTRAR_ANSWER_BOUND);
  for (const x of await resolveWithRegistrar(src.registrar, name, bound)) add({}, x);
  if (out.length === 0) throw ErrNoRoute.with(name);
  return out;
}

/**
 * The registrar's routes for `name`, within `bound` ms. Its "no such node" (ERR_NO_ROUTE) and a
 * bad name (ERR_INCORRECT) pass through; anything else means the registrar could not be asked:
 * ERR_REGISTRAR_UNAVAILABLE, a {@link RegistrarUnansweredError} when it gave no answer in time
 * (its own, passed through, or the bound's).
 */
async function resolveWithRegistrar(registrar: Registrar, name: Atom, bound: number) {
  const what = registrarName(registrar);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Error(`no answer within ${bound} ms`);
  let poll: NodeJS.Immediate | undefined;
  const late = new Promise<never>((_, reject) => {
    // A stalled event loop runs due timers before it reads its sockets: one poll phase first.
    timer = setTimeout(() => (poll = setImmediate(() => reject(timedOut))), bound);
  });
  try {
    const p = registrar.resolver().resolve(name);
    return await Promise.race([p, late]);
  } catch (e) {
    if (ErrNoRoute.is(e) || ErrIncorrect.is(e) || ErrRegistrarUnavailable.is(e)) throw e;
    const err = toError(e);
    // No answer within the bound: typed, so the dial can ask a registrar that allows it again
    // (Registrar.resolveRetryable, establish.ts); any other registrar fails the dial now.
    if (err === timedOut)
      throw new RegistrarUnansweredError(`registrar ${what} could not resolve ${name}: ${err.message}`, err);
    const why = err instanceof ErgoError ? `${err.code}: ${err.message}` : err.message;
    throw ErrRegistrarUnavailable.with(`registrar ${what} could not resolve ${name}: ${why}`, err);
  } finally {
    clearTimeout(timer);
    if (poll !== undefined) clearImmediate(poll);
  }
}

function registrarName(r: Registrar): string {
  try {
    const v = r.version();
    return v.name === '' ? '(custom)' : `${v.name}${v.release !== '' ? ' ' + v.release : ''}`;
  } catch {
    return '(custom)';
  }
}

/** Opens a TCP (or TLS) socket to `host:port` within `dialTimeout` ms. */
export function openSocket(
  host: string,
  port: number,
  c: Candidate,
  dialTimeout: number,
  certManager: CertManager | undefined,
): Promise<net.Socket> {
  if (c.route.tls) {
    // The route's certificate (mutual TLS), else the network's; verification unless insecureSkipVerify.
    return dialTls(c.cert ?? certManager, {
      host,
      port,
      insecureSkipVerify: c.insecureSkipVerify,
      handshakeTimeout: dialTimeout,
    });
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, lookup: cachedLookup as net.LookupFunction });
    let poll: NodeJS.Immediate | undefined;
    // A stalled event loop runs due timers before it reads its sockets: one poll phase first,
    // so a connect that completed meanwhile is not taken for a timeout.
    const timer = setTimeout(() => {
      poll = setImmediate(() => {
        socket.destroy();
        reject(ErrTimeout.with(`connect to ${host}:${port} (dialTimeout ${dialTimeout} ms)`));
      });
    }, dialTimeout);
    socket.once('connect', () => {
      clearTimeout(timer);
      if (poll !== undefined) clearImmediate(poll);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      if (poll !== undefined) clearImmediate(poll);
      reject(ErrNoConnection.with(`${host}:${port}: ${err.message}`));
    };
    socket.once('error', onError);
  });
}

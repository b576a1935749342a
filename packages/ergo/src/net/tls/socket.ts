// TLS for acceptors and dialers: turns a certificate manager into node:tls options, upgrades an
// accepted TCP socket with the manager's current certificate (so a swapped certificate is served
// to the next connection), applies Go's client-auth modes (some of which node:tls cannot express
// alone), and dials with the client side of the same settings.

import net from 'node:net';
import type * as tls from 'node:tls';
import type { Socket } from 'node:net';
import { type ErgoError, ErrIncorrect, ErrNoConnection, ErrNotAllowed, ErrTimeout } from '../../gen/errors.js';
import type { CertManager } from '../../gen/network.js';
import { nodeTls } from '../../lib/builtin.js';
import { CertAuthManager, CertificateManager, ClientAuth, tlsBytes } from './manager.js';

/** Default time a TLS handshake may take, in ms (accept and dial). */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT = 5000;

function clientAuthOf(cm: CertManager): ClientAuth {
  return cm instanceof CertAuthManager ? cm.clientAuth() : ClientAuth.NoClientCert;
}

/**
 * node:tls server options for `cm` (for `tls.createServer`): its key pair (or cached context),
 * and for a {@link CertAuthManager} the client CAs and the client-auth mode mapped to
 * `requestCert`/`rejectUnauthorized`. Modes node:tls cannot enforce alone (RequireAnyClientCert,
 * VerifyClientCertIfGiven) also need {@link checkClientAuth} on each secure socket;
 * {@link TlsAcceptContext} does both.
 */
export function tlsServerOptions(cm: CertManager): tls.TlsOptions {
  const mode = clientAuthOf(cm);
  const requestCert = mode !== ClientAuth.NoClientCert;
  const rejectUnauthorized = mode === ClientAuth.RequireAndVerifyClientCert;
  const pair = cm.certificate();
  const key = tlsBytes(pair.key);
  const cert = tlsBytes(pair.cert);
  const ca = cm instanceof CertAuthManager && cm.clientCAs().length > 0 ? cm.clientCAs() : undefined;
  return { key, cert, ...(ca ? { ca } : {}), requestCert, rejectUnauthorized };
}

/**
 * Checks a secure server-side socket against the client-auth mode of `cm`. Returns null when
 * the peer may stay, else an ErgoError ERR_NOT_ALLOWED saying why (the caller closes the socket).
 */
export function checkClientAuth(socket: tls.TLSSocket, cm: CertManager): ErgoError | null {
  const mode = clientAuthOf(cm);
  if (mode === ClientAuth.NoClientCert || mode === ClientAuth.RequestClientCert) return null;
  const given = socket.getPeerX509Certificate() !== undefined;
  if (!given && mode !== ClientAuth.VerifyClientCertIfGiven)
    return ErrNotAllowed.with('TLS client presented no certificate');
  if (given && mode !== ClientAuth.RequireAnyClientCert && !socket.authorized) {
    return ErrNotAllowed.with(
      `TLS client certificate not trusted: ${String(socket.authorizationError ?? 'unverified')}`,
    );
  }
  return null;
}

/**
 * Server options for {@link TlsAcceptContext}: OpenSSL never aborts the handshake over a client
 * certificate (it would close the socket without saying why); {@link checkClientAuth} decides
 * on the finished handshake, before the acceptor sees a single byte, with a clear reason.
 */
function acceptOptions(cm: CertManager): tls.TlsOptions {
  return { ...tlsServerOptions(cm), rejectUnauthorized: false };
}

/** Options of {@link TlsAcceptContext}. */
export interface TlsAcceptOptions {
  /** Longest TLS handshake of an accepted connection, in ms. Default 5000; expiry: ERR_TIMEOUT. */
  handshakeTimeout?: number;
}

function handshakeTimeoutOf(v: number | undefined): number {
  if (v === undefined) return DEFAULT_TLS_HANDSHAKE_TIMEOUT;
  if (!Number.isInteger(v) || v < 1)
    throw ErrIncorrect.with(`handshakeTimeout must be a positive integer (ms), got ${String(v)}`);
  return v;
}

interface Pending {
  resolve(s: tls.TLSSocket): void;
  reject(e: ErgoError): void;
}

/**
 * The TLS side of one acceptor. The acceptor listens with plain `net` and hands each accepted
 * socket to {@link accept}, which upgrades it with the manager's *current* certificate and
 * client-auth settings (a certificate swapped with `update` is served to the next connection)
 * and resolves with the secure socket once the client-auth mode is satisfied.
 *
 * Lifecycle: construct per acceptor (cheap; no port is opened) → `accept` per connection → drop.
 */
export class TlsAcceptContext {
  readonly #cm: CertManager;
  readonly #server: tls.Server;
  readonly #pending = new Map<string, Pending>();
  #generation: unknown;

  /** @throws ErgoError ERR_INCORRECT for a bad handshakeTimeout or an unusable certificate. */
  constructor(cm: CertManager, options: TlsAcceptOptions = {}) {
    this.#cm = cm;
    const handshakeTimeout = handshakeTimeoutOf(options.handshakeTimeout);
    try {
      // Never listens: accepted sockets are handed to it (its 'connection' handler wraps them).
      this.#server = nodeTls().createServer({ ...acceptOptions(cm), handshakeTimeout });
    } catch (err) {
      throw ErrIncorrect.with(`TLS acceptor: ${(err as Error).message}`, err);
    }
    this.#generation = this.#stamp();
    this.#server.on('secureConnection', (s: tls.TLSSocket) => {
      const p = this.#take(s);
      if (p === undefined) {
        s.destroy();
        return;
      }
      const refused = checkClientAuth(s, this.#cm);
      if (refused !== null) {
        s.destroy();
        p.reject(refused);
      } else p.resolve(s);
    });
    this.#server.on('tlsClientError', (err: NodeJS.ErrnoException, s: tls.TLSSocket) => {
      const p = this.#take(s);
      if (p === undefined) return;
      s.destroy();
      if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT')
        p.reject(ErrTimeout.with(`TLS handshake took longer than ${handshakeTimeout} ms`, err));
      else p.reject(ErrNotAllowed.with(`TLS handshake failed: ${err.message}`, err));
    });
  }

  /**
   * Upgrades an accepted TCP socket. Resolves with the TLS socket; rejects with ERR_NOT_ALLOWED
   * (handshake failed, or the client certificate is missing/untrusted for the client-auth mode),
   * ERR_TIMEOUT (handshake too slow) or ERR_NO_CONNECTION (the socket closed first). The raw
   * socket is destroyed on failure.
   */
  accept(raw: Socket): Promise<tls.TLSSocket> {
    this.#refresh();
    const key = `${raw.remoteAddress}|${raw.remotePort}`;
    return new Promise((resolve, reject) => {
      const onClose = (): void => {
        if (this.#pending.get(key) === entry) {
          this.#pending.delete(key);
          reject(ErrNoConnection.with('socket closed during the TLS handshake'));
        }
      };
      const entry: Pending = {
        resolve: (s) => {
          raw.off('close', onClose);
          resolve(s);
        },
        reject: (e) => {
          raw.off('close', onClose);
          raw.destroy();
          reject(e);
        },
      };
      this.#pending.set(key, entry);
      raw.once('close', onClose);
      this.#server.emit('connection', raw);
    });
  }

  #take(s: tls.TLSSocket): Pending | undefined {
    const key = `${s.remoteAddress}|${s.remotePort}`;
    const p = this.#pending.get(key);
    if (p !== undefined) this.#pending.delete(key);
    return p;
  }

  /** What identifies the manager's current settings (generation for ours, the pair for others). */
  #stamp(): unknown {
    const cm = this.#cm;
    if (cm instanceof CertificateManager) return cm.generation();
    const { key, cert } = cm.certificate();
    return `${String(key)}\u0000${String(cert)}`;
  }

  #refresh(): void {
    const stamp = this.#stamp();
    if (stamp === this.#generation) return;
    this.#generation = stamp;
    const opts = acceptOptions(this.#cm);
    this.#server.setSecureContext(opts);
    // The server reads requestCert per connection from itself; setSecureContext leaves it.
    (this.#server as unknown as { requestCert: boolean }).requestCert = opts.requestCert === true;
  }
}

/** Options of {@link tlsClientOptions} and {@link dialTls}. */
export interface TlsDialOptions {
  /** Host to dial (also the default name the acceptor's certificate must carry). */
  host: string;
  port?: number;
  /** Skip verifying the acceptor's certificate (Ergo's `InsecureSkipVerify`; default false). */
  insecureSkipVerify?: boolean;
  /** Longest TLS handshake, in ms. Default 5000; expiry: ERR_TIMEOUT. */
  handshakeTimeout?: number;
}

/**
 * node:tls client options (for `tls.connect`) for dialling `options.host` with `cm` (may be
 * undefined: no client certificate). A {@link CertAuthManager} contributes its root CAs and
 * server name. Verification is on unless `insecureSkipVerify`.
 */
export function tlsClientOptions(cm: CertManager | undefined, options: TlsDialOptions): tls.ConnectionOptions {
  const out: tls.ConnectionOptions = { host: options.host, rejectUnauthorized: options.insecureSkipVerify !== true };
  if (options.port !== undefined) out.port = options.port;
  if (cm instanceof CertificateManager) out.secureContext = cm.clientContext();
  else if (cm !== undefined) {
    const { key, cert } = cm.certificate();
    out.key = tlsBytes(key);
    out.cert = tlsBytes(cert);
  }
  const serverName = cm instanceof CertAuthManager && cm.serverName() !== '' ? cm.serverName() : options.host;
  // SNI carries host names only; an IP address is checked against the certificate's IP SANs.
  if (net.isIP(serverName) === 0) out.servername = serverName;
  else out.checkServerIdentity = (_host, c) => nodeTls().checkServerIdentity(serverName, c);
  return out;
}

/**
 * Dials `host:port` with TLS. Resolves with the secure socket; rejects with ERR_NO_CONNECTION
 * (connect failed, or the acceptor's certificate was refused: the message says why), or
 * ERR_TIMEOUT (handshake too slow).
 */
export function dialTls(
  cm: CertManager | undefined,
  options: TlsDialOptions & { port: number },
): Promise<tls.TLSSocket> {
  const timeout = handshakeTimeoutOf(options.handshakeTimeout);
  return new Promise((resolve, reject) => {
    const socket = nodeTls().connect(tlsClientOptions(cm, options));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(ErrTimeout.with(`TLS handshake with ${options.host}:${options.port} took longer than ${timeout} ms`));
    }, timeout);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(ErrNoConnection.with(`TLS to ${options.host}:${options.port}: ${err.message}`, err));
    });
  });
}

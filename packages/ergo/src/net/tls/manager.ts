// Certificate managers (Ergo's gen.CertManager and, since 3.2.0, gen.CertAuthManager for mutual
// TLS). A manager holds the key and certificate a node serves and presents; `update` swaps them
// at run time and every connection made afterwards uses the new pair (existing ones keep theirs).
// CertAuthManager adds the CA pools and the client-auth mode of Go's crypto/tls.

import type { SecureContext } from 'node:tls';
import { nodeCrypto } from '../../lib/builtin.js';
import { ErrIncorrect } from '../../gen/errors.js';
import { nodeTls } from '../../lib/builtin.js';
import type { CertManager } from '../../gen/network.js';

/** A PEM (or DER-free PEM bytes) key and certificate chain. */
export interface KeyPair {
  key: string | Uint8Array;
  cert: string | Uint8Array;
}

/**
 * How an acceptor treats client certificates (Go's `tls.ClientAuthType`, same values):
 * - `NoClientCert` — not asked for (default).
 * - `RequestClientCert` — asked for, not required, not verified.
 * - `RequireAnyClientCert` — required, not verified.
 * - `VerifyClientCertIfGiven` — not required; if given, must verify against the client CAs.
 * - `RequireAndVerifyClientCert` — required and verified against the client CAs (mutual TLS).
 */
export const ClientAuth = {
  NoClientCert: 0,
  RequestClientCert: 1,
  RequireAnyClientCert: 2,
  VerifyClientCertIfGiven: 3,
  RequireAndVerifyClientCert: 4,
} as const;
/** @see ClientAuth */
export type ClientAuth = (typeof ClientAuth)[keyof typeof ClientAuth];

/** A key pair as node:tls takes it (bytes as Buffer views, no copy). */
export interface TlsKeyPair {
  key: string | Buffer;
  cert: string | Buffer;
}

/** `v` as node:tls accepts it: strings as they are, bytes as a Buffer view. */
export function tlsBytes(v: string | Uint8Array): string | Buffer {
  return typeof v === 'string' || Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function checkPair(pair: KeyPair): TlsKeyPair {
  if (pair === null || typeof pair !== 'object') throw ErrIncorrect.with('a key pair must be { key, cert }');
  const ok = (v: unknown): boolean => typeof v === 'string' || v instanceof Uint8Array;
  if (!ok(pair.key) || !ok(pair.cert)) throw ErrIncorrect.with('key and cert must be PEM strings or bytes');
  const key = tlsBytes(pair.key);
  const cert = tlsBytes(pair.cert);
  try {
    // Fails early, at the call that set them, rather than at the next connection.
    nodeTls().createSecureContext({ key, cert });
  } catch (err) {
    throw ErrIncorrect.with(`key pair is not usable for TLS: ${(err as Error).message}`, err);
  }
  return { key, cert };
}

function checkPems(what: string, pems: string | string[]): string[] {
  const list = typeof pems === 'string' ? [pems] : [...pems];
  for (const p of list) {
    try {
      new (nodeCrypto().X509Certificate)(p);
    } catch (err) {
      throw ErrIncorrect.with(`${what}: not a PEM certificate: ${(err as Error).message}`, err);
    }
  }
  return list;
}

/**
 * A certificate manager (gen `CertManager`): the key pair a node serves on its TLS acceptors and
 * presents when a peer asks for a client certificate. Use it in `NetworkOptions`/
 * `AcceptorOptions.certManager` and `NetworkRoute.cert`.
 *
 * `generation()` changes on every update, so users of the manager (net/tls/socket.ts) rebuild
 * their TLS contexts only when something changed.
 */
export class CertificateManager implements CertManager {
  #pair: TlsKeyPair;
  #generation = 0;
  #serverContext: SecureContext | null = null;
  #clientContext: SecureContext | null = null;

  /** @throws ErgoError ERR_INCORRECT if the pair is not a usable PEM key and certificate. */
  constructor(pair: KeyPair) {
    this.#pair = checkPair(pair);
  }

  /** The current key and certificate chain. */
  certificate(): TlsKeyPair {
    return this.#pair;
  }

  /**
   * Swaps the key pair at run time: connections accepted or dialled afterwards use it; open
   * connections keep the one they were made with.
   * @throws ErgoError ERR_INCORRECT if the pair is not usable (the old one stays).
   */
  update(pair: KeyPair): void {
    this.#pair = checkPair(pair);
    this.changed();
  }

  /** Increases on every change (key pair, CA pools, client-auth mode, server name). */
  generation(): number {
    return this.#generation;
  }

  /** Server-side TLS context (key pair and, for mutual TLS, the client CAs), cached per generation. */
  serverContext(): SecureContext {
    return (this.#serverContext ??= nodeTls().createSecureContext({ ...this.#pair, ...this.serverExtras() }));
  }

  /** Client-side TLS context (key pair presented to servers that ask; root CAs), cached per generation. */
  clientContext(): SecureContext {
    return (this.#clientContext ??= nodeTls().createSecureContext({ ...this.#pair, ...this.clientExtras() }));
  }

  /** @internal Invalidates the cached contexts; subclasses call it when their settings change. */
  protected changed(): void {
    this.#generation++;
    this.#serverContext = null;
    this.#clientContext = null;
  }

  /** @internal Extra server context options (client CAs). */
  protected serverExtras(): { ca?: string[] } {
    return {};
  }

  /** @internal Extra client context options (root CAs). */
  protected clientExtras(): { ca?: string[] } {
    return {};
  }
}

/**
 * A certificate manager for mutual TLS (gen `CertAuthManager`, Ergo 3.2.0): the key pair plus
 * - `clientCAs` — CAs an acceptor verifies client certificates against,
 * - `clientAuth` — whether clients must present a certificate and whether it is verified,
 * - `rootCAs` — CAs a dialling node verifies the acceptor's certificate against (instead of
 *   Node's bundled store; as in Go, `insecureSkipVerify` still turns verification off),
 * - `serverName` — the name the acceptor's certificate must carry when dialling (default: the
 *   host of the route).
 * Every setter takes effect for the next connection.
 */
export class CertAuthManager extends CertificateManager {
  #clientCAs: string[] = [];
  #rootCAs: string[] = [];
  #clientAuth: ClientAuth = ClientAuth.NoClientCert;
  #serverName = '';

  /** CA certificates (PEM) trusted for client certificates. */
  clientCAs(): string[] {
    return [...this.#clientCAs];
  }
  /** @throws ErgoError ERR_INCORRECT if an entry is not a PEM certificate. */
  setClientCAs(pems: string | string[]): void {
    this.#clientCAs = checkPems('clientCAs', pems);
    this.changed();
  }

  /** CA certificates (PEM) trusted for acceptors this node dials; empty = not set. */
  rootCAs(): string[] {
    return [...this.#rootCAs];
  }
  /** @throws ErgoError ERR_INCORRECT if an entry is not a PEM certificate. */
  setRootCAs(pems: string | string[]): void {
    this.#rootCAs = checkPems('rootCAs', pems);
    this.changed();
  }

  clientAuth(): ClientAuth {
    return this.#clientAuth;
  }
  /** @throws ErgoError ERR_INCORRECT for a value that is not one of {@link ClientAuth}. */
  setClientAuth(mode: ClientAuth): void {
    if (!Number.isInteger(mode) || mode < 0 || mode > 4)
      throw ErrIncorrect.with(`clientAuth must be one of ClientAuth (0..4), got ${String(mode)}`);
    this.#clientAuth = mode;
    this.changed();
  }

  /** Name expected in the acceptor's certificate when dialling; '' = the route's host. */
  serverName(): string {
    return this.#serverName;
  }
  setServerName(name: string): void {
    if (typeof name !== 'string') throw ErrIncorrect.with('serverName must be a string');
    this.#serverName = name;
    this.changed();
  }

  protected override serverExtras(): { ca?: string[] } {
    return this.#clientCAs.length > 0 ? { ca: this.#clientCAs } : {};
  }

  protected override clientExtras(): { ca?: string[] } {
    return this.#rootCAs.length > 0 ? { ca: this.#rootCAs } : {};
  }
}

/** A certificate manager for `pair` (Go's `gen.CreateCertManager`). */
export function createCertManager(pair: KeyPair): CertificateManager {
  return new CertificateManager(pair);
}

/** A mutual-TLS certificate manager for `pair` (Go's `gen.CreateCertAuthManager`). */
export function createCertAuthManager(pair: KeyPair): CertAuthManager {
  return new CertAuthManager(pair);
}

// The certificate manager (Ergo's gen.CertManager): one holder of a TLS certificate shared by
// servers and clients, whose certificate can be swapped at run time (e.g. after a renewal)
// without restarting anything. Servers created with it take new connections with the new
// certificate; connections already open keep theirs.

import type { SecureContextOptions } from 'node:tls';

import { ErrIncorrect } from '../gen/errors.js';

/** A certificate chain and its private key (PEM strings or buffers), plus optional CA. */
export interface TLSCertificate {
  cert: string | Buffer | (string | Buffer)[];
  key: string | Buffer | (string | Buffer)[];
  ca?: string | Buffer | (string | Buffer)[];
  passphrase?: string;
}

/** Holds the current certificate; `update` swaps it and tells every subscriber (servers). */
export interface CertManager {
  /** Replaces the certificate. Servers using this manager serve new connections with it. */
  update(cert: TLSCertificate): void;
  /** The current certificate. */
  certificate(): TLSCertificate;
  /** Calls `fn` on each update; returns the function that unsubscribes. */
  subscribe(fn: (cert: TLSCertificate) => void): () => void;
}

function check(cert: TLSCertificate): TLSCertificate {
  if (cert === null || typeof cert !== 'object' || cert.cert === undefined || cert.key === undefined) {
    throw ErrIncorrect.with('a TLS certificate needs cert and key');
  }
  return cert;
}

/** Creates a certificate manager holding `cert`. ErrIncorrect without cert or key. */
export function createCertManager(cert: TLSCertificate): CertManager {
  let current = check(cert);
  const subscribers = new Set<(cert: TLSCertificate) => void>();
  return {
    update(next: TLSCertificate): void {
      current = check(next);
      for (const fn of subscribers) fn(current);
    },
    certificate(): TLSCertificate {
      return current;
    },
    subscribe(fn: (cert: TLSCertificate) => void): () => void {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}

/** Node TLS options of a certificate. */
export function secureContextOptions(cert: TLSCertificate): SecureContextOptions {
  return { cert: cert.cert, key: cert.key, ca: cert.ca, passphrase: cert.passphrase };
}

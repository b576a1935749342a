// The cookie proofs of EHS:R1 (WIRE.md §2.2–2.4). Every digest is the lowercase hex SHA-256 of
// colon-joined strings ending with the cookie; on TLS the acceptor also binds the cookie to its
// certificate by appending the SHA-1 of its leaf certificate (DER) to the hashed bytes. Salts are
// 64 hex characters (32 random bytes), connection ids 32. Digests are compared in constant time.

import { nodeCrypto } from '../../lib/builtin.js';

/** A fresh salt: 64 lowercase hex characters. */
export function makeSalt(): string {
  return nodeCrypto().randomBytes(32).toString('hex');
}

/** A fresh connection id (MessageAccept.ID): 32 lowercase hex characters. */
export function makeConnectionID(): string {
  return nodeCrypto().randomBytes(16).toString('hex');
}

/** `hex(sha256(parts joined by ":"))`. */
export function digestOf(...parts: string[]): string {
  return nodeCrypto().createHash('sha256').update(parts.join(':'), 'utf8').digest('hex');
}

/** `hex(sha256((parts joined by ":") ‖ fingerprint))`: the TLS-bound digest. */
export function certDigestOf(fingerprint: Uint8Array, ...parts: string[]): string {
  return nodeCrypto().createHash('sha256').update(parts.join(':'), 'utf8').update(fingerprint).digest('hex');
}

/** The TLS fingerprint of a certificate: SHA-1 of its DER bytes (20 raw bytes). */
export function tlsFingerprint(der: Uint8Array): Uint8Array {
  return new Uint8Array(nodeCrypto().createHash('sha1').update(der).digest());
}

/** Step 1, initiator's Hello: `hex(sI:cookie)`. */
export function helloDigest(initiatorSalt: string, cookie: string): string {
  return digestOf(initiatorSalt, cookie);
}

/** Step 2, acceptor's Hello: `hex(sA:dI:cookie)` (dI = the initiator's Hello digest). */
export function helloReplyDigest(acceptorSalt: string, initiatorDigest: string, cookie: string): string {
  return digestOf(acceptorSalt, initiatorDigest, cookie);
}

/** Step 2 on TLS, acceptor's Hello DigestCert: `hex(sha256(sA:sI:cookie ‖ fp))`. */
export function helloCertDigest(
  acceptorSalt: string,
  initiatorSalt: string,
  cookie: string,
  fingerprint: Uint8Array,
): string {
  return certDigestOf(fingerprint, acceptorSalt, initiatorSalt, cookie);
}

/** Step 3, initiator's Introduce: `hex(sA:cookie)`. */
export function introduceDigest(acceptorSalt: string, cookie: string): string {
  return digestOf(acceptorSalt, cookie);
}

/** Join: `hex(ConnectionID:sJ:cookie)`. */
export function joinDigest(connectionID: string, joinSalt: string, cookie: string): string {
  return digestOf(connectionID, joinSalt, cookie);
}

/** Join reply, acceptor's Accept: `hex(dJ:cookie)`. */
export function joinAcceptDigest(joinDigestValue: string, cookie: string): string {
  return digestOf(joinDigestValue, cookie);
}

/** Join reply on TLS, Accept DigestCert: `hex(sha256(dJ:sJ:cookie ‖ fp))`. */
export function joinAcceptCertDigest(
  joinDigestValue: string,
  joinSalt: string,
  cookie: string,
  fingerprint: Uint8Array,
): string {
  return certDigestOf(fingerprint, joinDigestValue, joinSalt, cookie);
}

/** Constant-time comparison of two digests (false for different lengths). */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && nodeCrypto().timingSafeEqual(x, y);
}

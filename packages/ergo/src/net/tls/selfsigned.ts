// X.509 certificates for tests and development, built with node:crypto alone (Node has no
// certificate generator, and ergo-ts has no dependencies): ECDSA P-256 keys, SHA-256 signatures,
// DER assembled by hand. Self-signed leaves, a CA, and leaves signed by that CA (for mutual TLS).
// Not a PKI: no revocation, no key usage beyond what TLS between nodes needs.

import { isIP } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { nodeCrypto } from '../../lib/builtin.js';
import { ErrIncorrect } from '../../gen/errors.js';

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v >>>= 8) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}
function tlv(tag: number, body: Uint8Array | number[]): number[] {
  const b = [...body];
  return [tag, ...len(b.length), ...b];
}
const seq = (...parts: number[][]): number[] => tlv(0x30, parts.flat());
const set = (...parts: number[][]): number[] => tlv(0x31, parts.flat());
const oid = (bytes: number[]): number[] => tlv(0x06, bytes);
const utf8 = (s: string): number[] => tlv(0x0c, [...Buffer.from(s, 'utf8')]);
const bool = (v: boolean): number[] => tlv(0x01, [v ? 0xff : 0]);
const octets = (b: number[]): number[] => tlv(0x04, b);
const bits = (b: number[], unused = 0): number[] => tlv(0x03, [unused, ...b]);

const OID_ECDSA_SHA256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_CN = [0x55, 0x04, 0x03];
const OID_SAN = [0x55, 0x1d, 0x11];
const OID_BASIC_CONSTRAINTS = [0x55, 0x1d, 0x13];
const OID_KEY_USAGE = [0x55, 0x1d, 0x0f];
const OID_EXT_KEY_USAGE = [0x55, 0x1d, 0x25];
const OID_SERVER_AUTH = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
const OID_CLIENT_AUTH = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5). */
function time(d: Date): number[] {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  if (y < 2050) return tlv(0x17, [...Buffer.from(`${p(y % 100)}${rest}`, 'ascii')]);
  return tlv(0x18, [...Buffer.from(`${p(y, 4)}${rest}`, 'ascii')]);
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** One DER element at `at`: where its body starts and where the element ends. */
function element(der: Uint8Array, at: number): { body: number; end: number } {
  let p = at + 1;
  let n = der[p++]!;
  if (n & 0x80) {
    const k = n & 0x7f;
    n = 0;
    for (let i = 0; i < k; i++) n = n * 256 + der[p++]!;
  }
  return { body: p, end: p + n };
}

/** The DER subject Name of a certificate (the issuer name of what it signs). */
function subjectOf(der: Uint8Array): number[] {
  const tbs = element(der, element(der, 0).body);
  let p = tbs.body;
  if (der[p] === 0xa0) p = element(der, p).end; // version
  for (let i = 0; i < 4; i++) p = element(der, p).end; // serial, signature, issuer, validity
  return [...der.subarray(p, element(der, p).end)];
}

function generalName(host: string): number[] {
  const ip = isIP(host);
  if (ip === 4) return tlv(0x87, host.split('.').map(Number));
  if (ip === 6) {
    const [head = '', tail = ''] = host.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const groups = host.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    return tlv(
      0x87,
      groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]),
    );
  }
  return tlv(0x82, [...Buffer.from(host, 'ascii')]);
}

/** Options of {@link generateCertificate}. */
export interface CertificateOptions {
  /** Subject common name. Default 'localhost'. */
  commonName?: string;
  /** DNS names and IP addresses (subjectAltName). Default ['localhost', '127.0.0.1', '::1']. */
  hosts?: string[];
  /** Validity in days from one hour ago. Default 365. */
  validDays?: number;
  /** A certificate authority (may sign others; not for serving). Default false. */
  isCA?: boolean;
  /** Signs with this CA (from `generateCertificate({ isCA: true })`); self-signed when absent. */
  issuer?: { cert: string; key: string | KeyObject };
}

/** A generated certificate: PEM certificate and PKCS#8 key, and the certificate's DER. */
export interface GeneratedCertificate {
  cert: string;
  key: string;
  der: Uint8Array;
}

/**
 * A fresh ECDSA P-256 certificate and key. Leaves may authenticate servers and clients (mutual
 * TLS); a CA (`isCA`) may sign leaves. For tests and development only: real deployments use
 * certificates from their PKI.
 * @throws ErgoError ERR_INCORRECT for validDays outside 1..36500, or an issuer that is not a
 *   parsable certificate with its EC P-256 key.
 */
export function generateCertificate(options: CertificateOptions = {}): GeneratedCertificate {
  const cn = options.commonName ?? 'localhost';
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const days = options.validDays ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 36500)
    throw ErrIncorrect.with(`validDays must be an integer in 1..36500, got ${String(days)}`);
  const { publicKey, privateKey } = nodeCrypto().generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let signer: KeyObject = privateKey;
  const subject = seq(set(seq(oid(OID_CN), utf8(cn))));
  let issuerName = subject;
  if (options.issuer !== undefined) {
    try {
      const ca = new (nodeCrypto().X509Certificate)(options.issuer.cert);
      signer =
        typeof options.issuer.key === 'string' ? nodeCrypto().createPrivateKey(options.issuer.key) : options.issuer.key;
      if (signer.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('the issuer key is not EC P-256');
      issuerName = subjectOf(new Uint8Array(ca.raw));
    } catch (err) {
      throw ErrIncorrect.with(`issuer: ${(err as Error).message}`, err);
    }
  }
  const spki = [...(publicKey.export({ type: 'spki', format: 'der' }) as Buffer)];
  const serial = [...nodeCrypto().randomBytes(12)];
  serial[0] = (serial[0]! & 0x3f) | 0x40; // positive, no leading zero byte (DER)
  const extensions: number[][] = [];
  if (hosts.length > 0) extensions.push(seq(oid(OID_SAN), octets(seq(...hosts.map(generalName)))));
  if (options.isCA === true) {
    extensions.push(seq(oid(OID_BASIC_CONSTRAINTS), bool(true), octets(seq(bool(true)))));
    // keyCertSign | cRLSign | digitalSignature
    extensions.push(seq(oid(OID_KEY_USAGE), bool(true), octets(bits([0x86], 1))));
  } else {
    // A self-signed leaf may be pinned as its own trust anchor: no key usage that would forbid it.
    if (options.issuer !== undefined) extensions.push(seq(oid(OID_KEY_USAGE), bool(true), octets(bits([0x80], 7)))); // digitalSignature
    extensions.push(seq(oid(OID_EXT_KEY_USAGE), octets(seq(oid(OID_SERVER_AUTH), oid(OID_CLIENT_AUTH)))));
  }
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, [2])),
    tlv(0x02, serial),
    seq(oid(OID_ECDSA_SHA256)),
    issuerName,
    seq(time(new Date(now - 3600_000)), time(new Date(now + days * 86400_000))),
    subject,
    spki,
    tlv(0xa3, seq(...extensions)),
  );
  const sig = nodeCrypto().sign('sha256', Uint8Array.from(tbs), signer);
  const der = Uint8Array.from(seq(tbs, seq(oid(OID_ECDSA_SHA256)), bits([...sig])));
  return { cert: pem('CERTIFICATE', der), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, der };
}

/** A self-signed leaf for `commonName`, valid for localhost, 127.0.0.1 and ::1 (see {@link generateCertificate}). */
export function selfSigned(commonName = 'localhost'): GeneratedCertificate {
  return generateCertificate({ commonName });
}

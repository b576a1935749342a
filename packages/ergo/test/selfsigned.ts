// Test helper: a self-signed X.509 certificate (ECDSA P-256, SHA-256) for localhost/127.0.0.1,
// built with node:crypto alone (Node has no certificate generator), so TLS tests need no
// openssl. DER is assembled by hand: a TBSCertificate signed by its own key.

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

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
const OID_ECDSA_SHA256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_CN = [0x55, 0x04, 0x03];
const OID_SAN = [0x55, 0x1d, 0x11];

function utcTime(d: Date): number[] {
  const p = (n: number): string => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, [...Buffer.from(s, 'ascii')]);
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/** A fresh self-signed certificate and key (PEM) for `cn`, valid for localhost and 127.0.0.1. */
export function selfSigned(cn = 'localhost'): { cert: string; key: string; der: Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = [...(publicKey.export({ type: 'spki', format: 'der' }) as Buffer)];
  const serial = [...randomBytes(8)];
  serial[0] = (serial[0]! & 0x3f) | 0x40; // positive, no leading zero (DER)
  const name = seq(set(seq(oid(OID_CN), utf8(cn))));
  const now = Date.now();
  const san = seq(tlv(0x82, [...Buffer.from('localhost')]), tlv(0x87, [127, 0, 0, 1]));
  const extensions = tlv(0xa3, seq(seq(oid(OID_SAN), tlv(0x04, san))));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, [2])),
    tlv(0x02, serial),
    seq(oid(OID_ECDSA_SHA256)),
    name,
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 24 * 3600_000))),
    name,
    spki,
    extensions,
  );
  const sig = sign('sha256', Uint8Array.from(tbs), privateKey);
  const der = Uint8Array.from(seq(tbs, seq(oid(OID_ECDSA_SHA256)), tlv(0x03, [0, ...sig])));
  return { cert: pem('CERTIFICATE', der), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, der };
}

// Random bytes for the handshake's salts and connection ids without loading `node:crypto` (6–10 ms
// of CPU in a fresh process; issue 64: the first connection of a process should cost a few ms):
// read from the kernel's generator, /dev/urandom, the source `node:crypto` itself draws from
// (through OpenSSL) on Linux and macOS, a pool of bytes at a time. Where there is no
// /dev/urandom (Windows), or it cannot be read, `node:crypto` serves.

import { closeSync, openSync, readSync } from 'node:fs';
import { nodeCrypto } from './builtin.js';

const POOL_BYTES = 1024;
let pool: Uint8Array | undefined;
let used = POOL_BYTES;
let urandom = process.platform !== 'win32';

/** Reads a new pool from /dev/urandom; false if it could not (then `node:crypto` serves from now on). */
function refill(): boolean {
  let fd: number | undefined;
  try {
    fd = openSync('/dev/urandom', 'r');
    const next = new Uint8Array(POOL_BYTES);
    for (let got = 0; got < POOL_BYTES;) {
      const n = readSync(fd, next, got, POOL_BYTES - got, null);
      if (n <= 0) return (urandom = false);
      got += n;
    }
    pool = next;
    used = 0;
    return true;
  } catch {
    return (urandom = false);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `n` bytes from a cryptographically secure source; each byte is handed out once. */
export function secureRandomBytes(n: number): Uint8Array {
  if (urandom && n <= POOL_BYTES && (used + n <= POOL_BYTES || refill())) {
    const out = pool!.slice(used, used + n);
    pool!.fill(0, used, used + n);
    used += n;
    return out;
  }
  return new Uint8Array(nodeCrypto().randomBytes(n));
}

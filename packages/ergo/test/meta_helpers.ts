// Helpers for the meta process tests: throwaway TLS certificates (made by openssl in a temporary
// folder, never committed), plain Node socket clients, reads and closes under a guard, and a count
// of active libuv handles.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { within } from './lifecycle_helpers.js';

/** True when the openssl binary can be run. */
export function haveOpenSSL(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A fresh self-signed certificate (EC P-256, one day) for `cn`, made by openssl. Test-only. */
export function makeCert(cn = 'localhost'): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-ts-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        `/CN=${cn}`,
        '-addext',
        `subjectAltName=DNS:${cn},IP:127.0.0.1`,
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Connects a plain Node TCP client. */
export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Reads from `socket` until `n` bytes arrived; resolves with them. */
export function readBytes(socket: net.Socket, n: number, what = `${n} bytes`): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  return within(
    new Promise<Buffer>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        parts.push(d);
        have += d.length;
        if (have >= n) {
          socket.off('data', onData);
          socket.off('close', onClose);
          resolve(Buffer.concat(parts));
        }
      };
      const onClose = (): void => reject(new Error(`socket closed after ${have} of ${n} bytes`));
      socket.on('data', onData);
      socket.on('close', onClose);
    }),
    what,
  );
}

/** Resolves when the socket is closed. */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.destroyed && socket.closed) return Promise.resolve();
  return within(new Promise<void>((resolve) => socket.once('close', () => resolve())), 'socket close');
}

/** Active libuv handles of a type (e.g. 'TCPSocketWrap'), for leak checks. */
export function activeHandles(type: string): number {
  return process.getActiveResourcesInfo().filter((t) => t === type).length;
}

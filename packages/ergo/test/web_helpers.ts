// Shared pieces of the web/SSE suites: a node with a host actor that spawns metas, a plain
// node:http GET, and a self-signed certificate made by the openssl CLI for HTTPS tests.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Alias, MetaBehavior, MetaOptions, Node, PID } from '../src/index.js';
import { exec, spawnTest, testNode, type Inbox } from './lifecycle_helpers.js';

/** A node and a TestActor on it that owns the metas of a test. */
export interface Host {
  node: Node;
  pid: PID;
  inbox: Inbox;
  /** Spawns a meta owned by the host actor. */
  spawnMeta(behavior: MetaBehavior, options?: MetaOptions): Promise<Alias>;
}

export async function startHost(): Promise<Host> {
  const node = await testNode();
  const { pid, inbox } = await spawnTest(node);
  return {
    node,
    pid,
    inbox,
    spawnMeta: (behavior, options) => exec(node, pid, (a) => a.spawnMeta(behavior, options)),
  };
}

/** Result of a plain HTTP request. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with node:http (no keep-alive, so nothing lingers after the test). */
export function request(url: string, options: http.RequestOptions = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A self-signed certificate for `localhost` and 127.0.0.1, or null when openssl is missing. */
export function selfSignedCert(): { key: string; cert: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-web-tls-'));
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
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

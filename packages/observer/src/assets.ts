// The UI's files: built by the package's build step into dist/ui (each with a .gz and a .br
// copy beside it) and served from memory. A browser gets the brotli or gzip copy it accepts,
// an ETag, and index.html for any path that is not a file (the UI routes in the browser).

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

/** Where the built UI lives: dist/ui, beside dist/src. */
export const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

interface Asset {
  type: string;
  etag: string;
  identity: Buffer;
  gzip: Buffer | null;
  br: Buffer | null;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
};

/** The UI's files, loaded once; {@link serve} answers GET/HEAD from them. */
export class Assets {
  readonly #files = new Map<string, Asset>();

  /** Loads every file of `dir` (default {@link UI_DIR}); an unbuilt UI gives a page saying so. */
  constructor(dir = UI_DIR) {
    if (!existsSync(dir)) {
      const page = Buffer.from(
        '<!doctype html><title>Observer</title><p>The Observer UI is not built: run npm run build.',
      );
      this.#files.set('index.html', { type: TYPES.html!, etag: '"unbuilt"', identity: page, gzip: null, br: null });
      return;
    }
    const names = readdirSync(dir);
    for (const name of names) {
      if (name.endsWith('.gz') || name.endsWith('.br')) continue;
      const identity = readFileSync(dir + name);
      const ext = name.slice(name.lastIndexOf('.') + 1);
      this.#files.set(name, {
        type: TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha1').update(identity).digest('base64url').slice(0, 16)}"`,
        identity,
        gzip: names.includes(`${name}.gz`) ? readFileSync(`${dir}${name}.gz`) : null,
        br: names.includes(`${name}.br`) ? readFileSync(`${dir}${name}.br`) : null,
      });
    }
  }

  /** Names of the files served. */
  names(): string[] {
    return [...this.#files.keys()];
  }

  /** Answers a GET or HEAD; anything else gets 405. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '');
    const asset = this.#files.get(path) ?? this.#files.get('index.html')!;
    const html = asset.type.startsWith('text/html');
    const headers: Record<string, string> = {
      'content-type': asset.type,
      etag: asset.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
      // index.html must be fresh (it names nothing versioned); the bundle changes with its ETag.
      'cache-control': html ? 'no-cache' : 'public, max-age=300',
    };
    if (html) headers['content-security-policy'] = "default-src 'self'; style-src 'self' 'unsafe-inline'";
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    const accept = String(req.headers['accept-encoding'] ?? '');
    let body = asset.identity;
    if (asset.br !== null && /\bbr\b/.test(accept)) {
      body = asset.br;
      headers['content-encoding'] = 'br';
    } else if (asset.gzip !== null && /\bgzip\b/.test(accept)) {
      body = asset.gzip;
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

// HTTP through a WebWorker pool: a web server meta and two web handler metas owned by one
// actor; `/api/` goes to a pool of 4 WebWorkers keeping a tiny in-memory store, everything else
// to a single greeter worker. `node examples/dist/web.js` serves on PORT (default 8080) until
// Ctrl-C; `--self-test` serves on a free port, makes a few requests with fetch, prints them and
// exits.
//
//   curl localhost:8080/                        → hello
//   curl -X PUT -d 'red' localhost:8080/api/color
//   curl localhost:8080/api/color               → red (whichever worker answers)

import type { IncomingMessage, ServerResponse } from 'node:http';

import { Actor, Pool, WebWorker, startNode, type HandlerResult, type PID, type PoolOptions } from 'ergo-ts';
import { WebHandler, WebMux, createWebServer, type WebServer } from 'ergo-ts/meta';

const selfTest = process.argv.includes('--self-test');
const port = selfTest ? 0 : Number(process.env['PORT'] ?? 8080);

/** Shared by the API workers (they run in one Node thread; the pool gives concurrency of waits, not parallel CPU). */
const store = new Map<string, string>();

/** GET/PUT/DELETE on /api/<key>. */
class ApiWorker extends WebWorker {
  override handleGet(_from: PID, req: IncomingMessage, res: ServerResponse): HandlerResult {
    const key = keyOf(req);
    const value = store.get(key);
    if (value === undefined) {
      res.statusCode = 404;
      res.end(`no ${key}\n`);
      return;
    }
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.setHeader('x-worker', this.pid.toString());
    res.end(value + '\n');
  }

  override async handlePut(_from: PID, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    req.setEncoding('utf8');
    for await (const chunk of req) body += chunk as string;
    store.set(keyOf(req), body);
    res.statusCode = 201;
    res.end();
  }

  override handleDelete(_from: PID, req: IncomingMessage, res: ServerResponse): HandlerResult {
    res.statusCode = store.delete(keyOf(req)) ? 204 : 404;
  }
}

function keyOf(req: IncomingMessage): string {
  return decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice('/api/'.length));
}

class ApiPool extends Pool {
  override init(): PoolOptions {
    return { poolSize: 4, workerFactory: ApiWorker };
  }
}

class Greeter extends WebWorker {
  override handleGet(_from: PID, _req: IncomingMessage, res: ServerResponse): HandlerResult {
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('hello from ergo-ts\n');
  }
}

/** Owns the server and the handlers: when it ends, they close with it. */
class Web extends Actor {
  server!: WebServer;

  override async init(): Promise<void> {
    const mux = new WebMux();
    const api = new WebHandler({ worker: 'api', requestTimeout: 2000 });
    const root = new WebHandler({ worker: 'greeter' });
    mux.handle('/api/', api).handle('/', root);
    this.server = await createWebServer({ host: 'localhost', port, handler: mux });
    this.spawnMeta(api);
    this.spawnMeta(root);
    this.spawnMeta(this.server);
    this.log.info('serving on %s', this.server.url);
  }

  override handleCall(): unknown {
    return this.server.url;
  }
}

const node = await startNode('web@localhost');
await node.spawnRegister('api', ApiPool, {});
await node.spawnRegister('greeter', Greeter, {});
const web = await node.spawnRegister('web', Web, {});

if (selfTest) {
  const url = (await node.call(web, 'url')) as string;
  const show = async (method: string, path: string, body?: string): Promise<void> => {
    const r = await fetch(url + path, { method, body });
    console.log(`${method} ${path} → ${r.status} ${(await r.text()).trim()}`);
  };
  await show('GET', '/');
  await show('PUT', '/api/color', 'red');
  await show('GET', '/api/color');
  await show('GET', '/api/size');
  await show('DELETE', '/api/color');
  await show('GET', '/api/color');
  await node.stop();
} else {
  process.once('SIGINT', () => void node.stop());
}

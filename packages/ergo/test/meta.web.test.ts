// Web meta processes and WebWorker (issue 11 "Web"; ERGO-API §5.16 t015, the meta/web rows and
// §2.9): a real node:http(s) server on port 0, Node's fetch and http clients on the other end.
// Handler → parent (204), → WebWorker (202, 501 for a missing callback and an unknown method),
// never spawned (503), worker gone (502); a worker that throws (500, the pool replaces it), one
// that never answers (504); 1 000 concurrent requests through a pool of 8; routing by path
// prefix; HTTPS with a certificate made for the test; server and handler lifecycles.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  MessageDownAlias,
  MessageDownPID,
  Pool,
  TerminateReasonNormal,
  WebWorker,
  type HandlerResult,
  type PID,
  type PoolOptions,
} from '../src/index.js';
import {
  MessageWebRequest,
  WebHandler,
  WebMux,
  createCertManager,
  createWebServer,
  type WebServer,
} from '../src/meta/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  deferred,
  exec,
  guardUnhandled,
  rejectsCode,
  spawnTest,
  throwsCode,
  within,
  type Deferred,
} from './lifecycle_helpers.js';
import { request, selfSignedCert, startHost, type Host } from './web_helpers.js';

guardUnhandled();

/** Requests parked by '/hold' (the worker answers only when the test releases them). */
const holds: Deferred<void>[] = [];
let holdSeen: Deferred<void> = deferred<void>();
/** Resolves when the next '/hold' request reached a worker. */
function nextHold(): Promise<void> {
  return within(holdSeen.promise, 'a held request');
}

/** Answers GET with JSON naming the worker; '/throw' panics; '/hold' waits for the test; POST echoes the body. */
class EchoWorker extends WebWorker {
  override handleGet(_from: PID, req: IncomingMessage, res: ServerResponse): HandlerResult {
    const url = req.url ?? '';
    if (url.endsWith('/throw')) throw new Error('worker boom');
    if (url.endsWith('/hold')) {
      const d = deferred<void>();
      holds.push(d);
      const seen = holdSeen;
      holdSeen = deferred<void>();
      seen.resolve();
      return d.promise;
    }
    if (url.includes('/async')) {
      return new Promise<void>((resolve) => {
        setImmediate(() => {
          res.statusCode = 200;
          res.end('async ' + url);
          resolve();
        });
      });
    }
    res.statusCode = url.endsWith('/accepted') ? 202 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ worker: this.pid.toString(), url }));
    return undefined;
  }
  override handlePut(_from: PID, req: IncomingMessage, res: ServerResponse): HandlerResult {
    return new Promise<void>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', reject);
      req.on('end', () => {
        res.end('put ' + Buffer.concat(chunks).toString('utf8'));
        resolve();
      });
    });
  }
  override handleDelete(_from: PID, _req: IncomingMessage, res: ServerResponse): HandlerResult {
    res.statusCode = 204;
    // left open on purpose: done() must end it
    return undefined;
  }
  override handlePatch(_from: PID, _req: IncomingMessage, res: ServerResponse): HandlerResult {
    res.end('patched');
  }
  override handleHead(_from: PID, _req: IncomingMessage, res: ServerResponse): HandlerResult {
    res.setHeader('x-head', 'yes');
  }
  override handleOptions(_from: PID, _req: IncomingMessage, res: ServerResponse): HandlerResult {
    res.statusCode = 204;
    res.setHeader('allow', 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS');
  }
  override handleCall(): unknown {
    return 'pong';
  }
}

class WebPool extends Pool {
  override init(size: number): PoolOptions {
    return { poolSize: size, workerFactory: EchoWorker };
  }
}

describe('web meta processes and WebWorker', () => {
  let host: Host;
  let server: WebServer;
  let base = '';
  const mux = new WebMux();

  before(async () => {
    host = await startHost();
    await host.node.spawnRegister('webworker', EchoWorker, {});
    await host.node.spawnRegister('webpool', WebPool, {}, 8);
    server = await createWebServer({ host: '127.0.0.1', port: 0, handler: mux });
    await host.spawnMeta(server);
    base = server.url;
  });
  after(async () => {
    for (const h of holds) h.resolve();
    await host.node.stop();
  });

  test('t015: a handler without a worker sends to its parent, which answers 204', async () => {
    const h = new WebHandler();
    mux.handle('/parent', h);
    await host.spawnMeta(h);
    const seen = host.inbox.message(MessageWebRequest);
    const reply = request(base + '/parent');
    const { message, from } = await seen;
    assert.ok(from.equals(host.pid), 'sent with the parent as sender');
    assert.equal(message.method, 'GET');
    assert.equal(message.url, '/parent');
    message.reply(204);
    assert.equal((await reply).status, 204);
  });

  test('t015: WebWorker answers GET from handleGet (202); POST without handlePost and an unknown method get 501', async () => {
    const h = new WebHandler({ worker: 'webworker' });
    mux.handle('/ww/', h);
    await host.spawnMeta(h);
    assert.equal((await request(base + '/ww/accepted')).status, 202);
    const post = await fetch(base + '/ww/x', { method: 'POST', body: 'data' });
    assert.equal(post.status, 501);
    assert.equal((await request(base + '/ww/x', { method: 'PROPFIND' })).status, 501);
    // a PUT that reads its body; a DELETE whose callback leaves the response open (done ends it)
    const put = await fetch(base + '/ww/p', { method: 'PUT', body: 'payload' });
    assert.equal(await put.text(), 'put payload');
    assert.equal((await request(base + '/ww/d', { method: 'DELETE' })).status, 204);
    // an async callback: the answer comes when its promise settles
    assert.equal((await request(base + '/ww/async1')).body, 'async /ww/async1');
    // PATCH, HEAD and OPTIONS reach their callbacks
    assert.equal((await request(base + '/ww/p', { method: 'PATCH' })).body, 'patched');
    const head = await request(base + '/ww/h', { method: 'HEAD' });
    assert.deepEqual([head.status, head.headers['x-head']], [200, 'yes']);
    const opts = await request(base + '/ww/o', { method: 'OPTIONS' });
    assert.deepEqual([opts.status, opts.headers['allow']], [204, 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS']);
    const insp = await exec(host.node, host.pid, (a) => a.inspectMeta(h.id));
    assert.equal(insp['worker'], 'webworker');
    assert.equal(insp['requests'], '9');
    assert.equal(insp['pending'], '0');
  });

  test('t015: a handler never spawned answers 503', async () => {
    const h = new WebHandler({ worker: 'webworker' });
    mux.handle('/never-spawned', h);
    assert.equal((await request(base + '/never-spawned')).status, 503);
  });

  test('t015: a worker that is gone → 502; a terminated handler → 503', async () => {
    const doomed = await host.node.spawnRegister('doomed_worker', EchoWorker, {});
    const h = new WebHandler({ worker: 'doomed_worker' });
    mux.handle('/gone', h);
    const id = await host.spawnMeta(h);
    assert.equal((await request(base + '/gone')).status, 200);
    await exec(host.node, host.pid, (a) => a.monitorPID(doomed));
    host.node.kill(doomed);
    await host.inbox.message(MessageDownPID);
    assert.equal((await request(base + '/gone')).status, 502);
    assert.equal((await exec(host.node, host.pid, (a) => a.inspectMeta(id)))['send_errors'], '1');
    await exec(host.node, host.pid, (a) => {
      a.monitorAlias(id);
      a.sendExitMeta(id, TerminateReasonNormal);
    });
    const down = await host.inbox.message(MessageDownAlias);
    assert.ok(down.message.alias.equals(id));
    assert.equal((await request(base + '/gone')).status, 503);
  });

  test('a worker that throws answers 500 and the pool replaces it', async () => {
    const h = new WebHandler({ worker: 'webpool' });
    mux.handle('/pool/', h);
    await host.spawnMeta(h);
    const poolPid = host.node.processPID('webpool');
    const before = poolWorkers(host, poolPid);
    assert.equal(before.length, 8);
    const r = await request(base + '/pool/throw');
    assert.equal(r.status, 500);
    // the worker that threw is replaced: the pool again has 8 workers, one of them new
    await eventually(
      async () => (await exec(host.node, host.pid, (a) => a.inspect(poolPid)))['worker_restarts'] === '1',
      'worker replaced',
    );
    const afterList = poolWorkers(host, poolPid);
    assert.equal(afterList.length, 8);
    assert.equal(afterList.filter((p) => !before.includes(p)).length, 1);
    // the pool still serves
    const ok = await request(base + '/pool/ok');
    assert.equal(ok.status, 200);
  });

  test('a worker that never answers: 504 after requestTimeout, and the worker then skips the request', async () => {
    // The worker must take the request before the timeout passes (else it skips it as timed out
    // in its mailbox, and never holds it): 50 ms was shorter than a loaded machine may take to
    // run the worker; a second leaves room for that and still ends the wait.
    const h = new WebHandler({ worker: 'webworker', requestTimeout: 1000 });
    mux.handle('/slow/', h);
    const id = await host.spawnMeta(h);
    const held = nextHold();
    const r = await request(base + '/slow/hold');
    assert.equal(r.status, 504);
    await held;
    assert.equal(holds.length, 1);
    const insp = await exec(host.node, host.pid, (a) => a.inspectMeta(id));
    assert.equal(insp['timeouts'], '1');
    assert.equal(insp['pending'], '0');
    holds.shift()!.resolve();
    // the worker is alive and answers again
    assert.equal(await host.node.call('webworker', 'ping'), 'pong');
    assert.equal((await request(base + '/slow/ok')).status, 200);
  });

  test('1 000 concurrent requests through a pool of 8 workers, all answered correctly', async () => {
    const h = new WebHandler({ worker: 'webpool' });
    mux.handle('/many/', h);
    await host.spawnMeta(h);
    const n = 1000;
    const replies = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await fetch(`${base}/many/${i}`);
        return { status: res.status, body: (await res.json()) as { worker: string; url: string } };
      }),
    );
    const workers = new Set<string>();
    replies.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.body.url, `/many/${i}`);
      workers.add(r.body.worker);
    });
    assert.equal(workers.size, 8, 'every worker of the pool served');
  });

  test('routing by path prefix: the longest pattern wins, exact patterns, 404 elsewhere', async () => {
    const m = new WebMux();
    const a = new WebHandler();
    const b = new WebHandler({ worker: 'webworker' });
    m.handle('/api/', a)
      .handle('/api/v2/', b)
      .handle('/health', (_req, res) => res.end('up'));
    assert.equal(m.match('/api/x'), a.listener);
    assert.equal(m.match('/api'), a.listener);
    assert.equal(m.match('/api/v2/x'), b.listener);
    assert.equal(m.match('/health/x'), undefined);
    assert.equal(m.match('/other'), undefined);
    throwsCode(() => m.handle('/api/', a), 'ERR_TAKEN');
    throwsCode(() => m.handle('api', a), 'ERR_INCORRECT');
    const s = await createWebServer({ port: 0, host: '127.0.0.1', handler: m });
    await host.spawnMeta(s);
    await host.spawnMeta(b);
    assert.equal((await request(s.url + '/health?x=1')).body, 'up');
    assert.equal((await request(s.url + '/nothing')).status, 404);
    assert.equal(JSON.parse((await request(s.url + '/api/v2/item')).body).url, '/api/v2/item');
    await exec(host.node, host.pid, (a2) => a2.sendExitMeta(s.id, TerminateReasonNormal));
  });

  test('HTTPS with a certificate generated for the test', async (t) => {
    const tls = selfSignedCert();
    if (tls === null) {
      if (process.env['CI'] === 'true') assert.fail('openssl is required in CI');
      t.skip('openssl not installed: cannot make a certificate');
      return;
    }
    const h = new WebHandler({ worker: 'webworker' });
    const s = await createWebServer({ port: 0, host: '127.0.0.1', handler: h, tls });
    await host.spawnMeta(s);
    await host.spawnMeta(h);
    assert.ok(s.url.startsWith('https://'));
    assert.equal(JSON.parse(await httpsGet(s.url + '/secure', tls.cert)).url, '/secure');
    // a client that does not trust the certificate is refused by TLS
    await assert.rejects(httpsGet(s.url + '/', undefined), /self[- ]signed|unable to verify/i);

    // with a certificate manager: an update serves new connections with the new certificate
    const tls2 = selfSignedCert()!;
    const cm = createCertManager(tls);
    const s2 = await createWebServer({ port: 0, host: '127.0.0.1', handler: h, certManager: cm });
    await host.spawnMeta(s2);
    assert.equal(JSON.parse(await httpsGet(s2.url + '/one', tls.cert)).url, '/one');
    cm.update(tls2);
    assert.equal(JSON.parse(await httpsGet(s2.url + '/two', tls2.cert)).url, '/two');
    await assert.rejects(httpsGet(s2.url + '/three', tls.cert), /self[- ]signed|unable to verify|certificate/i);
    await exec(host.node, host.pid, (a) => a.sendExitMeta(s2.id, TerminateReasonNormal));
    await exec(host.node, host.pid, (a) => a.sendExitMeta(s.id, TerminateReasonNormal));
  });

  test('web server: a busy port fails at creation; sendExitMeta closes it; it ends with its parent', async () => {
    await rejectsCode(
      createWebServer({ port: server.port, host: '127.0.0.1', handler: () => undefined }),
      'EADDRINUSE',
    );
    await rejectsCode(createWebServer({ port: -1, handler: () => undefined }), 'ERR_INCORRECT');
    await rejectsCode(createWebServer({ port: 0, handler: {} as never }), 'ERR_INCORRECT');
    throwsCode(() => new WebHandler({ requestTimeout: 0 }), 'ERR_INCORRECT');

    const s = await createWebServer({ port: 0, host: '127.0.0.1', handler: (_q, r) => r.end('hi') });
    const id = await host.spawnMeta(s);
    assert.equal((await request(s.url + '/')).body, 'hi');
    const insp = await exec(host.node, host.pid, (a) => a.inspectMeta(id));
    assert.equal(insp['port'], String(s.port));
    const closed = once(s.server, 'close');
    await exec(host.node, host.pid, (a) => a.sendExitMeta(id, TerminateReasonNormal));
    await within(closed, 'server closed');

    // owned by a process that ends: the server closes with it
    const { pid } = await spawnTest(host.node);
    const s2 = await createWebServer({ port: 0, host: '127.0.0.1', handler: (_q, r) => r.end('hi') });
    await exec(host.node, pid, (a) => a.spawnMeta(s2));
    assert.equal((await request(s2.url + '/')).body, 'hi');
    const closed2 = once(s2.server, 'close');
    host.node.kill(pid);
    await within(closed2, 'server closed with its parent');
  });

  test('maxPending: requests over the limit get 503 while the others wait', async () => {
    const h = new WebHandler({ worker: 'webworker', maxPending: 1 });
    mux.handle('/limited/', h);
    const id = await host.spawnMeta(h);
    const held = nextHold();
    const first = request(base + '/limited/hold');
    await held;
    assert.equal((await request(base + '/limited/second')).status, 503);
    assert.equal((await exec(host.node, host.pid, (a) => a.inspectMeta(id)))['rejected'], '1');
    holds.shift()!.resolve();
    assert.equal((await first).status, 200);
    assert.equal((await request(base + '/limited/third')).status, 200);
  });

  test('terminating a handler answers its waiting requests 503', async () => {
    const h = new WebHandler({ worker: 'webworker' });
    mux.handle('/term/', h);
    const id = await host.spawnMeta(h);
    const held = nextHold();
    const r = request(base + '/term/hold');
    await held;
    await exec(host.node, host.pid, (a) => a.sendExitMeta(id, TerminateReasonNormal));
    assert.equal((await r).status, 503);
    holds.shift()!.resolve();
  });
});

/** GET over HTTPS trusting `ca` (a fresh connection each time); the body. */
function httpsGet(url: string, ca: string | undefined): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

/** The pool's workers (the processes it is linked to), as strings. */
function poolWorkers(host: Host, pool: PID): string[] {
  return host.node.processInfo(pool).linksPID.map(String);
}

// Scenarios for survival.meta.test.ts (issue 26 items 4, 5, 6, 9, 10; issue 19 item 6): what a
// remote client, a user callback or a bad message does to a meta must end at most that meta (or
// that request), never the node's OS process. Each runs in a survival child (see survival.ts).

import * as dgram from 'node:dgram';
import http from 'node:http';
import * as net from 'node:net';

import { eventually } from '@ergo-ts/test-support';
import {
  Actor,
  WebWorker,
  type Alias,
  type HandlerResult,
  type MetaBehavior,
  type Node,
  type PID,
  type Ref,
} from '../src/index.js';
import {
  MessagePortStart,
  MessageSSEConnect,
  MessageTCP,
  MessageTCPConnect,
  MessageUDP,
  MessageWebRequest,
  NetAddr,
  SSEHandler,
  WebHandler,
  WebMux,
  createPort,
  createSSEConnection,
  createTCPConnection,
  createTCPServer,
  createUDPServer,
  createWebServer,
  type WebServer,
} from '../src/meta/index.js';
import type { SurvivalScenario } from './survival.js';

/** A request to {@link Host}: run `fn` in the actor (spawnMeta needs a process). */
interface Run {
  run: (host: Host) => unknown;
}

/** An actor that runs what a scenario asks of it and records every message it gets. */
class Host extends Actor {
  readonly seen: unknown[] = [];
  override handleMessage(_from: PID, message: unknown): void {
    this.seen.push(message);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return (request as Run).run(this) ?? null;
  }
}

async function host(node: Node): Promise<PID> {
  return node.spawn(Host, {});
}

function inHost<T>(node: Node, pid: PID, fn: (h: Host) => T): Promise<T> {
  return node.call(pid, { run: fn } satisfies Run) as Promise<T>;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Bound of the polls below: a hang guard only (the scenario runs in a child under the test's own). */
const WAIT = { timeoutMs: 30_000 };

function spawnMetaIn(node: Node, pid: PID, behavior: MetaBehavior): Promise<Alias> {
  return inHost(node, pid, (h) => h.spawnMeta(behavior));
}

function get(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url + path, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Item 5: a client resets a connection the TCP server accepted before spawnMeta. */
export const tcpPendingReset: SurvivalScenario = async () => {
  const server = await createTCPServer({ host: '127.0.0.1', port: 0 });
  const closed = new Promise<void>((resolve) =>
    server.server.once('connection', (s: net.Socket) => s.once('close', () => resolve())),
  );
  const client = net.connect({ host: '127.0.0.1', port: server.address().port });
  await new Promise<void>((r) => client.once('connect', () => r()));
  client.resetAndDestroy();
  await closed;
  server.close();
  return { closed: true };
};

/** Item 9: a MessageUDP to port 0 is one failed datagram; the server sends the next one. */
export const udpPortZero: SurvivalScenario = async ({ node }) => {
  const pid = await host(node);
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  const got = new Promise<string>((r) => peer.once('message', (m) => r(m.toString())));
  const server = await createUDPServer({ host: '127.0.0.1', port: 0 });
  const alias = await spawnMetaIn(node, pid, server);
  await inHost(node, pid, (h) => {
    h.send(alias, new MessageUDP(undefined, new NetAddr('udp', '127.0.0.1', 0), Buffer.from('bad')));
    h.send(alias, new MessageUDP(undefined, new NetAddr('udp', '127.0.0.1', peer.address().port), Buffer.from('good')));
  });
  // Without the fix the server meta ends on the bad one: stop waiting then.
  let settled = false;
  const ended = eventually(
    () => settled || node.processInfo(pid).metas.length === 0,
    'the datagram or the meta ending',
    WAIT,
  ).then(() => 'ended');
  const text = await Promise.race([got, ended]);
  settled = true;
  await ended;
  peer.close();
  return { text };
};

/** Item 6: a SplitFunc that throws ends its port, nothing else. */
export const portSplitThrows: SurvivalScenario = async ({ node }) => {
  const pid = await host(node);
  const port = createPort({
    cmd: process.execPath,
    args: ['-e', 'console.log("hello")'],
    splitFuncStdout: () => {
      throw new Error('split bug');
    },
  });
  await spawnMetaIn(node, pid, port);
  // The port meta ends on the split error (its program is killed, the error logged).
  await eventually(() => node.processInfo(pid).metas.length === 0, 'the port meta to end', WAIT);
  const started = await inHost(node, pid, (h) => h.seen.some((m) => m instanceof MessagePortStart));
  return { started };
};

async function webServer(
  node: Node,
  pid: PID,
  handler: Parameters<typeof createWebServer>[0]['handler'],
): Promise<WebServer> {
  const server = await createWebServer({ host: '127.0.0.1', port: 0, handler });
  await spawnMetaIn(node, pid, server);
  return server;
}

/**
 * Item 6: a WebMux route that throws or rejects: 500 for that request. A route writing after its
 * end: logged, nothing else.
 */
export const webListenerThrows: SurvivalScenario = async ({ node }) => {
  const pid = await host(node);
  const mux = new WebMux()
    .handle('/throw', () => {
      throw new Error('route bug');
    })
    .handle('/reject', () => Promise.reject(new Error('async route bug')) as unknown as void)
    .handle('/twice', (_req, res) => {
      res.end('once');
      res.end('twice'); // write after end: an 'error' event on the response
    })
    .handle('/ok', (_req, res) => res.end('fine'));
  const server = await webServer(node, pid, mux);
  const thrown = await get(server.url, '/throw');
  const rejected = await get(server.url, '/reject');
  const twice = await get(server.url, '/twice');
  const ok = await get(server.url, '/ok');
  return { thrown: thrown.status, rejected: rejected.status, twice: twice.body, ok: ok.body };
};

/**
 * Item 4: a worker answers after the handler's 504, while that 504 is still queued behind a
 * pipelined response the client has not got (so Node's response is ended but not finished).
 */
export const webLateWrite: SurvivalScenario = async ({ node }) => {
  const pid = await host(node);
  const handler = new WebHandler({ worker: pid, requestTimeout: 20 });
  await spawnMetaIn(node, pid, handler);
  const mux = new WebMux().handle('/hang', () => undefined).handle('/late', handler);
  const server = await webServer(node, pid, mux);
  const client = net.connect({ host: '127.0.0.1', port: server.port });
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', () => r()));
  client.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\nGET /late HTTP/1.1\r\nHost: x\r\n\r\n');
  const request = (h: Host): MessageWebRequest | undefined =>
    h.seen.find((m): m is MessageWebRequest => m instanceof MessageWebRequest);
  await eventually(() => inHost(node, pid, (h) => request(h)?.timedOut === true), 'the request to time out', WAIT);
  await inHost(node, pid, (h) => {
    const m = request(h)!;
    m.response.end('too late');
    m.done();
  });
  await turn();
  client.destroy();
  return { timedOut: true };
};

/** Item 10: client metas spawned from their parent's async init reach it once init returns. */
class Dialer extends Actor {
  readonly seen: string[] = [];
  override async init(tcpPort: number, sseUrl: string): Promise<void> {
    const tcp = await createTCPConnection({ host: '127.0.0.1', port: tcpPort });
    this.spawnMeta(tcp);
    const sse = await createSSEConnection({ url: sseUrl });
    this.spawnMeta(sse);
    // More init work after the spawns: the metas start meanwhile.
    await turn();
    await turn();
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof MessageTCPConnect) this.seen.push('tcp-connect');
    else if (message instanceof MessageTCP) this.seen.push('tcp-data');
    else if (message instanceof MessageSSEConnect) this.seen.push('sse-connect');
  }
  override handleCall(): unknown {
    return this.seen.slice();
  }
}

export const metaFromInit: SurvivalScenario = async ({ node }) => {
  const pid = await host(node);
  const tcp = net.createServer((s) => {
    s.on('error', () => undefined); // the scenario's own socket: a reset by the client is fine
    s.end('hi');
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const sse = new SSEHandler({ heartbeat: 0 });
  await spawnMetaIn(node, pid, sse);
  const web = await webServer(node, pid, sse);
  const dialer = await node.spawn(Dialer, {}, (tcp.address() as net.AddressInfo).port, web.url + '/');
  // With the metas unable to reach their parent they end at once (and the dialer has none left).
  await eventually(
    async () =>
      new Set((await node.call(dialer, 'seen')) as string[]).size >= 3 || node.processInfo(dialer).metas.length === 0,
    'the three meta messages or the metas ending',
    WAIT,
  );
  const seen = (await node.call(dialer, 'seen')) as string[];
  tcp.close();
  return { seen: [...new Set(seen)].sort() };
};

/** Issue 19 item 6: a WebWorker that throws answers the requests queued at it 503 at once. */
let release: ((e: Error) => void) | null = null;
class Crashy extends WebWorker {
  override handleGet(_from: PID, request: http.IncomingMessage, response: http.ServerResponse): HandlerResult {
    if (request.url === '/boom') return new Promise<void>((_resolve, reject) => (release = reject));
    response.end('ok');
    return undefined;
  }
}

export const webWorkerThrows: SurvivalScenario = async ({ node }) => {
  const pid = await host(node);
  const worker = await node.spawn(Crashy, {});
  // Long enough that a 504 cannot pass for the 503 this checks.
  const handler = new WebHandler({ worker, requestTimeout: 30_000 });
  await spawnMetaIn(node, pid, handler);
  const server = await webServer(node, pid, handler);
  const boom = get(server.url, '/boom');
  await eventually(() => release !== null, 'the worker to take /boom', WAIT);
  const queued = [get(server.url, '/a'), get(server.url, '/b')];
  await eventually(() => handler.pending === 3, 'three requests queued', WAIT);
  release!(new Error('worker bug'));
  const statuses = [(await boom).status, ...(await Promise.all(queued)).map((r) => r.status)];
  return { statuses };
};

// Source templates of the processes: applications, supervisors, actors, pools, and the web, TCP
// and UDP servers with their workers. Each template writes one idiomatic file against ergo-ts's
// public API (README, docs/actors.md, supervision.md, pool.md, applications.md, meta.md,
// web.md); every process answers the call 'ping' with 'pong', which the generated tests and
// the "node is up" check use.

import type { Item, Project } from './model.js';

/** `import ... from '<path>.js'` path from one project file to another (both without extension). */
export function importPath(fromFile: string, toFile: string): string {
  const from = fromFile.split('/').slice(0, -1);
  const to = toFile.split('/');
  let i = 0;
  while (i < from.length && i < to.length - 1 && from[i] === to[i]) i++;
  const up = from.length - i;
  const rest = to.slice(i).join('/');
  return `${up === 0 ? './' : '../'.repeat(up)}${rest}.js`;
}

/** Who starts the item, for its header comment. */
export function startedBy(item: Item): string {
  const p = item.parent;
  if (p === undefined) return 'the node (src/node.ts), registered';
  if (p.kind === 'app') return `the application ${p.name} as a member, registered`;
  if (p.kind === 'sup')
    return p.supType === 'SimpleOneForOne'
      ? `the supervisor ${p.name} on startChild (simple one-for-one: unnamed instances)`
      : `the supervisor ${p.name} as a child, registered`;
  return `${p.name} in its init (linked to it), registered`;
}

function header(item: Item, what: string): string {
  const named = item.parent?.kind === 'sup' && item.parent.supType === 'SimpleOneForOne' ? '' : ` as '${item.lo}'`;
  return `// ${item.name}: ${what}.\n// Started by ${startedBy(item)}${named}.\n`;
}

function childImports(item: Item): string {
  // Local imports form their own group, after the packages'.
  const lines = item.children.map((c) => `import { ${c.name} } from '${importPath(item.file, c.file)}';\n`);
  return lines.length > 0 ? `\n${lines.join('')}` : '';
}

const PING = `    if (request === 'ping') return 'pong';
    this.log.info('request from %s: %s', from.toString(), String(request));
    return null; // the reply (returning undefined would mean "I answer later with sendResponse")`;

function actorBody(item: Item, extraInit: string[] = [], asyncInit = false): string {
  const spawns = item.children.map((c) => `    await this.spawnRegister('${c.lo}', ${c.name}, { linkParent: true });`);
  const init = [...extraInit, ...spawns, `    this.log.info('${item.name} started');`];
  const isAsync = asyncInit || spawns.length > 0;
  return `  override ${isAsync ? 'async ' : ''}init(${extraInit.length > 0 ? `options: ${item.name}Options = {}` : ''}): ${isAsync ? 'Promise<void>' : 'void'} {
${init.join('\n')}
  }
`;
}

function serverOptions(item: Item): string {
  return `/** Where ${item.name} listens: the defaults come from the command line that generated it. */
export interface ${item.name}Options {
  host?: string;
  /** 0 lets the OS pick a free port (tests). */
  port?: number;
}
`;
}

function tlsImport(item: Item): string {
  return item.tls === true ? `import { certificate } from '${importPath(item.file, 'src/tls')}';\n` : '';
}

/** `src/.../<actor>.ts` */
export function renderActor(item: Item): string {
  return `${header(item, 'an actor')}
import { Actor, type PID, type Ref } from 'ergo-ts';
${childImports(item)}
/** An actor: add your state as fields, handle messages and calls. */
export class ${item.name} extends Actor {
${actorBody(item)}
  override handleMessage(from: PID, message: unknown): void {
    this.log.info('message from %s: %s', from.toString(), String(message));
  }

  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
${PING}
  }

  override terminate(reason: Error): void {
    this.log.info('${item.name} terminated: %s', reason.message);
  }
}
`;
}

const SUP_TYPE_NOTE: Record<string, string> = {
  OneForOne: 'a child that crashes is restarted alone',
  AllForOne: 'a child that crashes makes every child restart',
  RestForOne: 'a child that crashes restarts with the children after it',
  SimpleOneForOne: 'no child starts at init: startChild(name, ...args) starts unnamed instances',
};

/** `src/.../<sup>.ts` */
export function renderSupervisor(item: Item): string {
  const children = item.children.map((c) => `        { name: '${c.lo}', factory: ${c.name} },`).join('\n');
  return `${header(item, `a supervisor (${item.supType ?? 'OneForOne'}: ${SUP_TYPE_NOTE[item.supType ?? 'OneForOne']})`)}
import { Supervisor, SupervisorStrategy, SupervisorType, type PID, type Ref, type SupervisorSpec } from 'ergo-ts';
${childImports(item)}
/** A supervisor: starts its children in order and restarts them by its strategy. */
export class ${item.name} extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.${item.supType ?? 'OneForOne'},
      // More than 2 restarts within 5 seconds stop the children and this supervisor.
      restart: { strategy: SupervisorStrategy.${item.strategy ?? 'Transient'}, intensity: 2, period: 5 },
      enableHandleChild: true,
      children: [
${children}
      ],
    };
  }

  override handleChildStart(name: string, pid: PID): void {
    this.log.info('child %s started as %s', name, pid.toString());
  }

  override handleChildTerminate(name: string, pid: PID, reason: Error): void {
    this.log.info('child %s (%s) terminated: %s', name, pid.toString(), reason.message);
  }

  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
${PING}
  }
}
`;
}

/** `src/apps/<app>/<app>.ts` */
export function renderApp(item: Item, project: Project): string {
  const members = item.children.map((c) => `      { name: '${c.lo}', factory: ${c.name} },`).join('\n');
  return `// ${item.name}: an application (mode ${item.mode ?? 'Transient'}). The node starts it (src/node.ts).
import { ApplicationMode, createApplication, type ApplicationBehavior } from 'ergo-ts';
${childImports(item)}
/** The application ${item.name}: its members start in order and stop together. */
export function create${item.name}(): ApplicationBehavior {
  return createApplication({
    name: '${item.lo}',
    description: '${item.name} of the node ${project.nodeName}',
    version: { name: '${item.lo}', release: '0.1.0' },
    mode: ApplicationMode.${item.mode ?? 'Transient'},
    group: [
${members}
    ],
  });
}
`;
}

/** `src/.../<pool>.ts` and its worker. */
export function renderPool(item: Item): { pool: string; worker: string } {
  const w = item.worker!;
  return {
    pool: `${header(item, `a pool of ${item.size ?? 3} ${w.name} workers`)}
import { Pool, type PoolOptions } from 'ergo-ts';

import { ${w.name} } from '${importPath(item.file, w.file)}';

/** One address in front of identical workers: messages and calls go to them round-robin. */
export class ${item.name} extends Pool {
  override init(): PoolOptions {
    this.log.info('${item.name} starts ${item.size ?? 3} ${w.name} workers');
    return { poolSize: ${item.size ?? 3}, workerFactory: ${w.name} };
  }
}
`,
    worker: workerFile(item, `a worker of the pool ${item.name}`, ''),
  };
}

function workerFile(item: Item, what: string, extra: string): string {
  const w = item.worker!;
  return `// ${w.name}: ${what}. The pool starts ${item.kind === 'pool' ? (item.size ?? 3) : 3} of them and restarts any that ends.
import { Actor, type PID, type Ref } from 'ergo-ts';
${extra}
/** Handles what the pool forwards to it; answers the caller directly. */
export class ${w.name} extends Actor {
  override handleMessage(from: PID, message: unknown): void {
    this.log.info('message from %s: %s', from.toString(), String(message));
  }

  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
${PING}
  }
}
`;
}

/** `src/.../<web>.ts` (a pool owning the HTTP server) and its web worker. */
export function renderWeb(item: Item): { pool: string; worker: string } {
  const w = item.worker!;
  const scheme = item.tls === true ? 'https' : 'http';
  return {
    pool: `${header(item, `an ${scheme.toUpperCase()} server on ${item.host ?? 'localhost'}:${item.port ?? 9090} with a pool of ${w.name}s`)}
import { Pool, type PoolOptions } from 'ergo-ts';
import { WebHandler, createWebServer${item.tls === true ? ', createCertManager' : ''} } from 'ergo-ts/meta';
${item.websocket === true ? "import { WebsocketHandler } from '@ergo-ts/websocket';\n" : ''}
${tlsImport(item)}import { ${w.name} } from '${importPath(item.file, w.file)}';

${serverOptions(item)}
/**
 * Owns the web server and its handler (they close when it ends). The handler sends each request
 * to this pool, which hands it to one of the workers.
 */
export class ${item.name} extends Pool {
  override async init(options: ${item.name}Options = {}): Promise<PoolOptions> {
    const handler = new WebHandler({ requestTimeout: 5000 });
    const server = await createWebServer({
      host: options.host ?? '${item.host ?? 'localhost'}',
      port: options.port ?? ${item.port ?? 9090},
      handler,${item.tls === true ? '\n      certManager: createCertManager(certificate),' : ''}
    });
    this.spawnMeta(handler);
    this.spawnMeta(server);${
      item.websocket === true
        ? `
    // WebSocket on /ws: each connection is a meta whose messages come to this pool, which hands
    // them to the workers (an echo needs no per-connection state; keep state in one process).
    const websocket = new WebsocketHandler({});
    this.spawnMeta(websocket);
    websocket.attach(server, '/ws');`
        : ''
    }
    this.log.info('${item.name} serves %s', server.url);
    return { poolSize: 3, workerFactory: ${w.name} };
  }
}
`,
    worker: `// ${w.name}: answers the HTTP requests of ${item.name}. The pool starts 3 of them and restarts any that ends.
import type { IncomingMessage, ServerResponse } from 'node:http';

import { WebWorker, type PID, type Ref } from 'ergo-ts';
${item.websocket === true ? "import { MessageWebsocket } from '@ergo-ts/websocket';\n" : ''}
/** GET answers with a small JSON document; other methods get 501 until you add their handler. */
export class ${w.name} extends WebWorker {
  override handleGet(_from: PID, req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ node: this.node.name, worker: this.pid.toString(), path: req.url ?? '/' }));
  }
${
  item.websocket === true
    ? `
  override handleMessage(from: PID, message: unknown): void {
    // A WebSocket message: echo it to its connection (send to the connection's alias).
    if (message instanceof MessageWebsocket && message.id !== null) {
      this.send(message.id, new MessageWebsocket(message.body, message.type));
      return;
    }
    this.log.info('message from %s: %s', from.toString(), String(message));
  }
`
    : ''
}
  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
${PING}
  }
}
`,
  };
}

/** `src/.../<tcp>.ts`: an actor owning a TCP server. */
export function renderTcp(item: Item): string {
  return `${header(item, `a TCP server actor on ${item.host ?? 'localhost'}:${item.port ?? 7654}${item.tls === true ? ' (TLS)' : ''}`)}
import { Actor, type PID, type Ref } from 'ergo-ts';
import { MessageTCP, MessageTCPConnect, MessageTCPDisconnect, createTCPServer${item.tls === true ? ', createCertManager' : ''} } from 'ergo-ts/meta';

${tlsImport(item)}${childImports(item)}
${serverOptions(item)}
/** Owns a TCP server: each connection's events arrive here; it answers every read with "OK". */
export class ${item.name} extends Actor {
${actorBody(
  item,
  [
    `    const server = await createTCPServer({
      host: options.host ?? '${item.host ?? 'localhost'}',
      port: options.port ?? ${item.port ?? 7654},${item.tls === true ? '\n      certManager: createCertManager(certificate),' : ''}
    });
    this.spawnMeta(server);
    this.log.info('${item.name} listens on %s', server.address().toString());`,
  ],
  true,
)}
  override handleMessage(from: PID, message: unknown): void {
    if (message instanceof MessageTCPConnect) {
      this.log.info('connection %s from %s', message.id.toString(), message.remoteAddr.toString());
    } else if (message instanceof MessageTCP) {
      // Write back: send MessageTCP to the connection's alias.
      this.send(message.id!, new MessageTCP(undefined, Buffer.from('OK\\n')));
    } else if (message instanceof MessageTCPDisconnect) {
      this.log.info('connection %s closed', message.id.toString());
    } else {
      this.log.info('message from %s: %s', from.toString(), String(message));
    }
  }

  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
${PING}
  }
}
`;
}

/** `src/.../<udp>.ts` (a pool owning a UDP server) and its worker. */
export function renderUdp(item: Item): { pool: string; worker: string } {
  const w = item.worker!;
  return {
    pool: `${header(item, `a UDP server on ${item.host ?? 'localhost'}:${item.port ?? 7654} with a pool of ${w.name}s`)}
import { Pool, type PoolOptions } from 'ergo-ts';
import { createUDPServer } from 'ergo-ts/meta';

import { ${w.name} } from '${importPath(item.file, w.file)}';

${serverOptions(item)}
/** Owns a UDP server: each datagram comes to this pool, which hands it to one of the workers. */
export class ${item.name} extends Pool {
  override async init(options: ${item.name}Options = {}): Promise<PoolOptions> {
    const server = await createUDPServer({ host: options.host ?? '${item.host ?? 'localhost'}', port: options.port ?? ${item.port ?? 7654} });
    this.spawnMeta(server);
    this.log.info('${item.name} listens on udp %s', server.address().toString());
    return { poolSize: 3, workerFactory: ${w.name} };
  }
}
`,
    worker: workerFile(
      { ...item, kind: 'udp' },
      `answers the datagrams of ${item.name} with "OK"`,
      `import { MessageUDP } from 'ergo-ts/meta';\n`,
    ).replace(
      `  override handleMessage(from: PID, message: unknown): void {
    this.log.info('message from %s: %s', from.toString(), String(message));
  }`,
      `  override handleMessage(from: PID, message: unknown): void {
    if (message instanceof MessageUDP) {
      // Reply: send MessageUDP with the peer's address to the server's alias.
      this.send(message.id!, new MessageUDP(undefined, message.addr, Buffer.from('OK\\n')));
      return;
    }
    this.log.info('message from %s: %s', from.toString(), String(message));
  }`,
    ),
  };
}

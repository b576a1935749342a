// A live chat where every browser tab is a node of the cluster (issue 73). One command:
// `npm run tab-chat` (from the repository root: it builds, then runs examples/dist/tab_chat.js)
// serves http://localhost:8090 (PORT to change it). Open it in two tabs (`?nick=ann`, `?nick=bob`):
// each tab joins the gateway, spawns its member process and joins the room, a registered process
// on this server node, which monitors every member: a tab that leaves (the Leave button, or the
// tab closed: its reconnect window of 10 s passes) shows as leaving to the others.
//
// The page loads the browser bundle (@ergo-ts/tabs' dist/browser/tab.js, the core inside) and
// this example's compiled page and protocol modules; the room and the page check the same
// protocols (tab_chat_protocol.ts).

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createTabGateway, type TabGateway } from '@ergo-ts/tabs';
import { Actor, MessageDownPID, startNode, type Node, type PID, type Ref } from 'ergo-ts';

import { Member, Room } from './tab_chat_protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUNDLE = join(dirname(fileURLToPath(import.meta.resolve('@ergo-ts/tabs/package.json'))), 'dist/browser/tab.js');

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>ergo-ts tab chat</title>
<script type="importmap">{"imports": {"ergo-ts": "/tab.js", "@ergo-ts/tabs/tab": "/tab.js"}}</script>
<style>body{font:15px system-ui,sans-serif;margin:24px;max-width:560px} #status{font-weight:600}
#log{list-style:none;padding:8px;border:1px solid #ccc;border-radius:6px;min-height:160px}
.joined{color:#0b6e4f} .left{color:#b00020} form{display:flex;gap:8px} #text{flex:1}</style></head>
<body><h1>Tab chat</h1><p id="status">joining…</p><ul id="log"></ul>
<form id="say"><input id="text" autocomplete="off" placeholder="say something"><button>Send</button>
<button type="button" id="leave">Leave</button></form>
<script type="module" src="/app/tab_chat_page.js"></script></body></html>`;

/** A member of the room: its nick and process. */
interface Seat {
  nick: string;
  pid: PID;
}

/** The room: members by tab node; each is monitored, so a tab that goes shows as leaving. */
export class RoomActor extends Actor.of(Room) {
  readonly seats = new Map<string, Seat>();

  override handleCall(from: PID, _ref: Ref, req: { nick: string; member: PID }) {
    // A tab joins with its own process only.
    if (req.member.node !== from.node) return this.reply(req, [] as string[]);
    this.seats.set(from.node, { nick: req.nick, pid: req.member });
    this.monitor(req.member);
    this.#broadcast('joined', req.nick, '');
    return this.reply(
      req,
      [...this.seats.values()].map((s) => s.nick),
    );
  }

  override handleMessage(from: PID, m: string | MessageDownPID): void {
    if (m instanceof MessageDownPID) {
      const seat = this.seats.get(m.pid.node);
      if (seat === undefined || !seat.pid.equals(m.pid)) return;
      this.seats.delete(m.pid.node);
      const code = (m.reason as { code?: string }).code;
      this.#broadcast('left', seat.nick, code === 'ERR_NO_CONNECTION' ? 'connection gone' : m.reason.message);
      return;
    }
    const seat = this.seats.get(from.node);
    if (seat !== undefined) this.#broadcast('said', seat.nick, m);
  }

  #broadcast(kind: 'said' | 'joined' | 'left', nick: string, text: string): void {
    for (const s of this.seats.values()) this.send(Member.pid(s.pid), { kind, nick, text });
  }
}

/** A running chat: its node, gateway, HTTP server and URL. */
export interface Chat {
  node: Node;
  gateway: TabGateway;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** Starts the chat on `port` (0: any free port) of 127.0.0.1 (or `host`). */
export async function startChat(port: number, host = '127.0.0.1'): Promise<Chat> {
  const node = await startNode('chat@localhost', { systemApp: false });
  await node.spawnRegister('room', RoomActor);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file =
      path === '/'
        ? null
        : path === '/tab.js'
          ? BUNDLE
          : /^\/app\/[a-z_]+\.js$/.test(path)
            ? join(HERE, path.slice(5))
            : undefined;
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    const type = file === null ? 'text/html; charset=utf-8' : 'text/javascript';
    res.writeHead(200, { 'content-type': type }).end(file === null ? PAGE : readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  const gateway = await createTabGateway(node, {
    server,
    reconnectWindow: 10_000,
    // A demo's admission: any nick of 1 to 24 letters or digits is a token. A real application
    // checks its own session here.
    admit: (token) =>
      /^[\p{L}\p{N}_-]{1,24}$/u.test(token)
        ? { names: { room: Room }, label: token }
        : { refuse: 'a nick of 1 to 24 letters' },
  });
  const url = `http://${host}:${(server.address() as AddressInfo).port}/`;
  return {
    node,
    gateway,
    server,
    url,
    async stop() {
      await gateway.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await node.stop();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const chat = await startChat(Number(process.env['PORT'] ?? 8090), process.env['HOST'] ?? '127.0.0.1');
  console.log(`tab chat: open ${chat.url}?nick=ann and ${chat.url}?nick=bob (Ctrl-C to stop)`);
  process.once('SIGINT', () => void chat.stop().then(() => process.exit(0)));
}

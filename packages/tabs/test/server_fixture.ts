// A server node in its own OS process for the tab tests: a network with a static route to the
// gateway node (TABS_GATEWAY at 127.0.0.1:TABS_GATEWAY_PORT), tab routes, a typed 'board' and a
// watcher. Reports `{ name, port }`, then answers IPC commands `{ id, cmd, ... }` with
// `{ id, ok }` or `{ id, err, code }`:
//   call { pid }   → calls the tab process `pid` (TabView 'render') and answers its reply
//   send { pid, text } → sends `text` to the tab process
//   watch { pid }  → links and monitors `pid` from the watcher
//   watched        → what the watcher saw: { exits, downs } (codes)
//   downs          → waits until the watcher has an exit and a down, then answers as `watched`
//   until { n }    → waits until the watcher has n exits and n downs, then answers as `watched`
//   notes          → the notes the board got
//   publish { n }  → publishes `n` on the event 'news' (one publish)
//   out            → ENP messages this node sent to the gateway node so far
//   endNews        → ends the event 'news' (its publisher stops)
//   stop           → stops the node and exits

import { PID, startNode, type Atom } from 'ergo-ts';

import { attachTabRoutes } from '../src/index.js';
import { BoardActor, LogLines, NewsActor, quiet, routeTo, watcherOn, type PidJson } from './helpers.js';
import { TabView } from './protocols.js';

const gateway = process.env.TABS_GATEWAY!;
const node = await startNode(`srv${process.pid}@localhost`, {
  ...quiet(new LogLines()),
  network: {
    cookie: process.env.TABS_COOKIE!,
    acceptors: [{ port: 0 }],
    registrar: null,
    routes: [{ match: gateway.replace(/[.$]/g, '\\$&'), route: routeTo(Number(process.env.TABS_GATEWAY_PORT)) }],
  },
});
await attachTabRoutes(node);
const notes: string[] = [];
await node.spawnRegister('board', () => new BoardActor(notes));
const w = await watcherOn(node);
const news = await node.spawnRegister('news', NewsActor);
const pidOf = (j: PidJson): PID => new PID(j.node as Atom, j.id, j.creation);
const view = (j: PidJson) => TabView.pid(pidOf(j));
const watched = () => ({
  exits: w.seen.exits.map((x) => ({ pid: x.pid.node, code: x.code })),
  downs: w.seen.downs.map((x) => ({ pid: x.pid.node, code: x.code })),
});

process.on('message', (m: { id: number; cmd: string; pid?: PidJson; text?: string }) => {
  // The parent may be gone by the time an answer is ready (it stopped waiting): then none is sent.
  const reply = (a: object): void => {
    if (process.connected) process.send!(a, undefined, {}, () => undefined);
  };
  const answer = (p: Promise<unknown> | unknown): void => {
    Promise.resolve(p).then(
      (ok) => reply({ id: m.id, ok }),
      (e: Error & { code?: string }) => reply({ id: m.id, err: e.message, code: e.code }),
    );
  };
  switch (m.cmd) {
    case 'call':
      return answer(node.call(view(m.pid!), 'from-server'));
    case 'send':
      return answer(node.send(view(m.pid!), m.text!));
    case 'watch':
      return answer(w.watch(pidOf(m.pid!)));
    case 'watched':
      return answer(watched());
    case 'downs':
      return answer(w.seen.wait.then(watched));
    case 'until': {
      const n = (m as { n?: number }).n ?? 1;
      return answer(
        new Promise((resolve) => {
          const check = (): void => {
            if (w.seen.exits.length >= n && w.seen.downs.length >= n) resolve(watched());
            else w.seen.changed = check;
          };
          check();
        }),
      );
    }
    case 'notes':
      return answer(notes);
    case 'out':
      return answer(node.network().node(gateway).info().messagesOut);
    case 'endNews':
      return answer(node.kill(news));
    case 'publish':
      return answer(node.send(news, (m as { n?: number }).n));
    case 'stop':
      return answer(
        node.stop().then(() => {
          setImmediate(() => process.exit(0));
          return 'stopped';
        }),
      );
  }
});
const i = node.network().acceptors()[0]!.info().interface;
process.send!({ name: node.name, port: Number(i.slice(i.lastIndexOf(':') + 1)) });

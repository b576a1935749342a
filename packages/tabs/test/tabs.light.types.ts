// Compile-time checks of the light tab's API (this file is type-checked by the build, never run):
// a call or send to a typed address takes only its protocol's requests and messages and resolves
// to the reply of the request given; a mailbox's handlers are typed by its protocol; an event's
// payload comes typed; a light tab addresses PIDs, ProcessIDs and aliases only.

import { Event, joinLight, type PID, type LightTab } from '../src/light/index.js';
import { Board, TabView } from './protocols.js';

export async function typed(tab: LightTab<typeof TabView>, gw: string): Promise<void> {
  const board = Board.processID('board', gw);
  const sum: number = await tab.call(board, 41);
  const self: PID = await tab.call(board, 'self');
  // @ts-expect-error a string that is no request of Board
  await tab.call(board, 'add');
  // @ts-expect-error the reply of `add` is a number, not a string
  const wrong: string = await tab.call(board, 1);
  tab.send(board, 'a note');
  // @ts-expect-error Board's messages are strings
  tab.send(board, 42);
  await tab.send(board, 'important', { important: true });
  // @ts-expect-error a light tab has no local names: a string is no address
  tab.send('board', 'a note');
  // An untyped PID takes anything.
  tab.send(self, { any: 'thing' });

  // The tab's own mailbox speaks TabView: its PID is typed so.
  const view: PID<typeof TabView> = tab.pid;
  // A mailbox's handlers get its protocol's messages and requests, and answer with its replies.
  tab.mailbox<typeof TabView>({
    message: (_from, m) => {
      const line: string = m;
      void line;
    },
    call: (_from, req) => `rendered:${req}`,
  });
  tab.mailbox<typeof TabView>({
    // @ts-expect-error TabView's render answers a string
    call: () => 42,
  });

  // An event typed by its protocol: the payload comes as its type.
  await tab.subscribe(new Event(Board.events.changed, gw), (n) => {
    const changed: number = n;
    // @ts-expect-error the payload is a number
    const text: string = n;
    void changed;
    void text;
  });
  void sum;
  void wrong;
  void view;
}

export async function join(url: string): Promise<void> {
  const tab = await joinLight<typeof TabView>({
    url,
    token: 't',
    receive: {
      call: (_from, req) => req.toUpperCase(),
      // @ts-expect-error TabView's messages are strings
      message: (_from, m: number) => void m,
    },
  });
  // @ts-expect-error not a TabView request
  await tab.call(TabView.pid(tab.pid), 5);
}

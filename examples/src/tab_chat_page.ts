// The page of the tab chat (tab_chat.ts serves it, compiled, with the browser bundle): the tab
// joins the gateway, spawns its member process (which shows the room's lines), joins the room
// with a nick, and says what the form sends. `Leave` (or closing the page) leaves the gateway:
// the room's monitor of the member fires and everyone sees the tab leave.

import { Actor, type PID } from 'ergo-ts';
import { joinGateway, type TabNode } from '@ergo-ts/tabs/tab';

import { Member, Room } from './tab_chat_protocol.js';

// The DOM this page uses (the project has no DOM types).
interface El {
  textContent: string | null;
  className: string;
  value: string;
  disabled: boolean;
  append(...nodes: El[]): void;
  addEventListener(type: string, f: (e: { preventDefault(): void }) => void): void;
}
declare const document: { getElementById(id: string): El; createElement(tag: string): El };
declare const window: { addEventListener(type: string, f: () => void): void };
declare const location: { search: string; host: string; protocol: string };

const $ = (id: string): El => document.getElementById(id);

function addLine(cls: string, text: string): void {
  const li = document.createElement('li');
  li.className = cls;
  li.textContent = text;
  $('log').append(li);
}

/** The tab's member: every line the room sends is shown. */
class MemberView extends Actor.of(Member) {
  override handleMessage(_from: PID, l: { kind: string; nick: string; text: string }): void {
    if (l.kind === 'said') addLine('said', `${l.nick}: ${l.text}`);
    else addLine(l.kind, `* ${l.nick} ${l.kind === 'joined' ? 'joined' : `left (${l.text})`}`);
  }
}

async function main(): Promise<void> {
  const nick = new URLSearchParams(location.search).get('nick') ?? `guest${Math.floor(Math.random() * 1000)}`;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let tab: TabNode;
  try {
    tab = await joinGateway({ url: `${scheme}://${location.host}/tabs`, token: nick });
  } catch (e) {
    $('status').textContent = `refused: ${(e as { code?: string }).code ?? String(e)}`;
    return;
  }
  const member = await tab.node.spawn(MemberView, {});
  const room = Room.processID('room', tab.gateway);
  const here: string[] = await tab.node.call(room, { nick, member });
  $('status').textContent = `${nick} (${tab.name}) — here: ${here.join(', ')}`;
  $('status').className = 'joined';
  $('say').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('text').value.trim();
    if (text !== '') tab.node.send(room, text);
    $('text').value = '';
  });
  const leave = (): void => {
    void tab.leave();
    $('status').textContent = `${nick} left`;
    $('status').className = 'left';
    $('text').disabled = true;
  };
  $('leave').addEventListener('click', leave);
  window.addEventListener('pagehide', leave);
  void tab.ended.then((r) => {
    $('status').textContent = `disconnected: ${(r as { code?: string }).code ?? r.message}`;
    $('status').className = 'left';
  });
}

void main();

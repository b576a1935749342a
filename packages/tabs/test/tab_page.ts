// The page side of tabs.chromium.test.ts, run in Chromium: it imports the core and joinGateway as
// a page does, from dist/browser/tab.js (the test's import map sends `ergo-ts` and this file's
// `../src/tab/index.js` there), and the same Board and TabView protocols as the server
// (protocols.js, served as it is). It joins the gateway (keeping the resume string in
// sessionStorage, so a reload keeps the name), spawns a typed view that shows what the server
// sends and renders what it asks, calls the server's board, and shows every step in the page.

import { Actor, MessageDownProcessID, type PID, type Ref } from 'ergo-ts';

import { joinGateway, keep, type TabNode } from '../src/tab/index.js';
import { Board, TabView } from './protocols.js';

// The page's DOM, as much as this file uses (the project has no DOM types).
interface El {
  textContent: string | null;
  className: string;
  append(...nodes: El[]): void;
}
declare const document: { getElementById(id: string): El | null; createElement(tag: string): El };
declare const sessionStorage: {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
};

/** A line in the page's list `id` (class `cls` for the test's selectors and the screenshot). */
export function show(id: string, text: string, cls = 'line'): void {
  const li = document.createElement('li');
  li.className = cls;
  li.textContent = text;
  document.getElementById(id)!.append(li);
}

function status(text: string): void {
  document.getElementById('status')!.textContent = text;
}

/** The tab's typed view: `show` lines go to the page, `render` answers and shows what it drew. */
class PageView extends Actor.of(TabView) {
  override init(): void {
    // Introduces itself to the server's board: the board learns this PID as the sender.
    this.send(Board.processID('board', gatewayNode), `hello from ${this.pid.toString()}`);
  }
  override async handleMessage(_from: PID, msg: string): Promise<void> {
    show('shown', msg);
    // `add <n>`: this process calls the server's registered board (typed: a number in, a number out).
    const m = /^add (\d+)$/.exec(msg);
    if (m === null) return;
    const sum: number = await this.call(Board.processID('board', gatewayNode), Number(m[1]));
    show('calls', `the view: board.add(${m[1]}) = ${sum}`);
  }
  override handleCall(_from: PID, _ref: Ref, req: string): string {
    show('shown', `rendered ${req}`, 'line rendered');
    return `rendered:${req}`;
  }
}

/**
 * A process kept across reloads: its state is the lines it was shown (shown in the page's
 * `kept` list); `render` answers with them. Its init (on every page load, with the saved lines)
 * introduces it to the board and monitors the board, as any restarted process makes its own
 * relations again.
 */
class KeptLines extends Actor.of(TabView) {
  lines: string[] = [];
  override init(lines: string[]): void {
    this.lines = lines;
    for (const l of lines) show('kept', `${l} (restored after the reload)`, 'line restored');
    // The gateway's name after the tab's prefix (tab-<14-character id>-).
    const board = Board.processID('board', this.node.name.replace(/^tab-[0-9a-z]{14}-/, ''));
    this.monitor(board);
    this.send(board, `kept ${this.pid.toString()} with ${lines.length} lines`);
  }
  override handleMessage(_from: PID, msg: string | MessageDownProcessID): void {
    if (msg instanceof MessageDownProcessID) {
      show('kept', `the board went: ${msg.reason.message}`, 'line refused');
      return;
    }
    this.lines.push(msg);
    show('kept', msg);
  }
  override handleCall(_from: PID, _ref: Ref, req: string): string {
    return `${req}: ${this.lines.join(' | ')}`;
  }
}

let gatewayNode = '';
let tab: TabNode | undefined;
const views: PID[] = [];

/** What the page reports to the test after it joined. */
export interface Joined {
  name: string;
  creation: number;
  sum: number;
  view: string;
}

/** Joins (resuming the session sessionStorage holds), spawns a view, calls the board. */
export async function join(url: string, token: string): Promise<Joined> {
  const resume = sessionStorage.getItem('ergo-tab') ?? undefined;
  status('joining…');
  tab = await joinGateway({
    url,
    token,
    resume,
    onEnded: (reason) => {
      status(`session ended: ${(reason as { code?: string }).code ?? reason.message}`);
      document.getElementById('status')!.className = 'ended';
    },
  });
  const resumed = resume !== undefined && sessionStorage.getItem('ergo-tab-name') === tab.name;
  sessionStorage.setItem('ergo-tab', tab.resume);
  sessionStorage.setItem('ergo-tab-name', tab.name);
  gatewayNode = tab.gateway;
  status(`joined as ${tab.name}${resumed ? ' (the same name after a reload)' : ''}`);
  const view = await tab.node.spawn(PageView, {});
  views.push(view);
  // Typed: Board's add takes a number and answers one (a string would not compile).
  const sum: number = await tab.node.call(Board.processID('board', gatewayNode), 41);
  show('calls', `board.add(41) = ${sum}`);
  return { name: tab.name, creation: tab.node.creation, sum, view: view.toString() };
}

/** Calls a registered server process the grant does not list: the code it is refused with. */
export async function callUngranted(): Promise<string> {
  try {
    await tab!.node.call(Board.processID('secret_board', gatewayNode), 1);
    return 'not refused';
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    show('calls', `secret_board refused: ${code}`, 'line refused');
    return code;
  }
}

/** Joins with `token` and reports the code the page was refused with. */
export async function joinRefused(url: string, token: string): Promise<string> {
  try {
    await joinGateway({ url, token, reconnect: false });
    return 'admitted';
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    status(`refused: ${code}`);
    document.getElementById('status')!.className = 'refused';
    return code;
  }
}

/**
 * Joins with `joinTimeout` (its redials of a gateway that refuses the upgrade) and leaves at
 * once: the tab's name, or the code the join rejected with.
 */
export async function joinAndLeave(url: string, token: string, joinTimeout?: number): Promise<string> {
  try {
    const t = await joinGateway({ url, token, joinTimeout });
    const name = t.name;
    await t.leave();
    return name;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** The first view ends (the user closed its panel): reason `normal`. */
export function closeView(): void {
  tab!.node.sendExit(views[0]!, new Error('closed by the user'));
}

/** Resolves with the code the session ended with. */
export async function ended(): Promise<string> {
  const r = await tab!.ended;
  return (r as { code?: string }).code ?? r.message;
}

/** Spawns another view (it introduces itself to the board as the first did). */
export async function spawnView(): Promise<string> {
  const v = await tab!.node.spawn(PageView, {});
  views.push(v);
  return v.toString();
}

/** What the page reports after it joined keeping a process. */
export interface JoinedKeeping extends Joined {
  kept: string;
}

/**
 * Joins with sessionStorage and a kept process `lines` (after a reload: the same session, the
 * same PID, its saved lines), then spawns a view that is not kept.
 */
export async function joinKeeping(url: string, token: string): Promise<JoinedKeeping> {
  status('joining…');
  tab = await joinGateway({
    url,
    token,
    storage: sessionStorage,
    storageKey: 'ergo-tab-kept',
    keep: { lines: keep(KeptLines, { initial: [], save: (p) => p.lines }) },
  });
  gatewayNode = tab.gateway;
  const kept = tab.kept.get('lines')!;
  status(`joined as ${tab.name}; kept: ${kept.toString()}`);
  const view = await tab.node.spawn(PageView, {});
  views.push(view);
  return { name: tab.name, creation: tab.node.creation, sum: 0, view: view.toString(), kept: kept.toString() };
}

/** The kept process ends (the user closed it). */
export function closeKept(): void {
  tab!.node.sendExit(tab!.kept.get('lines')!, new Error('closed by the user'));
}

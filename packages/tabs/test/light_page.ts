// The page side of tabs.light.chromium.test.ts, run in Chromium: a page that loads the light tab
// alone (dist/browser/light.js: the test's import map sends both `ergo-ts` and this file's
// `../src/light/index.js` there), with the same Board and TabView protocols as the server
// (protocols.js imports defineProtocol, schema and PID from `ergo-ts`, which light.js provides).
// It joins, calls and sends to the server's board, answers the server's calls and shows its
// sends, hears an event, and reports refusals by their codes.

import {
  Event,
  joinLight,
  TerminateReasonShutdown,
  type Atom,
  type ErgoError,
  type LightTab,
  type TabStorage,
} from '../src/light/index.js';
import { Board, type TabView } from './protocols.js';

// The page's DOM, as much as this file uses (the project has no DOM types).
interface El {
  textContent: string | null;
  className: string;
  append(...nodes: El[]): void;
}
declare const document: { getElementById(id: string): El | null; createElement(tag: string): El };
declare const sessionStorage: TabStorage;

/** A line in the page's list `id`. */
function show(id: string, text: string, cls = 'line'): void {
  const li = document.createElement('li');
  li.className = cls;
  li.textContent = text;
  document.getElementById(id)!.append(li);
}

function status(text: string, cls = ''): void {
  const el = document.getElementById('status')!;
  el.textContent = text;
  el.className = cls;
}

let tab: LightTab<typeof TabView> | undefined;
const shown: string[] = [];
const events: unknown[] = [];
let wake: (() => void) | null = null;

/** Joins the gateway at `url` as a light tab; answers its node name and its mailbox's PID as text. */
export async function join(url: string, token: string, joinTimeout?: number): Promise<{ name: string; pid: string }> {
  try {
    tab = await joinLight<typeof TabView>({
      url,
      token,
      joinTimeout,
      receive: {
        message: (_from, m) => {
          shown.push(m);
          show('shown', m);
          wake?.();
        },
        call: (_from, req) => {
          show('shown', `rendered ${req}`, 'line rendered');
          return `rendered:${req}`;
        },
      },
      onEnded: (r) => status(`ended: ${(r as ErgoError).code}`, 'ended'),
    });
  } catch (e) {
    status(`refused: ${(e as ErgoError).code}`, 'refused');
    // The code crosses to the test (page.evaluate keeps an error's message only).
    throw new Error((e as ErgoError).code);
  }
  status(`joined as ${tab.name}`);
  // Introduces itself: the board learns the mailbox's PID as the sender.
  tab.send(board(), `hello from ${tab.pid.toString()}`);
  return { name: tab.name, pid: tab.pid.toString() };
}

function board() {
  return Board.processID('board', tab!.gateway);
}

/** The board's `add` (typed: a number in, a number out), shown in the page. */
export async function add(n: number): Promise<number> {
  const sum: number = await tab!.call(board(), n);
  show('calls', `board.add(${n}) = ${sum}`);
  return sum;
}

/** A note to the board. */
export function note(text: string): void {
  tab!.send(board(), text);
}

/** The code a call or send to `name` on the gateway node meets (a name the grant does not list). */
export async function callName(name: string): Promise<string> {
  try {
    await tab!.call(Board.processID(name, tab!.gateway), 1);
    return 'ok';
  } catch (e) {
    show('calls', `${name}: ${(e as ErgoError).code}`, 'line refused');
    return (e as ErgoError).code;
  }
}

/** Subscribes to event `name` of the gateway node; publishes land in `events` and the page. */
export async function subscribe(name: string): Promise<void> {
  await tab!.subscribe(new Event(name as Atom, tab!.gateway as Atom), (m) => {
    events.push(m);
    show('events', `event: ${JSON.stringify(m)}`);
    wake?.();
  });
}

/** Waits until `n` events arrived; answers them. */
export async function eventsSoFar(n: number): Promise<unknown[]> {
  while (events.length < n) await new Promise<void>((r) => (wake = r));
  return events;
}

/** Waits until `n` lines were shown; answers them. */
export async function shownSoFar(n: number): Promise<string[]> {
  while (shown.length < n) await new Promise<void>((r) => (wake = r));
  return shown;
}

/** `n` calls at once: each one's outcome ('ok' or its code). */
export async function flood(n: number): Promise<string[]> {
  const all = await Promise.allSettled(Array.from({ length: n }, (_, i) => tab!.call(board(), i, 60_000)));
  const codes = all.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as ErgoError).code));
  show(
    'calls',
    `${n} calls at once: ${codes.filter((c) => c === 'ok').length} ok, refused: ${[...new Set(codes.filter((c) => c !== 'ok'))].join(', ')}`,
  );
  return codes;
}

/** A call and a send of `bytes` bytes: their codes (refused at the tab above maxFrameBytes). */
export async function tooBig(bytes: number): Promise<[string, string]> {
  const big = 'x'.repeat(bytes);
  let call = 'ok';
  let send = 'ok';
  try {
    await tab!.call(board(), big as never);
  } catch (e) {
    call = (e as ErgoError).code;
  }
  try {
    tab!.send(board(), big);
  } catch (e) {
    send = (e as ErgoError).code;
  }
  show('calls', `a ${bytes}-byte frame: call ${call}, send ${send}`, 'line refused');
  return [call, send];
}

/** True while the socket is up. */
export function connected(): boolean {
  return tab!.connected;
}

/** Resolves when the socket is up again. */
export async function whenBack(): Promise<void> {
  await tab!.whenConnected();
  status(`back as ${tab!.name}`);
}

/**
 * Joins keeping the tab in `sessionStorage` with a kept mailbox `cart` (its lines shown in the
 * page), which introduces itself to the board; a reloaded page calls it again and gets the same
 * name and the same cart PID.
 */
export async function joinKeeping(url: string): Promise<{ name: string; cart: string }> {
  tab = await joinLight<typeof TabView>({
    url,
    token: 'good',
    storage: sessionStorage,
    keep: {
      cart: {
        message: (_from, m) => {
          shown.push(String(m));
          show('shown', `cart: ${String(m)}`, 'line rendered');
          wake?.();
        },
      },
    },
  });
  status(`joined as ${tab.name}`);
  const cart = tab.kept.get('cart')!;
  cart.send(board(), `cart ${cart.pid.toString()}`);
  return { name: tab.name, cart: cart.pid.toString() };
}

/** Closes the kept cart with reason shutdown (its watchers hear it). */
export function closeCart(): void {
  tab!.kept.get('cart')!.close(TerminateReasonShutdown);
}

// The gateway's inspector of its tabs: a registered process (`tabs_inspect`) on the gateway node
// that tools which do not import this package (the Observer, docs/observer.md "Tabs") ask for the
// gateway's tabs and for a tab's processes. It lists `gw.tabs()` itself, and asks a tab's own
// inspector (`tab_inspect`, tab/inspect.ts) for its processes with a deadline, reading the answer
// as untrusted: a tab that never answers, or answers garbage, gets a coded error, never a hang,
// and what passes on is rebuilt field by field (bounded strings and lists, finite numbers).
// Requests are plain objects, `{ '~tabs': 'list' | 'processes' | 'process', ... }`; the answer is
// a JSON text, `{ ok: true, value }` or `{ ok: false, code, message }` (the shape the entities
// manager answers operators in). Callers on tab nodes are refused: a tab never learns of others.

import {
  Actor,
  defineError,
  ErrProcessUnknown,
  ErrTimeout,
  ProcessID,
  ReplyLater,
  TerminateReasonNormal,
  toError,
  type Atom,
  type HandlerResult,
  type Node,
  type PID,
  type Ref,
} from 'ergo-ts';

import { ErrTabNotGranted, gatewayOfTab } from './frame.js';
import type { TabInfo } from './session.js';
import {
  TAB_INSPECT,
  TAB_INSPECT_MAX_PROCESSES,
  type TabInspectRequest,
  type TabProcessDetail,
  type TabProcessList,
  type TabProcessRow,
} from './tab/inspect.js';

/** Registered name of the gateway's inspector of its tabs. */
export const TABS_INSPECT = 'tabs_inspect';

/** How long the gateway waits for a tab's inspector (ms): under the Observer's 5 s per request. */
export const TAB_INSPECT_TIMEOUT = 3000;

/** A tab could not be inspected: unknown or away, no inspector, or an answer that is not one. */
export const ErrTabInspect = defineError('ERR_TAB_INSPECT', 'the tab could not be inspected');

/** What `tabs_inspect` is asked: the gateway's tabs, a tab's processes, or one of them. */
export type TabsInspectRequest =
  | { '~tabs': 'list' }
  | { '~tabs': 'processes'; tab: string; limit?: number }
  | { '~tabs': 'process'; tab: string; id: number };

/** The value of a `list` answer. */
export interface TabsList {
  /** The gateway node. */
  gateway: string;
  /** Its reconnect window (ms): how long an away tab keeps its name and processes. */
  window: number;
  /** When the list was taken (ms since the epoch): rates are the counters' change over it. */
  at: number;
  tabs: TabInfo[];
}

/** What the gateway gives its inspector. */
export interface TabsInspectSource {
  tabs(): TabInfo[];
  window: number;
}

const STOP: unique symbol = Symbol('tabs_inspect stop');
const TEXT_MAX = 256;
const LIST_MAX = 1000;
const INSPECT_KEYS_MAX = 100;

/** A tab's answer came back (or its call failed): answered from handleMessage. */
class Asked {
  constructor(
    readonly to: PID,
    readonly ref: Ref,
    readonly json: string,
  ) {}
}

function ok(value: unknown): string {
  return JSON.stringify({ ok: true, value });
}

function fail(e: Error): string {
  const code = (e as { code?: unknown }).code;
  return JSON.stringify({ ok: false, code: typeof code === 'string' ? code : ErrTabInspect.code, message: e.message });
}

class TabsInspect extends Actor {
  #source!: TabsInspectSource;

  override init(source: TabsInspectSource): void {
    this.#source = source;
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request === null || typeof request !== 'object') return undefined;
    const r = request as { '~tabs'?: unknown; tab?: unknown; limit?: unknown; id?: unknown };
    const op = r['~tabs'];
    if (op !== 'list' && op !== 'processes' && op !== 'process') return undefined;
    if (gatewayOfTab(from.node) !== undefined) {
      this.log.warning('tabs_inspect: %s asked for %s: refused (tabs may not inspect tabs)', from.node, op);
      return fail(ErrTabNotGranted.with('tabs_inspect answers server nodes only'));
    }
    const tabs = this.#source.tabs();
    if (op === 'list') return ok({ gateway: this.node.name, window: this.#source.window, at: Date.now(), tabs });
    const tab = typeof r.tab === 'string' ? tabs.find((t) => t.node === r.tab) : undefined;
    if (tab === undefined) return fail(ErrTabInspect.with(`no tab ${String(r.tab)} at ${this.node.name}`));
    if (!tab.connected)
      return fail(ErrTabInspect.with(`${tab.node} is away (within its window): its processes are out of reach`));
    let ask: TabInspectRequest;
    if (op === 'processes') {
      const limit = typeof r.limit === 'number' && Number.isInteger(r.limit) ? r.limit : 100;
      ask = { op, limit: Math.max(1, Math.min(TAB_INSPECT_MAX_PROCESSES, limit)) };
    } else {
      if (typeof r.id !== 'number' || !Number.isSafeInteger(r.id)) return fail(ErrTabInspect.with('id: a PID id'));
      ask = { op, id: r.id };
    }
    this.#ask(from, ref, tab.node, ask);
    return ReplyLater;
  }

  /** Asks tab `tab` outside the handler (a slow tab holds up only its own request). */
  #ask(from: PID, ref: Ref, tab: string, ask: TabInspectRequest): void {
    const back = (json: string): void => {
      try {
        this.node.send(this.pid, new Asked(from, ref, json));
      } catch {
        // this inspector ended meanwhile: the caller's call times out
      }
    };
    const to = new ProcessID(TAB_INSPECT as Atom, tab as Atom);
    this.node.call(to, ask, { timeout: TAB_INSPECT_TIMEOUT }).then(
      (answer) => {
        try {
          back(ok(ask.op === 'processes' ? cleanList(answer, tab, ask.limit ?? 100) : cleanDetail(answer, tab)));
        } catch (e) {
          this.log.warning('tabs_inspect: %s answered garbage: %s', tab, toError(e).message);
          back(fail(toError(e)));
        }
      },
      (e: unknown) => back(fail(callError(tab, toError(e)))),
    );
  }

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message === STOP) return TerminateReasonNormal;
    if (message instanceof Asked) this.sendResponse(message.to, message.ref, message.json);
  }
}

/** A failed call to a tab's inspector, said for an operator. */
function callError(tab: string, e: Error): Error {
  const code = (e as { code?: unknown }).code;
  if (code === ErrTimeout.code) return ErrTimeout.with(`${tab} did not answer within ${TAB_INSPECT_TIMEOUT / 1000} s`);
  if (code === ErrProcessUnknown.code)
    return ErrTabInspect.with(`${tab} runs no inspector (joinGateway inspect: false)`);
  return e;
}

function obj(v: unknown, tab: string, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw ErrTabInspect.with(`${tab} answered ${what} with ${v === null ? 'null' : typeof v}`);
  return v as Record<string, unknown>;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, TEXT_MAX) : '';
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.slice(0, LIST_MAX).map(str) : [];
}

function cleanRow(v: unknown, tab: string): TabProcessRow {
  const r = obj(v, tab, 'a process');
  const q = r.mailbox !== null && typeof r.mailbox === 'object' ? (r.mailbox as Record<string, unknown>) : {};
  return {
    id: num(r.id),
    pid: str(r.pid),
    name: str(r.name),
    behavior: str(r.behavior),
    application: str(r.application),
    state: str(r.state),
    mailbox: { main: num(q.main), system: num(q.system), urgent: num(q.urgent), log: num(q.log) },
    messagesIn: num(r.messagesIn),
    messagesOut: num(r.messagesOut),
    uptime: num(r.uptime),
    runningTime: num(r.runningTime),
  };
}

/** A tab's `processes` answer, rebuilt (at most `limit` rows). @throws ErrTabInspect */
export function cleanList(v: unknown, tab: string, limit: number): TabProcessList {
  const r = obj(v, tab, 'processes');
  if (!Array.isArray(r.processes)) throw ErrTabInspect.with(`${tab} answered processes without a list`);
  return {
    node: tab,
    total: num(r.total),
    processes: r.processes.slice(0, limit).map((p) => cleanRow(p, tab)),
  };
}

/** A tab's `process` answer, rebuilt; null (no such process) stays null. @throws ErrTabInspect */
export function cleanDetail(v: unknown, tab: string): TabProcessDetail | null {
  if (v === null || v === undefined) return null;
  const r = obj(v, tab, 'a process');
  const inspect: Record<string, string> = {};
  const given = r.inspect !== null && typeof r.inspect === 'object' ? (r.inspect as Record<string, unknown>) : {};
  for (const k of Object.keys(given).slice(0, INSPECT_KEYS_MAX)) inspect[str(k)] = str(given[k]);
  return {
    ...cleanRow(r, tab),
    parent: str(r.parent),
    leader: str(r.leader),
    links: strs(r.links),
    monitors: strs(r.monitors),
    aliases: strs(r.aliases),
    events: strs(r.events),
    inspect,
  };
}

/** The running inspector; `stop()` ends it (idempotent). */
export interface TabsInspectHandle {
  stop(): void;
}

/**
 * Registers `tabs_inspect` on gateway node `node` (createTabGateway does).
 * @throws ErrTaken when the name is registered already.
 */
export async function startTabsInspect(node: Node, source: TabsInspectSource): Promise<TabsInspectHandle> {
  const pid = await node.spawnRegister(TABS_INSPECT, TabsInspect, {}, source);
  let stopped = false;
  return {
    stop: () => {
      if (stopped || !node.isAlive()) return;
      stopped = true;
      try {
        node.send(pid, STOP);
      } catch {
        // gone already (the node is stopping)
      }
    },
  };
}

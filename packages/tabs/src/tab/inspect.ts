// The tab's inspector: a registered process (`tab_inspect`) that joinGateway starts on the tab's
// node, so the servers (the gateway's `tabs_inspect`, and through it the Observer) can list the
// tab's processes with their mailboxes, as the core's `system_inspect` does on a server node. A
// page's node runs no system application (the core's inspector needs Node and the EDF codec), so
// this one answers a small request of plain values, which the tab frame codec carries: what it
// reads comes from the node's public API only (processList, processInfo, inspect). Nothing here
// lets the tab reach anything: it only answers calls that servers made to it.

import { Actor, processStateString, ReplyLater, type Node, type PID, type ProcessInfo, type Ref } from 'ergo-ts';

/** Registered name of the tab's inspector on every tab node (unless joinGateway's `inspect: false`). */
export const TAB_INSPECT = 'tab_inspect';

/** Most processes a `processes` answer lists (the tab's own ceiling over the asked `limit`). */
export const TAB_INSPECT_MAX_PROCESSES = 1000;

/**
 * What a server asks the tab's inspector (a plain object, so the tab frame codec carries it):
 * its processes (at most `limit`, lowest ids first), or one process by its PID's id.
 */
export type TabInspectRequest = { op: 'processes'; limit?: number } | { op: 'process'; id: number };

/** One process of a tab, as a `processes` answer lists it. */
export interface TabProcessRow {
  /** The PID's id (its serial number on the tab's node). */
  id: number;
  /** The PID as text (`<CRC.0.id>`). */
  pid: string;
  /** Registered name ('' without one). */
  name: string;
  behavior: string;
  application: string;
  /** `sleep`, `running`, `wait response`... (Ergo's names). */
  state: string;
  /** Messages waiting in each queue of the mailbox. */
  mailbox: { main: number; system: number; urgent: number; log: number };
  messagesIn: number;
  messagesOut: number;
  /** Seconds since spawn. */
  uptime: number;
  /** Nanoseconds spent in its callbacks (sampled, as ProcessInfo.runningTime). */
  runningTime: number;
}

/** The answer to `{ op: 'processes' }`. */
export interface TabProcessList {
  node: string;
  /** Processes on the tab's node (the list may hold fewer: `limit`). */
  total: number;
  processes: TabProcessRow[];
}

/** The answer to `{ op: 'process' }`: the row and its relations, as text. */
export interface TabProcessDetail extends TabProcessRow {
  parent: string;
  leader: string;
  links: string[];
  monitors: string[];
  aliases: string[];
  /** Events the process registered. */
  events: string[];
  /** Its `handleInspect` map ({} when it has none or did not answer). */
  inspect: Record<string, string>;
}

/** How long the tab's inspector waits for a process' `handleInspect` (under the gateway's deadline). */
const INSPECT_WAIT_MS = 1000;

function row(info: ProcessInfo): TabProcessRow {
  const q = info.mailboxQueues;
  return {
    id: info.pid.id,
    pid: info.pid.toString(),
    name: String(info.name),
    behavior: info.behavior,
    application: String(info.application),
    state: processStateString(info.state),
    mailbox: { main: q.main, system: q.system, urgent: q.urgent, log: q.log },
    messagesIn: info.messagesIn,
    messagesOut: info.messagesOut,
    uptime: info.uptime,
    runningTime: info.runningTime,
  };
}

/** The processes of `node`, lowest ids first, at most `limit`. */
export function tabProcessList(node: Node, limit: number): TabProcessList {
  const n = Math.max(1, Math.min(TAB_INSPECT_MAX_PROCESSES, Number.isInteger(limit) ? limit : 100));
  const pids = node.processList().sort((a, b) => a.id - b.id);
  const processes: TabProcessRow[] = [];
  for (const pid of pids) {
    if (processes.length >= n) break;
    try {
      processes.push(row(node.processInfo(pid)));
    } catch {
      // it ended between the list and its info
    }
  }
  return { node: node.name, total: pids.length, processes };
}

/** One process of `node` by its id, or null when there is none. */
export async function tabProcessDetail(node: Node, id: number): Promise<TabProcessDetail | null> {
  const pid = node.processList().find((p) => p.id === id);
  if (pid === undefined) return null;
  let info: ProcessInfo;
  try {
    info = node.processInfo(pid);
  } catch {
    return null;
  }
  let inspect: Record<string, string> = {};
  try {
    inspect = await withTimeout(node.inspect(pid), INSPECT_WAIT_MS);
  } catch {
    // no handleInspect answer in time (a busy process): the rest still shows
  }
  const text = (xs: readonly { toString(): string }[]): string[] => xs.map((x) => x.toString());
  return {
    ...row(info),
    parent: info.parent.toString(),
    leader: info.leader.toString(),
    links: text([...info.linksPID, ...info.linksProcessID, ...info.linksAlias, ...info.linksEvent, ...info.linksNode]),
    monitors: text([
      ...info.monitorsPID,
      ...info.monitorsProcessID,
      ...info.monitorsAlias,
      ...info.monitorsEvent,
      ...info.monitorsNode,
    ]),
    aliases: text(info.aliases),
    events: text(info.events),
    inspect: { ...inspect },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e as Error)),
    );
  });
}

/** A detail read outside the handler, on its way back to be answered. */
class Detailed {
  constructor(
    readonly to: PID,
    readonly ref: Ref,
    readonly value: TabProcessDetail | null,
  ) {}
}

/** `tab_inspect`: answers {@link TabInspectRequest}s; anything else gets `undefined` (no answer). */
export class TabInspect extends Actor {
  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request === null || typeof request !== 'object') return undefined;
    const r = request as { op?: unknown; limit?: unknown; id?: unknown };
    if (r.op === 'processes') return tabProcessList(this.node, typeof r.limit === 'number' ? r.limit : 100);
    if (r.op !== 'process' || typeof r.id !== 'number') return undefined;
    // handleInspect of another process is awaited outside this handler (the inspector stays
    // free), and answered from handleMessage (a response goes out from a handler only).
    const back = (d: TabProcessDetail | null): void => {
      try {
        this.node.send(this.pid, new Detailed(from, ref, d));
      } catch {
        // the inspector ended meanwhile: the server's call times out
      }
    };
    tabProcessDetail(this.node, r.id).then(back, () => back(null));
    return ReplyLater;
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message instanceof Detailed) this.sendResponse(message.to, message.ref, message.value);
  }
}

// Its behaviour's name as the servers see it: tab.js is minified without class names.
Object.defineProperty(TabInspect, 'name', { value: 'TabInspect' });

/** Starts the tab's inspector on `node` (joinGateway does, unless `inspect: false`). */
export async function startTabInspect(node: Node): Promise<PID> {
  return node.spawnRegister(TAB_INSPECT, TabInspect);
}

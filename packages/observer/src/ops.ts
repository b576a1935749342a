// The operator's views a session answers as POST actions (issue 63 item 4; the MCP server has
// the same as tools, docs/mcp.md): `do/log_search` (the History's log records by text, level,
// process and time), `do/trace_group` / `do/trace_group_stop` (the message trace of several
// processes or of an application at once, under caps: `trace_group` frames with the records,
// a `trace_group_end` frame when it stops) and `do/socket_overview` (every meta process and
// connection with its traffic). All of them read the node the Observer runs on: another node
// answers `local_only`. The Top page needs no action (the process_page query sorts by running
// time and mailbox), nor does a supervisor's restart history (its handleInspect carries it).

import {
  GROUP_TRACE_COUNT,
  GROUP_TRACE_PROCESSES,
  GROUP_TRACE_RATE,
  GROUP_TRACE_SECONDS,
  GroupTrace,
  META_OVERVIEW_LIMIT,
  applicationPIDs,
  groupLimit,
  socketOverview,
  type Node,
  type PID,
  type TraceEnd,
} from 'ergo-ts';

import { LogSearchQuery } from './history.js';
import { nodeCRC, parsePID } from './json.js';
import { CommandError, type Target } from './requests.js';
import { ToolError, type TraceEnded } from './tools.js';

/** The actions of this module. */
export const OPS_ACTIONS: ReadonlySet<string> = new Set([
  'log_search',
  'trace_group',
  'trace_group_stop',
  'socket_overview',
]);

/** Default and largest records a log search answers with. */
export const LOG_SEARCH_LIMIT = { default: 200, max: 1000 };

const LEVEL_NAMES = new Set(['trace', 'debug', 'info', 'warning', 'error', 'panic']);

function limit(v: unknown, name: string, range: { default: number; max: number }): number {
  try {
    return groupLimit(v, name, range);
  } catch (err) {
    throw new CommandError(400, (err as Error).message);
  }
}

function timeArg(v: unknown, name: string): number {
  if (v === undefined || v === null || v === '' || v === 0) return 0;
  const t = typeof v === 'number' ? v : Date.parse(String(v));
  if (!Number.isFinite(t) || t < 0) throw new CommandError(400, `${name}: a time (ms since the epoch, or ISO 8601)`);
  return t;
}

function text(v: unknown, name: string, max: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > max)
    throw new CommandError(400, `${name}: a text of at most ${max} characters`);
  return v.trim();
}

/** The log search a body asks for (checked). */
export function logSearchQuery(body: Record<string, unknown>): LogSearchQuery {
  const levels = body.levels === undefined ? [] : body.levels;
  if (!Array.isArray(levels) || levels.some((l) => typeof l !== 'string' || !LEVEL_NAMES.has(l)))
    throw new CommandError(400, `levels: a list of ${[...LEVEL_NAMES].join(', ')}`);
  const from = timeArg(body.from, 'from');
  const to = timeArg(body.to, 'to');
  if (from > 0 && to > 0 && to < from) throw new CommandError(400, 'to: before from');
  return new LogSearchQuery(
    text(body.text, 'text', 1000),
    levels as string[],
    text(body.process, 'process', 200),
    from,
    to,
    limit(body.limit, 'limit', LOG_SEARCH_LIMIT),
  );
}

/** Refuses every view here for a node other than the Observer's own. */
export function localOnly(action: string, target: Target, self: string): void {
  if (!target.local)
    throw new ToolError(
      400,
      'local_only',
      `${action.replace(/_/g, ' ')} works on the Observer's own node (${self}), not on ${target.node}`,
    );
}

/** A session's group trace (one at a time: a new one replaces the old) and the socket overview. */
export class OpsViews {
  #group: GroupTrace | null = null;
  #retired: GroupTrace | null = null;

  constructor(
    private readonly node: Node,
    private readonly traceAllowed: boolean,
  ) {}

  /** A group trace is running (the session's flush timer keeps going). */
  get tracing(): boolean {
    return this.#group !== null || this.#retired !== null;
  }

  /** Starts a group trace of `pids` or of `application` (body) on this node. */
  startGroup(body: Record<string, unknown>, target: Target): unknown {
    if (!this.traceAllowed)
      throw new ToolError(
        403,
        'message_trace_disabled',
        'message trace is turned off on this Observer (messageTrace: false)',
      );
    const limits = {
      maxProcesses: limit(body.max_processes, 'max_processes', GROUP_TRACE_PROCESSES),
      rate: limit(body.rate, 'rate', GROUP_TRACE_RATE),
      count: limit(body.count, 'count', GROUP_TRACE_COUNT),
      seconds: limit(body.seconds, 'seconds', GROUP_TRACE_SECONDS),
    };
    let pids: PID[];
    const app = text(body.application, 'application', 200);
    if (app !== '') {
      try {
        pids = applicationPIDs(this.node, app);
      } catch (err) {
        throw new ToolError(404, 'application_unknown', `no running application ${app}: ${(err as Error).message}`);
      }
    } else {
      const list = body.pids;
      if (!Array.isArray(list) || list.length === 0 || list.length > GROUP_TRACE_PROCESSES.max)
        throw new CommandError(400, `pids: a list of 1..${GROUP_TRACE_PROCESSES.max} PIDs or names (or application)`);
      pids = list.map((p) => this.#pid(p, target));
    }
    const group = new GroupTrace(this.node, pids, limits);
    if (this.#group !== null) {
      this.#group.stop('stopped');
      this.#retired = this.#group;
    }
    this.#group = group;
    return {
      application: app === '' ? undefined : app,
      limits,
      perProcess: group.perProcess,
      traced: group.traces.map((t) => String(t.pid)),
      names: this.#names(group.traces.map((t) => t.pid)),
      skipped: group.skipped,
    };
  }

  /** Stops the group trace (its last records and its end go out at the next flush). */
  stopGroup(): unknown {
    this.#group?.stop('stopped');
    return { stopped: this.#group !== null };
  }

  /** Stops it (the session ends or observes another node). */
  stopAll(why: TraceEnd): void {
    this.#group?.stop(why);
  }

  /** Writes what the group trace kept (`trace_group`) and its end (`trace_group_end`); true while it runs. */
  flush(write: (type: string, json: string) => void, ended: (t: TraceEnded) => void): boolean {
    for (const g of [this.#retired, this.#group]) {
      if (g === null) continue;
      const records = this.#withPeerNames(g.drain());
      const done = g.end !== null;
      if (records.length > 0 || done)
        write('trace_group', JSON.stringify({ records, kept: g.kept, dropped: g.dropped, processes: g.summary() }));
      if (!done) continue;
      write('trace_group_end', JSON.stringify({ end: g.end, kept: g.kept, dropped: g.dropped }));
      ended({ pid: `${g.traces.length} processes`, end: g.end, kept: g.kept, dropped: g.dropped });
      if (g === this.#group) this.#group = null;
      else this.#retired = null;
    }
    return this.#group !== null;
  }

  /** The socket overview of this node. */
  sockets(body: Record<string, unknown>): Promise<unknown> {
    return socketOverview(this.node, limit(body.limit, 'limit', META_OVERVIEW_LIMIT));
  }

  /** The registered names of those of `pids` that have one (the Trace page shows them beside the PID). */
  /**
   * `records` with `peerName` where the peer is known: a process of this node by its registered
   * name, another node's by that node (`@name`), so the Trace page's peer is more than a bare PID.
   */
  #withPeerNames<T extends { peer: string }>(records: T[]): (T & { peerName?: string })[] {
    if (records.length === 0) return records;
    const labels = new Map<string, string>();
    let crcs: Map<string, string> | null = null;
    const label = (peer: string): string => {
      const local = parsePID(peer, this.node.name, this.node.creation);
      if (local !== null) {
        try {
          return this.node.processName(local);
        } catch {
          return ''; // ended since
        }
      }
      const crc = /^<([0-9A-F]{8})\./.exec(peer)?.[1];
      if (crc === undefined) return '';
      if (crcs === null) {
        crcs = new Map();
        try {
          for (const n of this.node.network().nodes()) crcs.set(nodeCRC(n), n);
        } catch {
          // no network: no other node
        }
      }
      const n = crcs.get(crc);
      return n === undefined ? '' : `@${n}`;
    };
    return records.map((r) => {
      let name = labels.get(r.peer);
      if (name === undefined) labels.set(r.peer, (name = label(r.peer)));
      return name === '' ? r : { ...r, peerName: name };
    });
  }

  #names(pids: PID[]): Record<string, string> {
    const names: Record<string, string> = {};
    for (const pid of pids) {
      try {
        const name = this.node.processName(pid);
        if (name !== '') names[String(pid)] = name;
      } catch {
        // gone since the trace started: the PID alone
      }
    }
    return names;
  }

  #pid(v: unknown, target: Target): PID {
    if (typeof v !== 'string' || v.trim() === '')
      throw new CommandError(400, 'pids: PIDs (<CRC.hi.lo>) or registered names');
    const s = v.trim();
    if (s.startsWith('<')) {
      const pid = parsePID(s, target.node, target.creation);
      if (pid === null) throw new CommandError(400, `pids: ${s} is not a PID of ${target.node}`);
      return pid;
    }
    try {
      return this.node.processPID(s);
    } catch {
      throw new ToolError(404, 'process_unknown', `no process registered as ${s} on ${target.node}`);
    }
  }
}

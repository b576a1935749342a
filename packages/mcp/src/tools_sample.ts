// Go Ergo's samplers: a sampler is a process (`mcp_sampler_<8 hex>`) with a ring buffer.
// Active (sample_start): it calls a tool every `interval_ms` and keeps each answer. Passive
// (sample_listen): it keeps log records (it is a node logger for the levels asked) and/or the
// messages an event publishes. Each ends after `count` samples, `duration_sec` (default 60, at
// most 3600) or `max_errors` errors in a row, then lingers `linger_sec` (default 30) so its last
// samples can still be read; sample_stop ends it at once.

import { format } from 'node:util';

import {
  Actor,
  Event,
  MessageLogMeta,
  MessageLogNetwork,
  MessageLogProcess,
  TerminateReasonNormal,
  logLevelString,
  parseLogLevel,
  type Atom,
  type LogLevel,
  type MessageEvent,
  type MessageLog,
  type PID,
  type Ref,
} from 'ergo-ts';
import { z } from 'zod';

import type { ToolContext } from './context.js';
import { detach } from './detach.js';
import { McpToolError } from './errors.js';
import { deadline, message } from './inspect.js';
import { toJSONValue } from './json.js';
import { common, timeoutOf, type ToolSpec } from './tools.js';

/** Registered-name prefix of the sampler processes. */
export const SAMPLER_PREFIX = 'mcp_sampler_';

interface Sample {
  sequence: number;
  timestamp: string;
  data?: unknown;
  error?: string;
}

/** How a sampler is started. */
interface SamplerArgs {
  id: string;
  description: string;
  mode: 'active' | 'passive';
  tool?: string;
  /** Runs the sampled tool once (active samplers). */
  sampleOnce?: () => Promise<unknown>;
  intervalMs: number;
  count: number;
  durationMs: number;
  bufferSize: number;
  maxErrors: number;
  lingerMs: number;
  logLevels: LogLevel[];
  logSource: string;
  event: string;
  eventNode: string;
}

const tick = Symbol('sampler tick');
const expire = Symbol('sampler deadline');
const leave = Symbol('sampler linger over');
const becomeLogger = Symbol('sampler becomes a logger');

class SampleDone {
  constructor(
    readonly ok: boolean,
    readonly value: unknown,
  ) {}
}

/** A read of the buffer (`sample_read`), a status (`sample_list`) or a stop (`sample_stop`). */
export class SamplerRead {
  constructor(readonly since: number) {}
}
export class SamplerStatus {}
export class SamplerStop {}

class Sampler extends Actor {
  #a!: SamplerArgs;
  #ring: Sample[] = [];
  #seq = 0;
  #errors = 0;
  #completed = false;
  #completedAt = 0;
  #started = 0;
  #reason = '';

  override async init(a: SamplerArgs): Promise<void> {
    this.#a = a;
    this.#started = Date.now();
    if (a.durationMs > 0) this.sendAfter(this.pid, expire, a.durationMs);
    if (a.mode === 'active') {
      this.send(this.pid, tick);
      return;
    }
    // A logger by PID once registered (after init): the first message it takes.
    if (a.logLevels.length > 0) this.send(this.pid, becomeLogger);
    if (a.event !== '') {
      const buffered = await this.monitorEvent(new Event(a.event as Atom, (a.eventNode || this.node.name) as Atom));
      for (const m of buffered) this.#keep({ event: a.event, message: toJSONValue(m.message) });
    }
  }

  #keep(data: unknown, error?: string): void {
    // Numbered from 1, so `since: 0` (the default) reads them all and the `sequence` a read
    // answers (the last number given) read back as `since` gives only what came after, as Go's
    // sample_read documents.
    const s: Sample = { sequence: ++this.#seq, timestamp: new Date().toISOString() };
    if (error === undefined) s.data = data;
    else s.error = error;
    this.#ring.push(s);
    if (this.#ring.length > this.#a.bufferSize) this.#ring.shift();
    if (this.#a.count > 0 && this.#seq >= this.#a.count) this.#complete(`${this.#seq}/${this.#a.count} samples`);
  }

  #complete(why: string): void {
    if (this.#completed) return;
    this.#completed = true;
    this.#completedAt = Date.now();
    this.#reason = why;
    if (this.#a.logLevels.length > 0) {
      try {
        this.node.loggerDeletePID(this.pid);
      } catch {
        // not a logger (any more)
      }
    }
    this.sendAfter(this.pid, leave, this.#a.lingerMs);
  }

  override handleMessage(_from: PID, m: unknown): Error | void {
    if (m === leave) return TerminateReasonNormal;
    if (m === expire) return void this.#complete('duration reached');
    if (m === becomeLogger && !this.#completed)
      return void this.node.loggerAddPID(this.pid, this.#a.id, ...this.#a.logLevels);
    if (this.#completed) return;
    if (m === tick) {
      // The sampled call runs on while this sampler waits for mail; sample_stop may end the
      // sampler first, and then its result has nowhere to go (delivered: false), which is fine.
      const node = this.node;
      const self = this.pid;
      const deliver = (done: SampleDone): void => {
        try {
          node.send(self, done);
        } catch {
          // the sampler has ended meanwhile
        }
      };
      detach(this.#a.sampleOnce!, `sampler ${this.#a.id}`, this.log, {
        value: (v) => deliver(new SampleDone(true, v)),
        error: (e) => deliver(new SampleDone(false, message(e))),
      });
      return;
    }
    if (m instanceof SampleDone) {
      if (m.ok) {
        this.#errors = 0;
        this.#keep(m.value);
      } else {
        this.#errors++;
        this.#keep(undefined, String(m.value));
        if (this.#a.maxErrors > 0 && this.#errors >= this.#a.maxErrors)
          return void this.#complete(`${this.#errors} errors in a row`);
      }
      if (!this.#completed) this.sendAfter(this.pid, tick, this.#a.intervalMs);
    }
  }

  override handleLog(m: MessageLog): void {
    if (this.#completed) return;
    const s = m.source;
    const source =
      s instanceof MessageLogProcess
        ? 'process'
        : s instanceof MessageLogMeta
          ? 'meta'
          : s instanceof MessageLogNetwork
            ? 'network'
            : 'node';
    if (this.#a.logSource !== '' && this.#a.logSource !== source) return;
    this.#keep({
      level: logLevelString(m.level),
      source,
      ...(s instanceof MessageLogProcess ? { pid: String(s.pid), name: s.name === '' ? undefined : s.name } : {}),
      message: format(m.format, ...m.args),
    });
  }

  override handleEvent(m: MessageEvent): void {
    if (!this.#completed) this.#keep({ event: this.#a.event, message: toJSONValue(m.message) });
  }

  override handleCall(_from: PID, _ref: Ref, r: unknown): unknown {
    if (r instanceof SamplerRead)
      return {
        sampler_id: this.#a.id,
        mode: this.#a.mode,
        ...(this.#a.tool === undefined ? {} : { tool: this.#a.tool }),
        sequence: this.#seq,
        completed: this.#completed,
        samples: this.#ring.filter((s) => s.sequence > r.since),
      };
    if (r instanceof SamplerStatus) {
      const now = Date.now();
      const lingering = Math.max(0, Math.round((this.#completedAt + this.#a.lingerMs - now) / 1000));
      return {
        id: this.#a.id,
        pid: String(this.pid),
        description: this.#a.description,
        status: this.#completed ? `completed (${this.#reason}), lingering ${lingering}s` : 'running',
        owner: this.node.name,
        samples: `${this.#seq} collected, buffer ${this.#ring.length}/${this.#a.bufferSize}`,
        uptime: `${Math.round((now - this.#started) / 1000)}s`,
        ...(this.#a.durationMs > 0 && !this.#completed
          ? {
              deadline: new Date(this.#started + this.#a.durationMs).toISOString(),
              remaining: `${Math.max(0, Math.round((this.#started + this.#a.durationMs - now) / 1000))}s`,
            }
          : {}),
      };
    }
    if (r instanceof SamplerStop) {
      this.send(this.pid, leave);
      return { stopped: this.#a.id };
    }
    return undefined;
  }

  override terminate(): void {
    if (this.#a?.logLevels.length > 0 && !this.#completed)
      try {
        this.node.loggerDeletePID(this.pid);
      } catch {
        // gone already
      }
  }
}

function samplerId(): string {
  return (
    SAMPLER_PREFIX +
    Math.floor(Math.random() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0')
  );
}

function samplerPID(ctx: ToolContext, id: unknown): PID {
  if (typeof id !== 'string' || !id.startsWith(SAMPLER_PREFIX))
    throw new McpToolError(
      'ERR_MCP_BAD_ARGUMENT',
      `sampler_id: ${String(id)} is not a sampler id (${SAMPLER_PREFIX}…)`,
    );
  try {
    return ctx.node.processPID(id);
  } catch {
    throw new McpToolError('ERR_MCP_REFUSED', `${ctx.node.name} has no sampler ${id} (it ended)`);
  }
}

async function askSampler(ctx: ToolContext, id: unknown, request: unknown, timeout: number): Promise<unknown> {
  const pid = samplerPID(ctx, id);
  try {
    return await deadline(ctx.node.call(pid, request, { timeout }), timeout, `sampler ${String(id)} did not answer`);
  } catch (err) {
    if (err instanceof McpToolError) throw err;
    throw new McpToolError('ERR_MCP_REFUSED', `sampler ${String(id)}: ${message(err)}`);
  }
}

const durationArg = z
  .number()
  .int()
  .min(0)
  .max(3600)
  .optional()
  .describe('Run for N seconds then stop (default 60, at most 3600, 0 = until stopped)');
const bufferArg = z.number().int().min(1).max(100_000).optional().describe('Ring buffer size (default 256)');
const lingerArg = z
  .number()
  .int()
  .min(0)
  .max(3600)
  .optional()
  .describe('Seconds to keep the sampler after it completes, for reading (default 30)');

/**
 * The sampler tools. `runTool` runs a sampled tool as a client's call would (the cluster proxy
 * included): given by the table that lists these.
 */
export function sampleTools(
  runTool: (ctx: ToolContext, tool: string, args: Record<string, unknown>) => Promise<unknown>,
  known: (tool: string) => ToolSpec | undefined,
): ToolSpec[] {
  return [
    {
      name: 'sample_start',
      title: 'Start an active sampler',
      description:
        'Calls a tool every interval_ms (default 5000, at least 100) into a ring buffer: trends over time (sample_read to read). Ends after count samples, duration_sec or max_errors errors in a row; lingers linger_sec',
      action: false,
      remote: 'none',
      shape: {
        ...common,
        tool: z.string().min(1).describe('The tool to call'),
        arguments: z.record(z.string(), z.unknown()).optional().describe("The tool's arguments"),
        // At most a day: a longer delay overflows Node's timers, which then fire at once.
        interval_ms: z
          .number()
          .int()
          .min(100)
          .max(86_400_000)
          .optional()
          .describe('Interval (ms, default 5000, at least 100, at most a day)'),
        count: z.number().int().min(0).optional().describe('Samples to collect (0 = until stopped)'),
        duration_sec: durationArg,
        buffer_size: bufferArg,
        max_errors: z.number().int().min(0).optional().describe('Stop after N errors in a row (default 0: keep going)'),
        linger_sec: lingerArg,
      },
      async run(ctx, args) {
        const tool = String(args.tool);
        const spec = known(tool);
        if (spec === undefined) throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `tool: no tool ${tool}`);
        if (spec.name.startsWith('sample_'))
          throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'tool: a sampler cannot sample samplers');
        if (spec.action)
          throw new McpToolError('ERR_MCP_BAD_ARGUMENT', `tool: ${tool} is an action; only read tools are sampled`);
        const toolArgs = (args.arguments ?? {}) as Record<string, unknown>;
        const id = samplerId();
        const interval = Number(args.interval_ms ?? 5000);
        const shown = Object.entries(toolArgs)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(', ');
        const a: SamplerArgs = {
          id,
          description: `${tool}${shown === '' ? '' : `(${shown})`} every ${interval >= 1000 ? `${interval / 1000}s` : `${interval}ms`}`,
          mode: 'active',
          tool,
          sampleOnce: () => runTool(ctx, tool, toolArgs),
          intervalMs: interval,
          count: Number(args.count ?? 0),
          durationMs: Number(args.duration_sec ?? 60) * 1000,
          bufferSize: Number(args.buffer_size ?? 256),
          maxErrors: Number(args.max_errors ?? 0),
          lingerMs: Number(args.linger_sec ?? 30) * 1000,
          logLevels: [],
          logSource: '',
          event: '',
          eventNode: '',
        };
        const pid = await ctx.node.spawnRegister(id, Sampler, {}, a);
        return { sampler_id: id, pid, description: a.description };
      },
    },
    {
      name: 'sample_listen',
      title: 'Start a passive sampler',
      description:
        'Keeps log records (log_levels, log_source) and/or the messages an event publishes (event, event_node) as they happen, in a ring buffer (sample_read to read)',
      action: false,
      remote: 'none',
      shape: {
        ...common,
        log_levels: z
          .array(z.enum(['trace', 'debug', 'info', 'warning', 'error', 'panic']))
          .optional()
          .describe('Log levels to keep'),
        log_source: z
          .enum(['process', 'meta', 'node', 'network'])
          .optional()
          .describe('Only log records of this source (default all)'),
        event: z.string().optional().describe('Event whose messages to keep'),
        event_node: z.string().optional().describe('Node that owns the event (default this one)'),
        duration_sec: durationArg,
        buffer_size: bufferArg,
        linger_sec: lingerArg,
      },
      async run(ctx, args) {
        const levels = ((args.log_levels ?? []) as string[]).map((l) => parseLogLevel(l) as LogLevel);
        const event = typeof args.event === 'string' ? args.event : '';
        if (levels.length === 0 && event === '')
          throw new McpToolError('ERR_MCP_BAD_ARGUMENT', 'log_levels or event: at least one of them is required');
        const id = samplerId();
        const what = [
          levels.length > 0
            ? `log [${(args.log_levels as string[]).join(', ')}]${args.log_source ? ` source=${String(args.log_source)}` : ''}`
            : '',
          event === '' ? '' : `event ${event}`,
        ].filter((s) => s !== '');
        const a: SamplerArgs = {
          id,
          description: `listen: ${what.join(' + ')}`,
          mode: 'passive',
          intervalMs: 0,
          count: 0,
          durationMs: Number(args.duration_sec ?? 60) * 1000,
          bufferSize: Number(args.buffer_size ?? 256),
          maxErrors: 0,
          lingerMs: Number(args.linger_sec ?? 30) * 1000,
          logLevels: levels,
          logSource: typeof args.log_source === 'string' ? args.log_source : '',
          event,
          eventNode: typeof args.event_node === 'string' ? args.event_node : '',
        };
        let pid: PID;
        try {
          pid = await ctx.node.spawnRegister(id, Sampler, {}, a);
        } catch (err) {
          throw new McpToolError('ERR_MCP_REFUSED', `the sampler could not start: ${message(err)}`);
        }
        return { sampler_id: id, pid, description: a.description };
      },
    },
    {
      name: 'sample_read',
      title: 'Read a sampler',
      description:
        'The samples a sampler keeps with a sequence number after `since` (default 0: all of them; samples are numbered from 1, and `sequence` in the answer is the last number given: pass it as `since` to read only newer ones); also while it lingers',
      action: false,
      remote: 'none',
      shape: {
        ...common,
        sampler_id: z.string().min(1).describe('The sampler id (mcp_sampler_…)'),
        since: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Return the samples with a sequence number greater than this (default 0: all)'),
      },
      async run(ctx, args) {
        return askSampler(ctx, args.sampler_id, new SamplerRead(Number(args.since ?? 0)), timeoutOf(ctx, args));
      },
    },
    {
      name: 'sample_stop',
      title: 'Stop a sampler',
      description: 'Ends a sampler at once (no linger)',
      action: false,
      remote: 'none',
      shape: { ...common, sampler_id: z.string().min(1).describe('The sampler id (mcp_sampler_…)') },
      async run(ctx, args) {
        return askSampler(ctx, args.sampler_id, new SamplerStop(), timeoutOf(ctx, args));
      },
    },
    {
      name: 'sample_list',
      title: 'Samplers',
      description:
        'The samplers of this node: description, status (running; completed, lingering Ns), samples, uptime, deadline',
      action: false,
      remote: 'none',
      shape: { ...common },
      async run(ctx, args) {
        const timeout = timeoutOf(ctx, args);
        const out: unknown[] = [];
        for (const pid of ctx.node.processList()) {
          let name = '';
          try {
            name = ctx.node.processName(pid);
          } catch {
            continue;
          }
          if (!name.startsWith(SAMPLER_PREFIX)) continue;
          try {
            out.push(await ctx.node.call(pid, new SamplerStatus(), { timeout }));
          } catch {
            // ended meanwhile
          }
        }
        return { node: ctx.node.name, samplers: out };
      },
    },
  ];
}

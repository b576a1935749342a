// The Health actor: Kubernetes liveness / readiness / startup probes fed by signals that actors
// register and heartbeat (Ergo's actor/health).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Actor, ErrIncorrect, MessageDownPID, ignorable, type PID, type Ref, type SendTarget } from 'ergo-ts';
import { WebMux, createWebServer, type WebServer } from 'ergo-ts/meta';
import { sendMetric, type MetricsClient } from './custom.js';

/** Probe bits a signal counts for; 0 means Liveness (as in Ergo). */
export const Probe = { Liveness: 1, Readiness: 2, Startup: 4 } as const;

/** Default host of the Health actor's server (Ergo's). */
export const DEFAULT_HEALTH_HOST = 'localhost';
/** Default port of the Health actor's server (Ergo's). */
export const DEFAULT_HEALTH_PORT = 3000;
/** Default prefix of the probe endpoints (Ergo's). */
export const DEFAULT_HEALTH_PATH = '/health';
/** Default milliseconds between heartbeat checks (Ergo's 1 s). */
export const DEFAULT_HEALTH_CHECK_INTERVAL = 1000;
/** Default name the helpers address the Health actor by. */
export const HEALTH_NAME = 'health';

/** Options of the {@link Health} actor (its init argument). */
export interface HealthOptions {
  host?: string;
  /** Default 3000; 0 picks a free one (inspect → `http_port`). */
  port?: number;
  /** Prefix of the endpoints `<path>/live`, `/ready`, `/startup` (default '/health'). */
  path?: string;
  /** Register the endpoints on this mux and start no server. */
  mux?: WebMux;
  /** Milliseconds between checks for lapsed heartbeats (default 1000); they drive handleSignalDown. */
  checkInterval?: number;
}

/**
 * Call request: registers `signal` for the probes in `probe` (bits of {@link Probe}), owned and
 * monitored by the caller. With `timeoutMs` > 0 the signal must be heartbeaten at least that
 * often or it goes down. A signal starts up. Registering a signal again replaces it (e.g. by a
 * restarted process). Reply: true, or an ErrIncorrect for a bad request.
 */
export class HealthRegisterRequest {
  constructor(
    readonly signal: string,
    readonly probe: number = Probe.Liveness,
    readonly timeoutMs: number = 0,
  ) {}
}
/** Call request: removes a signal the caller owns. Reply: true (false for an unknown one). */
export class HealthUnregisterRequest {
  constructor(readonly signal: string) {}
}
/** Heartbeat of a signal: resets its timeout (and brings a lapsed signal back up). */
export class MessageHeartbeat {
  constructor(readonly signal: string) {}
}
/** Marks a signal up. */
export class MessageSignalUp {
  constructor(readonly signal: string) {}
}
/** Marks a signal down (e.g. a dependency went away) until a SignalUp or heartbeat. */
export class MessageSignalDown {
  constructor(readonly signal: string) {}
}

interface Signal {
  owner: PID;
  probe: number;
  timeoutMs: number;
  lastBeat: number;
  up: boolean;
}

const PROBES: [string, number][] = [
  ['/live', Probe.Liveness],
  ['/ready', Probe.Readiness],
  ['/startup', Probe.Startup],
];

class CheckTick {}

/**
 * Health probe actor. Init listens on host:port (or adds the endpoints to `mux`); each endpoint
 * answers 200 `{"status":"healthy",...}` when every signal of that probe is up and within its
 * heartbeat timeout, 503 `{"status":"unhealthy",...}` otherwise; with no signals a probe is
 * healthy. A signal goes down when its heartbeat lapses, when its owner sends MessageSignalDown,
 * or when its owner ends (it stays listed as down until registered again). The server ends with
 * the actor. Override handleSignalUp / handleSignalDown to react.
 */
export class Health extends Actor {
  private readonly signals = new Map<string, Signal>();
  private server: WebServer | null = null;
  private opts: HealthOptions = {};
  /** Owners monitored (one monitor per owner: a second monitorPID is refused). */
  private readonly watched = new Set<string>();

  override async init(options: HealthOptions = {}): Promise<void> {
    this.opts = options;
    const interval = options.checkInterval ?? DEFAULT_HEALTH_CHECK_INTERVAL;
    if (!Number.isInteger(interval) || interval < 1)
      throw ErrIncorrect.with('Health: checkInterval must be an integer ≥ 1 (ms)');
    const base = (options.path ?? DEFAULT_HEALTH_PATH).replace(/\/+$/, '');
    const mux = options.mux ?? new WebMux();
    for (const [suffix, bit] of PROBES) mux.handle(base + suffix, (req, res) => this.serve(bit, req, res));
    if (options.mux === undefined) {
      this.server = await createWebServer({
        host: options.host ?? DEFAULT_HEALTH_HOST,
        port: options.port ?? DEFAULT_HEALTH_PORT,
        handler: mux,
      });
      this.spawnMeta(this.server);
    }
    this.sendAfter(this.pid, new CheckTick(), interval);
  }

  /** A signal came (back) up. */
  handleSignalUp(_signal: string): void {}
  /** A signal went down: reason 'timeout', 'down' (MessageSignalDown) or 'terminated' (owner ended). */
  handleSignalDown(_signal: string, _reason: string): void {}

  /** Whether every signal of `probe` is up now. */
  healthy(probe: number): boolean {
    const now = performance.now();
    for (const s of this.signals.values()) if ((s.probe & probe) !== 0 && !this.isUp(s, now)) return false;
    return true;
  }

  private isUp(s: Signal, now: number): boolean {
    return s.up && (s.timeoutMs === 0 || now - s.lastBeat <= s.timeoutMs);
  }

  private serve(probe: number, _req: IncomingMessage, res: ServerResponse): void {
    const now = performance.now();
    const signals: { signal: string; status: string; timeout: string }[] = [];
    let ok = true;
    for (const [name, s] of this.signals) {
      if ((s.probe & probe) === 0) continue;
      const up = this.isUp(s, now);
      ok &&= up;
      signals.push({
        signal: name,
        status: up ? 'up' : 'down',
        timeout: s.timeoutMs === 0 ? '0s' : `${s.timeoutMs / 1000}s`,
      });
    }
    res.statusCode = ok ? 200 : 503;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: ok ? 'healthy' : 'unhealthy', signals }));
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request instanceof HealthRegisterRequest) {
      const bad = (msg: string): undefined => {
        // An Error returned from handleCall would stop the actor: answer it as an error reply.
        this.sendResponseError(from, ref, ErrIncorrect.with(msg));
        return undefined;
      };
      const { signal, timeoutMs } = request;
      const probe = request.probe === 0 ? Probe.Liveness : request.probe;
      if (typeof signal !== 'string' || signal === '') return bad('health: signal must be a non-empty string');
      if (!Number.isInteger(probe) || probe < 1 || probe > 7) return bad('health: probe must be bits of Probe (1..7)');
      if (!Number.isFinite(timeoutMs) || timeoutMs < 0) return bad('health: timeoutMs must be ≥ 0');
      this.signals.set(signal, { owner: from, probe, timeoutMs, lastBeat: performance.now(), up: true });
      this.watch(from);
      return true;
    }
    if (request instanceof HealthUnregisterRequest) {
      const s = this.signals.get(request.signal);
      if (s === undefined || !s.owner.equals(from)) return false;
      this.signals.delete(request.signal);
      return true;
    }
    return undefined;
  }

  override handleMessage(from: PID, m: unknown): void {
    if (m instanceof CheckTick) {
      const now = performance.now();
      for (const [name, s] of this.signals) {
        if (s.up && !this.isUp(s, now)) this.down(name, s, 'timeout');
      }
      this.sendAfter(this.pid, m, this.opts.checkInterval ?? DEFAULT_HEALTH_CHECK_INTERVAL);
      return;
    }
    if (m instanceof MessageDownPID) {
      this.watched.delete(m.pid.toString());
      for (const [name, s] of this.signals) if (s.owner.equals(m.pid) && s.up) this.down(name, s, 'terminated');
      return;
    }
    if (m instanceof MessageHeartbeat || m instanceof MessageSignalUp || m instanceof MessageSignalDown) {
      const s = this.signals.get(m.signal);
      if (s === undefined) {
        this.log.warning('health: %s for unknown signal %s from %s', m.constructor.name, m.signal, from);
        return;
      }
      if (m instanceof MessageSignalDown) {
        if (s.up) this.down(m.signal, s, 'down');
        return;
      }
      const wasUp = this.isUp(s, performance.now());
      s.lastBeat = performance.now();
      s.up = true;
      if (!wasUp) this.handleSignalUp(m.signal);
      return;
    }
    this.log.warning('health: unknown message %o from %s', m, from);
  }

  override handleInspect(): Record<string, string> {
    const out: Record<string, string> = {
      http_port: String(this.server?.port ?? 0),
      http_path: this.opts.path ?? DEFAULT_HEALTH_PATH,
      signals: String(this.signals.size),
    };
    const now = performance.now();
    for (const [name, s] of this.signals) out[`signal_${name}`] = this.isUp(s, now) ? 'up' : 'down';
    return out;
  }

  private watch(pid: PID): void {
    const key = pid.toString();
    if (this.watched.has(key)) return;
    this.watched.add(key);
    this.monitorPID(pid);
  }

  private down(name: string, s: Signal, reason: string): void {
    s.up = false;
    this.log.warning('health: signal %s is down (%s)', name, reason);
    this.handleSignalDown(name, reason);
  }
}

/**
 * Registers a signal owned by the calling process (see {@link HealthRegisterRequest}). Rejects with
 * ErrIncorrect, or the call's error (`ERR_PROCESS_UNKNOWN`: no Health actor under `to`;
 * `ERR_PROCESS_TERMINATED`: it ended before answering). Safe to leave un-awaited: the failure is
 * then logged at debug on the caller's log.
 */
export function registerService(
  c: MetricsClient,
  signal: string,
  probe: number = Probe.Liveness,
  timeoutMs = 0,
  to: SendTarget = HEALTH_NAME,
): Promise<void> {
  const done = c.call(to, new HealthRegisterRequest(signal, probe, timeoutMs)).then(() => undefined);
  return ignorable(done, c.log, `health signal ${signal} register`);
}
/**
 * Removes a signal the calling process registered. Resolves with whether it existed; rejects like
 * {@link registerService} (and is as safe to leave un-awaited).
 */
export function unregisterService(c: MetricsClient, signal: string, to: SendTarget = HEALTH_NAME): Promise<boolean> {
  const done = c.call(to, new HealthUnregisterRequest(signal)).then((r) => r === true);
  return ignorable(done, c.log, `health signal ${signal} unregister`);
}
/**
 * Heartbeats a signal. Like the metric update helpers it returns the send's error (e.g.
 * `ERR_PROCESS_UNKNOWN`: no Health actor) instead of throwing it into the caller.
 */
export function heartbeat(c: MetricsClient, signal: string, to: SendTarget = HEALTH_NAME): Error | undefined {
  return sendMetric(c, to, new MessageHeartbeat(signal));
}
/** Marks a signal up; returns the send's error (see {@link heartbeat}). */
export function signalUp(c: MetricsClient, signal: string, to: SendTarget = HEALTH_NAME): Error | undefined {
  return sendMetric(c, to, new MessageSignalUp(signal));
}
/** Marks a signal down; returns the send's error (see {@link heartbeat}). */
export function signalDown(c: MetricsClient, signal: string, to: SendTarget = HEALTH_NAME): Error | undefined {
  return sendMetric(c, to, new MessageSignalDown(signal));
}

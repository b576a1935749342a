// The Metrics actor: serves a node's figures (ErgoCollector) and its processes' custom metrics
// in the Prometheus text format over the core's web meta (Ergo's actor/metrics).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { Actor, MessageDownPID, type PID, type Ref } from 'ergo-ts';
import { WebMux, createWebServer, type WebServer } from 'ergo-ts/meta';
import { ErgoCollector, DEFAULT_TOP_N } from './collector.js';
import {
  MessageCounterAdd,
  MessageGaugeAdd,
  MessageGaugeSet,
  MessageHistogramObserve,
  MessageMetricUnregister,
  MessageTopNObserve,
  MetricRegisterRequest,
  MetricRegisterResponse,
  MetricType,
  MetricUpdate,
  TopNOrder,
} from './custom.js';
import { TopN } from './topn.js';

/** Default host of the Metrics actor's server (Ergo's). */
export const DEFAULT_METRICS_HOST = 'localhost';
/** Default port of the Metrics actor's server (Ergo's). */
export const DEFAULT_METRICS_PORT = 3000;
/** Default path of the exposition (Ergo's). */
export const DEFAULT_METRICS_PATH = '/metrics';

/** Options of the {@link Metrics} actor (its init argument). */
export interface MetricsOptions {
  /** Default 'localhost'. */
  host?: string;
  /** Default 3000; 0 picks a free port (read it with `inspect` → `http_port`). */
  port?: number;
  /** Default '/metrics'. */
  path?: string;
  /** Processes per `*_top` family (default 50). */
  topN?: number;
  /** prom-client's default Node.js metrics (default true). */
  nodejs?: boolean;
  /** Register `path` on this mux and start no server (the owner of the mux serves it). */
  mux?: WebMux;
  /** Use this registry (e.g. to add your own collectors); a new one by default. */
  registry?: Registry;
}

interface Custom {
  owner: PID;
  type: MetricType;
  metric: Metric;
  labels: readonly string[];
  topn?: { heap: TopN<readonly string[]>; order: TopNOrder };
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Prometheus exporter actor. Spawn it (registered as {@link METRICS_NAME} for the helpers) with
 * {@link MetricsOptions}; init listens on host:port (a busy port fails the spawn) or adds `path`
 * to the given mux. Every GET of `path` collects the node's figures first, so a scrape is always
 * fresh (Ergo collects on a 10 s timer instead). Custom metrics arrive as messages; each belongs
 * to its registering process (monitored) and is removed when that process ends. The server and
 * the subscriptions end with the actor.
 *
 * Override {@link Metrics.collectMetrics} to update your own metrics right before each scrape.
 */
export class Metrics extends Actor {
  private collector!: ErgoCollector;
  private reg!: Registry;
  private readonly custom = new Map<string, Custom>();
  private server: WebServer | null = null;
  private opts: MetricsOptions = {};
  private scrapes = 0;
  /** Owners monitored (one monitor per owner: a second monitorPID is refused). */
  private readonly watched = new Set<string>();

  override async init(options: MetricsOptions = {}): Promise<void> {
    this.opts = options;
    this.reg = options.registry ?? new Registry();
    this.collector = new ErgoCollector(this.node, this.reg, {
      topN: options.topN ?? DEFAULT_TOP_N,
      nodejs: options.nodejs ?? true,
    });
    const path = options.path ?? DEFAULT_METRICS_PATH;
    // serve() never rejects (it answers 500 itself), so the promise can be dropped.
    const listener = (req: IncomingMessage, res: ServerResponse): void => void this.serve(req, res);
    if (options.mux !== undefined) {
      options.mux.handle(path, listener);
      return;
    }
    const mux = new WebMux().handle(path, listener);
    try {
      this.server = await createWebServer({
        host: options.host ?? DEFAULT_METRICS_HOST,
        port: options.port ?? DEFAULT_METRICS_PORT,
        handler: mux,
      });
    } catch (err) {
      this.collector.close();
      throw err;
    }
    this.spawnMeta(this.server);
  }

  /** The registry (base, Node.js and custom metrics). */
  registry(): Registry {
    return this.reg;
  }

  /** Called right before each scrape is rendered, after the base metrics are collected. */
  collectMetrics(): void | Promise<void> {}

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.end();
      return;
    }
    this.scrapes++;
    try {
      this.collector.collect();
      this.flushTopN();
      await this.collectMetrics();
      const body = await this.reg.metrics();
      res.setHeader('content-type', this.reg.contentType);
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      // A failing collectMetrics() or collector fails this scrape only.
      this.log.error('metrics: scrape failed: %s', (err as Error)?.stack ?? String(err));
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    }
  }

  override handleCall(from: PID, _ref: Ref, request: unknown): unknown {
    if (request instanceof MetricRegisterRequest) return new MetricRegisterResponse(this.register(from, request));
    return undefined;
  }

  override handleMessage(from: PID, m: unknown): void {
    if (m instanceof MessageDownPID) {
      this.watched.delete(m.pid.toString());
      for (const [name, c] of this.custom) if (c.owner.equals(m.pid)) this.drop(name);
      return;
    }
    if (m instanceof MessageMetricUnregister) {
      const c = this.custom.get(m.name);
      if (c !== undefined && c.owner.equals(from)) this.drop(m.name);
      return;
    }
    if (m instanceof MetricUpdate) {
      this.update(m);
      return;
    }
    this.log.warning('metrics: unknown message %o from %s', m, from);
  }

  override handleInspect(): Record<string, string> {
    return {
      total_metrics: String(this.reg.getMetricsAsArray().length),
      http_endpoint:
        this.server !== null
          ? `http://${this.server.host}:${this.server.port}${this.opts.path ?? DEFAULT_METRICS_PATH}`
          : '',
      http_port: String(this.server?.port ?? 0),
      http_path: this.opts.path ?? DEFAULT_METRICS_PATH,
      custom_metrics: String(this.custom.size),
      scrapes: String(this.scrapes),
      last_collect_ms: this.collector.lastCollectMs.toFixed(3),
    };
  }

  override terminate(): void {
    this.collector?.close();
    for (const name of [...this.custom.keys()]) this.drop(name);
  }

  private register(from: PID, r: MetricRegisterRequest): string {
    if (!NAME_RE.test(r.name)) return `metrics: invalid metric name ${JSON.stringify(r.name)}`;
    if (this.custom.has(r.name) || this.reg.getSingleMetric(r.name) !== undefined)
      return `metrics: ${r.name} is already registered`;
    for (const l of r.labels) {
      if (!LABEL_RE.test(l) || l === 'node') return `metrics: invalid label ${JSON.stringify(l)} ('node' is reserved)`;
    }
    const base = {
      name: r.name,
      help: r.help === '' ? r.name : r.help,
      labelNames: [...r.labels],
      registers: [this.reg],
    };
    let metric: Metric;
    let topn: Custom['topn'];
    try {
      switch (r.type) {
        case MetricType.Gauge:
          metric = new Gauge(base);
          break;
        case MetricType.Counter:
          metric = new Counter(base);
          break;
        case MetricType.Histogram:
          metric = new Histogram(r.buckets.length > 0 ? { ...base, buckets: [...r.buckets] } : base);
          break;
        case MetricType.TopN: {
          const n = r.buckets[0] ?? 10;
          if (!Number.isInteger(n) || n < 1) return `metrics: TopN size must be an integer ≥ 1`;
          metric = new Gauge(base);
          topn = { heap: new TopN<readonly string[]>(n), order: r.order };
          break;
        }
        default:
          return `metrics: unknown metric type ${String(r.type)}`;
      }
    } catch (err) {
      return `metrics: ${(err as Error).message}`;
    }
    this.custom.set(r.name, { owner: from, type: r.type, metric, labels: r.labels, topn });
    this.watch(from);
    return '';
  }

  private update(m: MetricUpdate): void {
    const c = this.custom.get(m.name);
    if (c === undefined) {
      this.log.warning('metrics: update of unknown metric %s', m.name);
      return;
    }
    if (m.labels.length !== c.labels.length || !Number.isFinite(m.value)) {
      this.log.warning(
        'metrics: bad update of %s (labels %d of %d, value %o)',
        m.name,
        m.labels.length,
        c.labels.length,
        m.value,
      );
      return;
    }
    const labels = Object.fromEntries(c.labels.map((l, i) => [l, m.labels[i]!]));
    try {
      if (m instanceof MessageTopNObserve) {
        if (c.topn === undefined) throw new Error('not a TopN metric');
        c.topn.heap.offer(c.topn.order === TopNOrder.Min ? -m.value : m.value, m.labels);
      } else if (m instanceof MessageGaugeSet && c.type === MetricType.Gauge) (c.metric as Gauge).set(labels, m.value);
      else if (m instanceof MessageGaugeAdd && c.type === MetricType.Gauge) (c.metric as Gauge).inc(labels, m.value);
      else if (m instanceof MessageCounterAdd && c.type === MetricType.Counter)
        (c.metric as Counter).inc(labels, m.value);
      else if (m instanceof MessageHistogramObserve && c.type === MetricType.Histogram)
        (c.metric as Histogram).observe(labels, m.value);
      else throw new Error('message does not fit the metric type');
    } catch (err) {
      this.log.warning('metrics: update of %s failed: %s', m.name, (err as Error).message);
    }
  }

  // TopN metrics show the best values seen since the previous scrape, then start over.
  private flushTopN(): void {
    for (const c of this.custom.values()) {
      if (c.topn === undefined) continue;
      const g = c.metric as Gauge;
      g.reset();
      for (const { score, item } of c.topn.heap.sorted()) {
        g.set(
          Object.fromEntries(c.labels.map((l, i) => [l, item[i]!])),
          c.topn.order === TopNOrder.Min ? -score : score,
        );
      }
      c.topn.heap.clear();
    }
  }

  private watch(pid: PID): void {
    const key = pid.toString();
    if (this.watched.has(key)) return;
    this.watched.add(key);
    this.monitorPID(pid);
  }

  private drop(name: string): void {
    this.custom.delete(name);
    this.reg.removeSingleMetric(name);
  }
}

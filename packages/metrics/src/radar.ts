// Radar: health probes and Prometheus metrics on one HTTP port (Ergo's application/radar), the
// usual set-up of a node in Kubernetes.

import { Actor, createApplication, memberSpec, type ApplicationBehavior } from 'ergo-ts';
import { WebMux, createWebServer, type WebServer } from 'ergo-ts/meta';
import { DEFAULT_TOP_N } from './collector.js';
import { METRICS_NAME } from './custom.js';
import { DEFAULT_HEALTH_CHECK_INTERVAL, DEFAULT_HEALTH_PATH, HEALTH_NAME, Health } from './health.js';
import { DEFAULT_METRICS_PATH, Metrics } from './metrics.js';

/** Default host of the Radar's server (Ergo's). */
export const DEFAULT_RADAR_HOST = 'localhost';
/** Default port of the Radar's server (Ergo's). */
export const DEFAULT_RADAR_PORT = 9090;

/** Options of the {@link Radar} actor (its init argument). */
export interface RadarOptions {
  /** Default 'localhost' (use '0.0.0.0' in a container). */
  host?: string;
  /** Default 9090; 0 picks a free one (inspect → `http_port`). */
  port?: number;
  /** Default '/health' (`/live`, `/ready`, `/startup` under it). */
  healthPath?: string;
  /** Default '/metrics'. */
  metricsPath?: string;
  /** Milliseconds between heartbeat checks (default 1000). */
  healthCheckInterval?: number;
  /** Processes per `*_top` family (default 50). */
  metricsTopN?: number;
  /** prom-client's default Node.js metrics (default true). */
  nodejs?: boolean;
}

/**
 * Spawns {@link Health} registered as `health` and {@link Metrics} registered as `metrics` (the
 * names the helpers use by default), both linked both ways with the Radar, and serves both on one
 * port. Init fails (nothing left running) if a name is taken or the port is busy. Ending the Radar
 * ends both and closes the port; either child ending ends the Radar (restart it under a
 * supervisor if you want it back).
 */
export class Radar extends Actor {
  private server: WebServer | null = null;

  override async init(options: RadarOptions = {}): Promise<void> {
    const mux = new WebMux();
    const link = { linkParent: true, linkChild: true };
    await this.spawnRegister(HEALTH_NAME, Health, link, {
      mux,
      path: options.healthPath ?? DEFAULT_HEALTH_PATH,
      checkInterval: options.healthCheckInterval ?? DEFAULT_HEALTH_CHECK_INTERVAL,
    });
    await this.spawnRegister(METRICS_NAME, Metrics, link, {
      mux,
      path: options.metricsPath ?? DEFAULT_METRICS_PATH,
      topN: options.metricsTopN ?? DEFAULT_TOP_N,
      nodejs: options.nodejs ?? true,
    });
    this.server = await createWebServer({
      host: options.host ?? DEFAULT_RADAR_HOST,
      port: options.port ?? DEFAULT_RADAR_PORT,
      handler: mux,
    });
    this.spawnMeta(this.server);
  }

  override handleInspect(): Record<string, string> {
    return { http_host: this.server?.host ?? '', http_port: String(this.server?.port ?? 0) };
  }
}

/** Name of the application {@link createRadarApplication} makes (Ergo's `radar`). */
export const RADAR_APPLICATION = 'radar';

/**
 * Radar as an application (Ergo's `application/radar`): one member, the {@link Radar} actor
 * registered as `radar`, so a node can start it with `startNode(name, { applications: [...] })`
 * and stop it with `applicationStop('radar')`. The default (temporary) mode: the node keeps
 * running if it ends.
 */
export function createRadarApplication(options: RadarOptions = {}): ApplicationBehavior {
  return createApplication({
    name: RADAR_APPLICATION,
    description: 'health probes and Prometheus metrics on one HTTP port',
    group: [memberSpec({ name: 'radar', factory: Radar, args: [options] })],
  });
}

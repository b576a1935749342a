// The Observer application (`observer_app`): the hub, the POST pool and the manager, started in
// that order. Add it to a node (`applications: [createObserverApp()]` or `applicationLoad` +
// `applicationStart`) and open http://localhost:9911.

import { ApplicationMode, memberSpec, type ApplicationBehavior, type ApplicationSpec, type Node } from 'ergo-ts';

import {
  DEFAULT_HISTORY_INTERVAL,
  DEFAULT_HISTORY_LOG_RECORDS,
  DEFAULT_HISTORY_SECONDS,
  HISTORY_NAME,
  History,
} from './history.js';
import { HUB_NAME, Hub } from './hub.js';
import { MANAGER_NAME, Manager, OBSERVER_VERSION } from './manager.js';
import { DEFAULT_OBSERVER_POOL_SIZE, type ObserverOptions } from './options.js';
import { POST_POOL_NAME, PostPool } from './post.js';

/** The application's name (Ergo's). */
export const OBSERVER_APP_NAME = 'observer_app';

/** The application {@link createObserverApp} returns. */
export interface ObserverApp extends ApplicationBehavior {
  /** The URL the Observer serves (`http://localhost:9911`), once it listens; undefined before. */
  readonly url: string | undefined;
}

/**
 * The Observer as an application of the node that hosts it: a web UI on `host:port` (default
 * localhost:9911) that inspects this node and, through the node switcher, any node it can
 * connect to (TypeScript or Go Ergo), using their `system_inspect` process. Loading fails when
 * the port is taken (the manager's init fails). One instance per node (its processes have
 * registered names). Stopping the application closes the server and every browser stream.
 */
export function createObserverApp(options: ObserverOptions = {}): ObserverApp {
  let url: string | undefined;
  const history = {
    seconds: count(options.historySeconds, DEFAULT_HISTORY_SECONDS, 'historySeconds'),
    records: count(options.historyLogRecords, DEFAULT_HISTORY_LOG_RECORDS, 'historyLogRecords'),
    interval: count(options.historyInterval, DEFAULT_HISTORY_INTERVAL, 'historyInterval'),
  };
  if (history.interval === 0) throw observerOptionError('historyInterval: a positive number of milliseconds');
  const keeps = history.seconds > 0 || history.records > 0;
  return {
    get url() {
      return url;
    },
    load(_node: Node): ApplicationSpec {
      return {
        name: OBSERVER_APP_NAME,
        description: 'Observer: web UI over the inspector protocol (SSE)',
        version: { name: 'ergo-ts observer', release: OBSERVER_VERSION },
        mode: ApplicationMode.Temporary,
        ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
        group: [
          ...(keeps ? [memberSpec({ name: HISTORY_NAME, factory: History, args: [history] })] : []),
          { name: HUB_NAME, factory: Hub },
          memberSpec({
            name: POST_POOL_NAME,
            factory: PostPool,
            args: [options.poolSize ?? DEFAULT_OBSERVER_POOL_SIZE],
          }),
          memberSpec({
            name: MANAGER_NAME,
            factory: Manager,
            args: [{ options, onListen: (u: string) => (url = u), history: keeps ? HISTORY_NAME : null }],
          }),
        ],
      };
    },
  };
}

/** An option error of the Observer (code `ERR_OBSERVER_OPTION`). */
function observerOptionError(text: string): Error {
  return Object.assign(new Error(`observer option ${text}`), { code: 'ERR_OBSERVER_OPTION' });
}

/** A non-negative integer option, or its default. */
function count(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 0) throw observerOptionError(`${name}: a non-negative integer is required`);
  return v;
}

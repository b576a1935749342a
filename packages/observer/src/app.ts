// The Observer application (`observer_app`): the hub, the POST pool and the manager, started in
// that order. Add it to a node (`applications: [createObserverApp()]` or `applicationLoad` +
// `applicationStart`) and open http://localhost:9911.

import { ApplicationMode, type ApplicationBehavior, type ApplicationSpec, type Node } from 'ergo-ts';

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
          { name: HUB_NAME, factory: Hub },
          { name: POST_POOL_NAME, factory: PostPool, args: [options.poolSize ?? DEFAULT_OBSERVER_POOL_SIZE] },
          {
            name: MANAGER_NAME,
            factory: Manager,
            args: [{ options, onListen: (u: string) => (url = u) }],
          },
        ],
      };
    },
  };
}

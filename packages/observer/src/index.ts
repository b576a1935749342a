// @ergo-ts/observer: Ergo's Observer for ergo-ts. A web UI (node, processes, applications,
// events, network, live log) over Ergo's inspector protocol, served by an application you add
// to a node or by the standalone command `ergo-observer`.
export { createObserverApp, OBSERVER_APP_NAME, type ObserverApp } from './app.js';
export * from './options.js';
export { MANAGER_NAME, OBSERVER_VERSION } from './manager.js';
export { HUB_NAME, type HubStats } from './hub.js';
export { POST_POOL_NAME } from './post.js';
export { SESSION_PREFIX } from './session_protocol.js';
export { toJSONValue, toJSONString, parsePID, parseAlias, nodeCRC } from './json.js';
export {
  HISTORY_NAME,
  DEFAULT_HISTORY_SECONDS,
  DEFAULT_HISTORY_LOG_RECORDS,
  DEFAULT_HISTORY_INTERVAL,
} from './history.js';

// @ergo-ts/tabs: browser tabs as nodes of an ergo-ts cluster (docs/browser-gateway.md). The
// gateway and the server nodes' routes live here; the tab's side is `@ergo-ts/tabs/tab` (also
// re-exported here for simulated tabs in Node).
export { createTabGateway, type TabGateway, type TabGatewayOptions, type TabRequest } from './gateway.js';
export { ErrTabEventsMissed } from './event_hub.js';
export type { TabEnpOptions, TabErlangEndpoint, TabErlangOptions } from './enp_bridge.js';
export { attachTabRoutes, type TabRoutes, type TabRoutesOptions } from './routes.js';
export type { TabGrant, TabProtocolCheck, TabRefusal } from './grant.js';
export { DEFAULT_TAB_LIMITS, type TabLimits } from './grant.js';
export type { TabInfo } from './session.js';
export { gatewayOfTab, tabNodeName, TAB_ID_LENGTH, TAB_RELAY } from './frame.js';
// The tab's side, for simulated tabs in Node: all of `@ergo-ts/tabs/tab`.
export * from './tab/index.js';
export { ErrTabInspect, TAB_INSPECT_TIMEOUT, TABS_INSPECT, type TabsInspectRequest, type TabsList } from './inspect.js';

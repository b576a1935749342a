// @ergo-ts/etcd — the etcd registrar for ergo-ts (Ergo's registrar/etcd, EXTRAS.md §3): pass
// `createEtcdRegistrar({ cluster, endpoints })` as `network.registrar`.

export { EtcdRegistrar, createEtcdRegistrar, ETCD_REGISTRAR_VERSION } from './registrar.js';
export { ETCD_REGISTRAR_DEFAULTS, type EtcdRegistrarOptions } from './options.js';
export {
  EventNodeJoined,
  EventNodeLeft,
  EventApplicationLoaded,
  EventApplicationStarted,
  EventApplicationStopping,
  EventApplicationStopped,
  EventConfigUpdate,
} from 'ergo-ts/net';
export { type EtcdRegistrarEvent } from './events.js';
export {
  encodeRoutes,
  decodeRoutes,
  encodeApplicationRoute,
  decodeApplicationRoute,
  parseConfigValue,
  clusterPaths,
  PATH_PREFIX,
  APPLICATION_ROUTE_TYPE,
  type ClusterPaths,
} from './codec.js';

// @ergo-ts/tabs/tab: the tab's side (a page, a Web Worker, or a simulated tab in Node). It needs
// the core's public API and a WebSocket only: no `ws`, no Node modules.
export { joinGateway, type JoinGatewayOptions, type TabNode } from './join.js';
export type { ReconnectOptions, TabWebSocket, TabWebSocketClass } from './socket.js';
export { keep, type KeepSpec, type TabStorage } from './keep.js';
export {
  ErrTabAdmission,
  ErrTabBytesLimit,
  ErrTabFrame,
  ErrTabNotGranted,
  ErrTabPosing,
  ErrTabQueueFull,
  ErrTabRateLimit,
  ErrTabReloaded,
  ErrTabSessionEnded,
  ErrTabValue,
  errorFromWire,
  errorToWire,
  type WireError,
} from '../frame.js';
export {
  TAB_INSPECT,
  type TabInspectRequest,
  type TabProcessDetail,
  type TabProcessList,
  type TabProcessRow,
} from './inspect.js';

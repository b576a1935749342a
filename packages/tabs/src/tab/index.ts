// @ergo-ts/tabs/tab: the tab's side (a page, a Web Worker, or a simulated tab in Node). It needs
// the core's public API and a WebSocket only: no `ws`, no Node modules.
export { joinGateway, type JoinGatewayOptions, type TabNode } from './join.js';
export { keep, type KeepSpec } from './keep.js';
export * from './exports.js';
export { errorFromWire, errorToWire, type WireError } from '../frame.js';
export {
  TAB_INSPECT,
  type TabInspectRequest,
  type TabProcessDetail,
  type TabProcessList,
  type TabProcessRow,
} from './inspect.js';

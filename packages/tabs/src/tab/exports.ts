// What every entry with a tab's side exports alike: `@ergo-ts/tabs/tab`, the light tab
// (`@ergo-ts/tabs/light`) and the package's root. Values come from frame.ts alone (the light
// bundle has it already) and the rest are types, so re-exporting this pulls no node, socket or
// storage code into the light bundle (scripts/bundle-browser.mjs checks its budget).
export type { ReconnectOptions, TabWebSocket, TabWebSocketClass } from './socket.js';
export type { TabStorage } from './keep.js';
export {
  ErrTabAdmission,
  ErrTabBusy,
  ErrTabBytesLimit,
  ErrTabFrame,
  ErrTabNotGranted,
  ErrTabPosing,
  ErrTabQueueFull,
  ErrTabRateLimit,
  ErrTabReloaded,
  ErrTabSessionEnded,
  ErrTabValue,
} from '../frame.js';

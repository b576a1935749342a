// @ergo-ts/tabs/light: the light tab, for a page that only calls, sends to and hears from server
// processes (no node in the page: light.ts). Beside joinLight it re-exports the core's addresses,
// errors and typed protocols (no engine), so a page's protocol file that imports `defineProtocol`,
// `schema` and `PID` from `ergo-ts` runs against this module (an import map sends `ergo-ts` here);
// scripts/bundle-browser.mjs bundles it into dist/browser/light.js under its budget.
export { joinLight } from './light.js';
export type {
  JoinLightOptions,
  LightMailbox,
  LightSendOptions,
  LightSubscription,
  LightTab,
  LightTarget,
  LightWatch,
  MailboxHandlers,
} from './types.js';
export type { ReconnectOptions, TabWebSocket, TabWebSocketClass } from '../tab/socket.js';
export type { TabStorage } from '../tab/keep.js';
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
} from '../frame.js';
export {
  Alias,
  CallFailure,
  defineError,
  defineProtocol,
  ErgoError,
  ErrIncorrect,
  ErrNoConnection,
  ErrProcessUnknown,
  ErrProtocolViolation,
  ErrTimeout,
  ErrUnsupported,
  Event,
  eventName,
  PID,
  ProcessID,
  Ref,
  schema,
  TerminateReasonNormal,
  TerminateReasonShutdown,
  type Atom,
  type EventName,
  type Infer,
  type MessageFor,
  type MessageOf,
  type PayloadOf,
  type Protocol,
  type ReplyFor,
  type ReplyOf,
  type RequestFor,
  type RequestOf,
} from 'ergo-ts';

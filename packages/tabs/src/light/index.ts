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
// The tab errors and the socket's and storage's types, as the full tab exports them.
export * from '../tab/exports.js';
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

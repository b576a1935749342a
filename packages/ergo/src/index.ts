// ergo-ts: the Ergo Framework for TypeScript on Node.js.
export * from './gen/index.js';
export { startNode } from './node/start.js';
export { attachProtocol } from './node/protocols.js';
export { spawnReserved } from './node/reserved.js';
export { Tag as EdfTag, JsTag as EdfJsTag } from './net/edf/tags.js';
export { DIAGNOSTICS } from './node/diagnostics.js';
export { CRASH_HISTORY_SIZE, CRASH_STACK_CHARS } from './node/crashes.js';
export { cronNextRun } from './node/cron/next_run.js';
export * from './act/index.js';
export { messageText, MESSAGE_TEXT_MAX } from './app/system/message_text.js';
export {
  MessageTrace,
  KIND_NAMES,
  TRACE_COUNT,
  TRACE_RATE,
  TRACE_SECONDS,
  type TraceEnd,
  type TraceLimits,
  type TraceRecord,
} from './app/system/message_trace.js';
export { PEEK_LIMIT, TRACE_FLUSH } from './app/system/message_inspect.js';
export {
  GroupTrace,
  GROUP_TRACE_COUNT,
  GROUP_TRACE_PROCESSES,
  GROUP_TRACE_RATE,
  GROUP_TRACE_SECONDS,
  applicationPIDs,
  groupLimit,
  type GroupTraceLimits,
  type GroupTraceRecord,
  type GroupTraceSkipped,
} from './app/system/group_trace.js';
export {
  META_INSPECT_WAIT,
  META_OVERVIEW_LIMIT,
  socketOverview,
  type ConnectionRow,
  type MetaRow,
  type SocketOverview,
} from './app/system/socket_overview.js';

// @ergo-ts/websocket: WebSocket meta processes for ergo-ts (Ergo's extra library
// meta/websocket), on top of `ws`. Every connection is a meta process addressed by its alias.
export {
  WebsocketMessageType,
  MessageWebsocket,
  MessageWebsocketConnect,
  MessageWebsocketDisconnect,
} from './messages.js';
export {
  WebsocketConnection,
  DEFAULT_WEBSOCKET_MAX_BUFFERED,
  DEFAULT_WEBSOCKET_MAX_EARLY_FRAMES,
  WEBSOCKET_CLOSE_TIMEOUT,
  type WebsocketConnectionLimits,
} from './connection.js';
export {
  WebsocketHandler,
  DEFAULT_WEBSOCKET_MAX_PAYLOAD,
  type WebsocketHandlerOptions,
  type UpgradeSource,
} from './handler.js';
export {
  createWebsocketConnection,
  DEFAULT_WEBSOCKET_HANDSHAKE_TIMEOUT,
  type WebsocketConnectionOptions,
} from './client.js';

// ergo-ts/meta: meta processes — the bridge between I/O and processes: TCP servers and
// connections, UDP servers, external programs (ports), and MetaBase, the base of your own.
export { MetaBase } from './base.js';
export { NetAddr } from './addr.js';
export { createCertManager, type CertManager, type TLSCertificate } from './cert.js';
export { Chunker, validateChunkOptions, type ChunkOptions } from './chunk.js';
export { DEFAULT_READ_QUEUE_LIMIT, BACKPRESSURE_POLL_MS } from './reader.js';
export * from './tcp_types.js';
export {
  TCPConnection,
  createTCPConnection,
  TCP_CLOSE_LINGER_MS,
  DEFAULT_TCP_CONNECT_TIMEOUT,
} from './tcp_connection.js';
export { TCPServer, createTCPServer } from './tcp_server.js';
export {
  UDPServer,
  createUDPServer,
  MessageUDP,
  DEFAULT_UDP_BUFFER_SIZE,
  type UDPServerOptions,
} from './udp_server.js';
export * from './port_types.js';
export { Port, createPort, DEFAULT_PORT_READ_BUFFER_SIZE } from './port.js';
export { splitLines, TextScanner, DEFAULT_MAX_TOKEN_SIZE, type SplitFunc } from './split.js';
// Web (HTTP/HTTPS server, handler → worker, path mux) and Server-Sent Events.
export { MessageWebRequest, readRequestBody, type WebRequestWaiter } from './web_request.js';
export {
  WebHandler,
  DEFAULT_WEB_REQUEST_TIMEOUT,
  DEFAULT_WEB_MAX_PENDING,
  ErrWebTooManyRequests,
  type WebHandlerOptions,
  type WebRequestListener,
} from './web_handler.js';
export {
  WebServer,
  createWebServer,
  DEFAULT_WEB_HOST,
  type WebServerOptions,
  type WebRequestHandler,
} from './web_server.js';
export { WebMux } from './web_mux.js';
export {
  MessageSSE,
  MessageSSEConnect,
  MessageSSEDisconnect,
  MessageSSELastEventID,
  formatSSEEvent,
  type SSEEventInit,
} from './sse_types.js';
export { SSEParser, DEFAULT_SSE_MAX_EVENT, type SSEParsedEvent } from './sse_parser.js';
export {
  SSEHandler,
  SSEConnection,
  DEFAULT_SSE_HEARTBEAT,
  DEFAULT_SSE_MAX_BUFFERED,
  type SSEHandlerOptions,
} from './sse_handler.js';
export {
  SSEClient,
  createSSEConnection,
  DEFAULT_SSE_RECONNECT_INTERVAL,
  DEFAULT_SSE_CONNECT_TIMEOUT,
  type SSEClientOptions,
} from './sse_client.js';

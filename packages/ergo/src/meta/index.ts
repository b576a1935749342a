// ergo-ts/meta: meta processes — the bridge between I/O and processes: TCP servers and
// connections, UDP servers, external programs (ports), and MetaBase, the base of your own.
export { MetaBase } from './base.js';
export { NetAddr } from './addr.js';
export { createCertManager, type CertManager, type TLSCertificate } from './cert.js';
export { Chunker, validateChunkOptions, type ChunkOptions } from './chunk.js';
export { DEFAULT_READ_QUEUE_LIMIT, BACKPRESSURE_POLL_MS } from './reader.js';
export * from './tcp_types.js';
export { TCPConnection, createTCPConnection, TCP_CLOSE_LINGER_MS, DEFAULT_TCP_CONNECT_TIMEOUT } from './tcp_connection.js';
export { TCPServer, createTCPServer } from './tcp_server.js';
export { UDPServer, createUDPServer, MessageUDP, DEFAULT_UDP_BUFFER_SIZE, type UDPServerOptions } from './udp_server.js';
export * from './port_types.js';
export { Port, createPort, DEFAULT_PORT_READ_BUFFER_SIZE } from './port.js';
export { splitLines, TextScanner, DEFAULT_MAX_TOKEN_SIZE, type SplitFunc } from './split.js';

// Reading a request body under a size limit without spoiling the connection it came on. Leaving a
// `for await` over the request early destroys the request and so its socket: the answer then goes
// out as `keep-alive` on a socket that is already gone, and the client's next request on it is
// reset. Over the limit the rest of the body is read and dropped instead, so the 413 is answered
// after the whole request and the connection stays usable (the server's own request timeout still
// bounds a body that never ends).

import type { IncomingMessage } from 'node:http';

/**
 * The body of `req` when it is at most `limit` bytes, else null once the whole body has been read
 * (and dropped). Rejects when the client goes away before the body ends.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] | null = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (chunks === null) return;
      if (size > limit) chunks = null;
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      off();
      resolve(chunks === null ? null : Buffer.concat(chunks));
    };
    const onAbort = (err?: Error): void => {
      off();
      reject(err ?? new Error('request body aborted'));
    };
    const onClose = (): void => {
      if (!req.complete) onAbort();
    };
    const off = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

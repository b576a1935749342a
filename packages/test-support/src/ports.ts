// Free ports for servers a test starts on this host.

import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A port free now on 127.0.0.1 for both TCP and UDP (Ergo's embedded registrar uses both). Free
 * when asked: another process may take it before the test binds it, as with any port chosen ahead.
 */
export async function freeTcpUdpPort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(port, () => r(true));
    });
    udp.close();
    await new Promise((r) => server.close(r));
    if (ok) return port;
  }
}

// A traffic agent the host tests run inside a test host: plain TCP echo and UDP, driven by JSON
// lines on stdin, reporting every event as a JSON line on stdout with `at`, microseconds of the
// monotonic clock (process.hrtime), which every process on the machine shares.
//
//   {cmd:'tcpServer', port}               -> {ev:'listening'}; {ev:'accepted', remote}; {ev:'tcpData', text}
//   {cmd:'tcpConnect', host, port}        -> {ev:'connected'}; {ev:'echo', text}
//   {cmd:'tcpWrite', text}                -> {ev:'written', text, error?}
//   {cmd:'rtt', n}                        -> {ev:'rtt', samples: µs[]} (n one-byte ping-pongs)
//   {cmd:'udpBind', port}                 -> {ev:'udpBound'}; {ev:'udp', text, from} per datagram
//   {cmd:'udpSend', host, port, texts}    -> {ev:'udpSent', n}
//   {cmd:'udpCount'}                      -> {ev:'udpCount', n}
//   {cmd:'flood', host, port, datagrams, size} -> {ev:'flooded', sent}  (as fast as the socket takes them)

import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

const at = (): number => Number(process.hrtime.bigint() / 1000n);
const say = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify({ ...o, at: at() }) + '\n');
};

let client: net.Socket | undefined;
let udp: dgram.Socket | undefined;
let udpCount = 0;
let quietUdp = false;
let pong: ((d: Buffer) => void) | undefined;

const sender = dgram.createSocket('udp4');

function command(m: Record<string, unknown>): void {
  switch (m.cmd) {
    case 'tcpServer': {
      const server = net.createServer((c) => {
        say({ ev: 'accepted', remote: c.remoteAddress });
        c.setEncoding('utf8');
        c.on('data', (d: string) => {
          say({ ev: 'tcpData', text: d });
          c.write(d);
        });
        c.on('error', () => {});
      });
      server.listen(Number(m.port), '0.0.0.0', () => say({ ev: 'listening' }));
      return;
    }
    case 'tcpConnect':
      client = net.connect(Number(m.port), String(m.host), () => say({ ev: 'connected' }));
      client.on('data', (d: Buffer) => {
        if (pong !== undefined) pong(d);
        else say({ ev: 'echo', text: d.toString('utf8') });
      });
      client.on('error', (e) => say({ ev: 'tcpError', error: String(e) }));
      return;
    case 'tcpWrite': {
      const text = String(m.text);
      client!.write(text, (e) =>
        say({ ev: 'written', text, error: e === undefined || e === null ? undefined : String(e) }),
      );
      return;
    }
    case 'rtt': {
      const samples: number[] = [];
      let t0 = 0;
      const one = (): void => {
        t0 = at();
        client!.write('p');
      };
      pong = () => {
        samples.push(at() - t0);
        if (samples.length < Number(m.n)) one();
        else {
          pong = undefined;
          say({ ev: 'rtt', samples });
        }
      };
      one();
      return;
    }
    case 'udpBind':
      udp = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
      quietUdp = m.quiet === true;
      udp.on('message', (d, from) => {
        udpCount++;
        if (!quietUdp) say({ ev: 'udp', text: d.toString('utf8'), from: from.address });
      });
      udp.bind(Number(m.port), () => say({ ev: 'udpBound' }));
      return;
    case 'udpSend': {
      const texts = m.texts as string[];
      let left = texts.length;
      for (const t of texts)
        sender.send(t, Number(m.port), String(m.host), () => {
          if (--left === 0) say({ ev: 'udpSent', n: texts.length });
        });
      return;
    }
    case 'udpCount':
      say({ ev: 'udpCount', n: udpCount });
      return;
    case 'flood': {
      const buf = Buffer.alloc(Number(m.size), 0x61);
      const total = Number(m.datagrams);
      let sent = 0;
      // One at a time: the next goes when the kernel has taken the last (no userspace queue).
      const next = (): void => {
        if (sent === total) return say({ ev: 'flooded', sent });
        sent++;
        sender.send(buf, Number(m.port), String(m.host), next);
      };
      next();
      return;
    }
    default:
      say({ ev: 'error', error: `unknown command ${String(m.cmd)}` });
  }
}

readline
  .createInterface({ input: process.stdin })
  .on('line', (line) => command(JSON.parse(line) as Record<string, unknown>));
process.stdin.on('end', () => process.exit(0));
say({ ev: 'ready' });

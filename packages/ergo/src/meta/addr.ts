// Network addresses carried by meta messages (Go's net.Addr): a transport, an IP address and a
// port, printed as Go prints them ("127.0.0.1:4000", "[::1]:4000").

/** An endpoint of a TCP connection or a UDP datagram. */
export class NetAddr {
  constructor(
    readonly network: 'tcp' | 'udp',
    readonly address: string,
    readonly port: number,
    readonly family: 'IPv4' | 'IPv6' | string = address.includes(':') ? 'IPv6' : 'IPv4',
  ) {}

  /** "host:port", with IPv6 hosts in brackets (Go's net.JoinHostPort). */
  toString(): string {
    return this.address.includes(':') ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }

  equals(other: unknown): boolean {
    return (
      other instanceof NetAddr &&
      other.network === this.network &&
      other.address === this.address &&
      other.port === this.port
    );
  }
}

// The delay relay's view of a packet: a VXLAN datagram (8-byte header, then an Ethernet frame) as
// the hosts' kernels send it. The relay needs the VNI (which delayed link), a summary for its
// trace events (protocol, ports, the first payload bytes) and one repair: a sending kernel leaves
// the inner TCP/UDP checksum for the network card to finish (checksum offload), and no card ever
// touches a datagram a userspace relay forwards, so the relay completes the checksum itself.
// Without that the receiving kernel drops every inner segment (TcpInCsumErrors).

/** What the relay reports about one inner packet. */
export interface PacketSummary {
  /** The VXLAN network identifier: which delayed link carried it. */
  vni: number;
  /** `ipv4` with its protocol, or the frame's other EtherType (hex). */
  proto: 'tcp' | 'udp' | 'icmp' | 'ipv4' | 'other';
  src?: string;
  dst?: string;
  srcPort?: number;
  dstPort?: number;
  /** The inner IP packet's length. */
  length: number;
  /** The first bytes (up to 64) of the TCP/UDP payload, hex. */
  payload?: string;
}

/** The UDP port of VXLAN (IANA), where the relay listens and where the hosts' devices listen. */
export const VXLAN_PORT = 4789;

const VXLAN_HEADER = 8;
const ETHERNET_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;

/** The VNI of a VXLAN datagram, or undefined when it is not one (too short, I flag clear). */
export function vniOf(d: Buffer): number | undefined {
  if (d.length < VXLAN_HEADER + ETHERNET_HEADER || (d[0]! & 0x08) === 0) return undefined;
  return d.readUIntBE(4, 3);
}

/** Where the inner IPv4 packet starts, or -1 when the frame carries something else. */
function ipv4Start(d: Buffer): number {
  const at = VXLAN_HEADER + ETHERNET_HEADER;
  if (d.length < at + 20 || d.readUInt16BE(at - 2) !== ETHERTYPE_IPV4) return -1;
  if (d[at]! >> 4 !== 4) return -1;
  return at;
}

function addr(d: Buffer, at: number): string {
  return `${d[at]}.${d[at + 1]}.${d[at + 2]}.${d[at + 3]}`;
}

/** A summary of a VXLAN datagram's inner packet for the trace events. */
export function summarize(d: Buffer): PacketSummary {
  const vni = vniOf(d) ?? -1;
  const ip = ipv4Start(d);
  if (ip < 0) return { vni, proto: 'other', length: d.length - VXLAN_HEADER - ETHERNET_HEADER };
  const ihl = (d[ip]! & 0x0f) * 4;
  const total = d.readUInt16BE(ip + 2);
  const proto = d[ip + 9]!;
  const out: PacketSummary = { vni, proto: 'ipv4', src: addr(d, ip + 12), dst: addr(d, ip + 16), length: total };
  const l4 = ip + ihl;
  const end = Math.min(d.length, ip + total);
  if (proto === 1) out.proto = 'icmp';
  if ((proto === 6 || proto === 17) && !fragmentTail(d, ip) && end >= l4 + 8) {
    out.proto = proto === 6 ? 'tcp' : 'udp';
    out.srcPort = d.readUInt16BE(l4);
    out.dstPort = d.readUInt16BE(l4 + 2);
    const data = proto === 6 ? l4 + (d[l4 + 12]! >> 4) * 4 : l4 + 8;
    if (data <= end) out.payload = d.subarray(data, Math.min(end, data + 64)).toString('hex');
  }
  return out;
}

/** Whether the packet is a fragment other than the first (its L4 header is elsewhere). */
function fragmentTail(d: Buffer, ip: number): boolean {
  return (d.readUInt16BE(ip + 6) & 0x1fff) !== 0;
}

/**
 * Completes the inner TCP or UDP checksum of a VXLAN datagram in place (see the file comment).
 * Fragmented packets are left alone (the relay's MTU setup keeps them away); a UDP checksum of
 * zero (none) stays zero.
 */
export function fixInnerChecksum(d: Buffer): void {
  const ip = ipv4Start(d);
  if (ip < 0) return;
  const proto = d[ip + 9]!;
  if (proto !== 6 && proto !== 17) return;
  const flags = d.readUInt16BE(ip + 6);
  if ((flags & 0x1fff) !== 0 || (flags & 0x2000) !== 0) return;
  const ihl = (d[ip]! & 0x0f) * 4;
  const total = d.readUInt16BE(ip + 2);
  const l4 = ip + ihl;
  const end = ip + total;
  if (end > d.length || total < ihl + 8) return;
  const at = l4 + (proto === 6 ? 16 : 6);
  if (at + 2 > end) return;
  if (proto === 17 && d.readUInt16BE(at) === 0) return;
  d.writeUInt16BE(0, at);
  const len = end - l4;
  // The pseudo-header: source, destination, protocol, L4 length.
  let sum = d.readUInt16BE(ip + 12) + d.readUInt16BE(ip + 14) + d.readUInt16BE(ip + 16) + d.readUInt16BE(ip + 18);
  sum += proto + len;
  sum += onesSum(d, l4, end);
  let c = fold(sum) ^ 0xffff;
  if (c === 0 && proto === 17) c = 0xffff; // UDP: zero means "no checksum"
  d.writeUInt16BE(c, at);
}

/** The plain sum of the 16-bit big-endian words of d[from, to) (an odd tail padded with zero). */
export function onesSum(d: Buffer, from: number, to: number): number {
  let sum = 0;
  let i = from;
  for (; i + 1 < to; i += 2) sum += (d[i]! << 8) | d[i + 1]!;
  if (i < to) sum += d[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Whether the inner TCP/UDP checksum of a VXLAN datagram verifies (tests; 0 UDP counts as valid). */
export function innerChecksumValid(d: Buffer): boolean {
  const ip = ipv4Start(d);
  if (ip < 0) return true;
  const proto = d[ip + 9]!;
  if (proto !== 6 && proto !== 17) return true;
  const ihl = (d[ip]! & 0x0f) * 4;
  const l4 = ip + ihl;
  const end = ip + d.readUInt16BE(ip + 2);
  if (proto === 17 && d.readUInt16BE(l4 + 6) === 0) return true;
  let sum = d.readUInt16BE(ip + 12) + d.readUInt16BE(ip + 14) + d.readUInt16BE(ip + 16) + d.readUInt16BE(ip + 18);
  sum += proto + (end - l4) + onesSum(d, l4, end);
  return fold(sum) === 0xffff;
}

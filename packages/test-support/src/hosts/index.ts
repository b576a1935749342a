// Test hosts: network namespaces on one switch, with silent partitions, loss, rate limits and
// delay (docs/testhosts.md).

export { hostsAvailable, requireHosts } from './capability.js';
export { TestHostsError, type CommandOutput, type RunOptions, type TestHostsErrorCode } from './commands.js';
export { DelayLink, Relay, type DelayOptions, type DelaySpec, type RelayCounts, type RelayEvent } from './delay.js';
export { DropFault, RateLimit, type DropCount, type Impairment, type QdiscStats, type RateOptions } from './faults.js';
export { Host, type HostRef } from './host.js';
export { TestHosts, type DirectionOptions, type HostTraffic, type TestHostsOptions } from './hosts.js';
export { fixInnerChecksum, innerChecksumValid, summarize, type PacketSummary } from './packet.js';

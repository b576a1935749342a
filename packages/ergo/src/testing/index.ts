// ergo-ts/testing: a test kit for users' actors (Ergo's testing/unit), independent of the test
// runner. `spawnTest` runs one actor against a recording node; integration helpers run real nodes.

export { spawnTest, TestActor, CallResult, type SpawnTestArgs, type SpawnTestOptions } from './actor.js';
export { TestProcess, type CallResponder, type TestProcessSettings, type Watch } from './process.js';
export { TestNode, TEST_NODE_VERSION } from './node.js';
export { TestCron } from './cron.js';
export { TestClock } from './clock.js';
export { TestLog } from './log.js';
export { TestMailbox } from './mailbox.js';
export { Failures } from './failures.js';
export {
  TestNetwork,
  TestRemoteNode,
  TestRegistrar,
  type TestRoute,
  type TestNetworkRoute,
  type NodeDownListener,
} from './network.js';
export * from './events.js';
export * from './matchers.js';
export * from './assertions.js';
export * from './integration.js';

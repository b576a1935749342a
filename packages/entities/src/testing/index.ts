// @ergo-ts/entities/testing: the test kit for entities. A user's entity kinds run on the real
// entities runtime of a local node, with an in-memory store and a test clock: no database, and
// nothing happens with time until the test moves it. See docs/testing.md ("Testing entities").
// Workflows run on it too (`kit.workflows`), and `replayWorkflow` checks recorded histories
// against changed workflow code (docs/workflows.md, "Testing").

export {
  startTestEntities,
  TestEntities,
  TEST_ENTITIES_DEFAULTS,
  type TestEntitiesOptions,
  type TestReminderFire,
} from './test_entities.js';
export {
  TestEntity,
  ErrEntityEnded,
  type LeaseTakeOver,
  type TestActivation,
  type TestableKind,
  type TestStoredEvent,
} from './test_entity.js';
export { eventMatches, type EntityEventMatch } from './event_recorder.js';
export {
  ADVANCE_DEFAULTS,
  ErrWorkflowStuck,
  TestWorkflow,
  TestWorkflows,
  type AdvanceOptions,
  type IdleInstance,
} from './test_workflows.js';
export { replayWorkflow, type RecordedWorkflow, type ReplayReport } from './replay.js';
export type { WorkflowRecord } from '../workflow/model/record.js';

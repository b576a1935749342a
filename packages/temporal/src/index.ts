// `@ergo-ts/temporal`: Temporal's TypeScript SDK shapes on ergo-ts durable workflows. Import from
// the subpath that mirrors the Temporal package (`@ergo-ts/temporal/workflow` for
// `@temporalio/workflow`, `/activity`, `/client`, `/worker`, `/common`); this root gives each as a
// namespace, and the failure classes every one of them shares.

export * as workflow from './workflow/index.js';
export * as activity from './activity/index.js';
export * as client from './client/index.js';
export * as worker from './worker/index.js';
export * from './common/index.js';

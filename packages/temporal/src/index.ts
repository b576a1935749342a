// `@ergo-ts/temporal`: Temporal's TypeScript SDK shapes on ergo-ts durable workflows. Import from
// the subpath that mirrors the Temporal package (`@ergo-ts/temporal/workflow` for
// `@temporalio/workflow`, `/activity`, `/client`, `/worker`, `/common`); this root gives what
// `/common` gives: the failure classes every one of them shares, durations, this package's codes.

export * from './common/index.js';

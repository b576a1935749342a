// The tab's side for a page or a Web Worker: `@ergo-ts/tabs/tab` with the core's browser entry
// (`ergo-ts/browser`) beside it, so one module gives a page both (scripts/bundle-browser.mjs
// bundles it into dist/browser/tab.js, the core inside). A page must take Actor, PID,
// defineProtocol... from the same module as joinGateway: two copies of the core would make two
// PID classes, and a PID of one would not be a PID to the other.
export * from 'ergo-ts/browser';
export * from './index.js';

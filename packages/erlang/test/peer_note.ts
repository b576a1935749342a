// Run by `npm test` before the test files: one line saying which tests skip and how to get the
// Go Ergo peer when it is absent (the files themselves skip with a short reason and print nothing).

import { PEER_NOTE, peerBinary } from '@ergo-ts/test-support';

if (!('path' in peerBinary()) && process.env.CI !== 'true') console.log(PEER_NOTE);

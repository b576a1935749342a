// Entities across nodes in separate OS processes on loopback sharing one SQLite file (they run on
// one host, where SQLite's locks work across processes): the distributed cases of dist_cases.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

import { distCases } from './dist_cases.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

distCases((tag) => Promise.resolve({ db: join(dir, `${tag}.db`) }));

// The inbox sweeper across OS processes sharing one SQLite file (inbox_cases.ts): acknowledged
// durable messages whose owner died are handled without any call touching their keys.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

import { inboxCases } from './inbox_cases.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-inbox-'));
after(() => rmSync(dir, { recursive: true, force: true }));

inboxCases((tag) => Promise.resolve({ db: join(dir, `${tag}.db`) }));

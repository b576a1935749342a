// A process that takes a SQLite file's write lock and holds it, for store.sqlite.test.ts: as a
// member paused (SIGSTOP) inside a store transaction leaves the file. It opens the file given as
// its argument, begins an IMMEDIATE transaction, writes a row, says 'locked' over IPC, and commits
// when told 'commit' (then says 'committed').

import { createRequire } from 'node:module';

interface Db {
  exec(sql: string): void;
}
const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: new (p: string) => Db };
const db = new DatabaseSync(process.argv[2]!);
db.exec('BEGIN IMMEDIATE');
db.exec("INSERT INTO entity_inbox (kind, key, id, message) VALUES ('lock', 'holder', 'm1', 'null')");
process.send!('locked');
process.on('message', (m) => {
  if (m !== 'commit') return;
  db.exec('COMMIT');
  process.send!('committed');
  process.disconnect();
});

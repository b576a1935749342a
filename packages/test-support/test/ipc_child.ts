// A child for ipc_commands.test.ts: says it started, then answers commands — `echo` with its
// fields, `fail` with an error and code, `exit` by exiting before it answers, `silent` never.

process.send!({ kind: 'ready', name: 'child@localhost', port: 4370 });
process.on('message', (m: { id: number; cmd: string; [k: string]: unknown }) => {
  if (m.cmd === 'echo') process.send!({ id: m.id, ok: { ...m, id: undefined, cmd: undefined } });
  else if (m.cmd === 'fail') process.send!({ id: m.id, err: 'it failed', code: 'ERR_CHILD' });
  else if (m.cmd === 'exit') process.exit(3);
  // 'silent': no answer
});

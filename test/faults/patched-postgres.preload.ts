/**
 * Diagnostic only, for the server child of the fault tests (`FAULT_APP_PRELOAD=test/faults/patched-postgres.preload.ts`):
 * loads postgres-js 3.4.9's connection.js with the fix of `postgres-js-3.4.9-nextwrite.patch` applied in memory,
 * so the fault scenario can be run with and without the driver fix. Nothing on disk is changed.
 *
 * The bug (porsager/postgres#1066, #1154, #1208): a small write is deferred with setImmediate; when the socket
 * closes first, `nextWrite` runs on a null socket and throws from the immediate — an uncaught exception that
 * kills the server — and `closed()` leaves `nextWriteTimer` set, so that pooled connection never schedules a
 * write again (not even its startup message after reconnecting) and every query on it hangs.
 */
import { plugin } from 'bun';
import { readFileSync } from 'node:fs';

const FIXES: [string, string][] = [
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    '  function nextWrite(fn) {\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      return false\n    }\n    const x = socket.write(chunk, fn)',
  ],
  [
    '    clearImmediate(nextWriteTimer)\n    if (socket) {',
    '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {',
  ],
  [
    '    incomings = null\n    clearImmediate(nextWriteTimer)\n',
    '    incomings = null\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n',
  ],
];

plugin({
  name: 'patched-postgres',
  setup(build) {
    build.onLoad({ filter: /node_modules\/postgres\/src\/connection\.js$/ }, (args) => {
      let contents = readFileSync(args.path, 'utf8');
      for (const [from, to] of FIXES) {
        if (!contents.includes(from)) throw new Error(`patched-postgres: ${args.path} is not postgres-js 3.4.9 as expected`);
        contents = contents.replace(from, to);
      }
      console.error('patched-postgres: nextWrite fix applied');
      return { contents, loader: 'js' };
    });
  },
});

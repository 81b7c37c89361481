/**
 * dynalite in a process of its own (forked by ./store.ts), so that the store's work runs on another
 * CPU core than the pipeline's. It tells its parent its port over IPC, and closes its LevelDB and
 * exits when the parent says so or goes away. Ctrl-C in a terminal reaches it too: it leaves
 * the shutdown to its parent, which still needs the store to finish its own.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const path = process.argv[2];
if (path === undefined || process.send === undefined) {
  process.stderr.write('usage: forked by local/store.ts with the LevelDB folder as argument\n');
  process.exit(2);
}

const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
};

process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', close);
process.on('message', (message) => {
  if (message === 'close') close();
});
server.on('error', (error) => {
  process.send?.({ error: error.message });
  process.exit(1);
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});

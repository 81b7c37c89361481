/**
 * dynalite in a process of its own (forked by ./store.ts), so that the store's work runs on another
 * CPU core than the pipeline's. It checks the LevelDB folder first (./store-check.ts), then tells its
 * parent its port and what the check found over IPC, and closes its LevelDB and exits when the parent
 * says so or goes away (even before it listened: it never outlives a parent killed during start-up).
 *
 * It runs in a process group of its own (the parent forks it detached), so a Ctrl-C in the terminal
 * reaches only the parent, which still needs the store to finish its own shutdown.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type StoreCheck, StoreLocked, checkStoreFolder } from './store-check';

const path = process.argv[2];
if (path === undefined || process.send === undefined) {
  process.stderr.write('usage: forked by local/store.ts with the LevelDB folder as argument\n');
  process.exit(2);
}

export type StoreProcessMessage = { port: number; check: StoreCheck } | { error: string; locked?: boolean };

const tell = (message: StoreProcessMessage) => {
  if (process.connected) process.send?.(message);
};

let server: Server | undefined;
let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  if (server === undefined) process.exit(0);
  server.closeAllConnections?.();
  server.close(() => process.exit(0));
};

// Signals are the parent's to act on; a parent gone (or asking) is the cue to close.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', close);
process.on('message', (message) => {
  if (message === 'close') close();
});
if (!process.connected) close();

const start = async () => {
  let check: StoreCheck;
  try {
    check = await checkStoreFolder(path);
  } catch (error) {
    tell({
      error: error instanceof Error ? error.message : String(error),
      locked: error instanceof StoreLocked,
    });
    process.exit(1);
  }
  if (closing) return;
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
  server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.on('error', (error) => {
    tell({ error: error.message });
    process.exit(1);
  });
  server.listen(0, '127.0.0.1', () => {
    tell({ port: (server!.address() as AddressInfo).port, check });
  });
};
void start();

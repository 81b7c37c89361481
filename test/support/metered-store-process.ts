/**
 * The metered store's process (forked by ./metered-store.ts): dynalite on a LevelDB folder with
 * the capacity meter in front, both off the benchmark's own event loop (a meter there would make
 * the store wait on the fake API server and the fake Slack). It tells its parent both endpoints
 * over IPC, answers `report` with what the meter counted, and closes on `close` or when its parent
 * goes away.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CapacityProxy } from './capacity-proxy';

const folder = process.argv[2];
if (folder === undefined || process.send === undefined) {
  process.stderr.write(
    'usage: forked by test/support/metered-store.ts with the LevelDB folder as argument\n',
  );
  process.exit(2);
}

const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
const server = dynalite({ path: folder, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

const main = async (): Promise<void> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const meter = await new CapacityProxy(upstream).start();
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await meter.stop();
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.on('SIGINT', () => {});
  process.on('disconnect', () => void close());
  process.on('message', (message) => {
    if (message === 'report') process.send?.({ report: meter.report() });
    if (message === 'close') void close();
  });
  process.send?.({ endpoint: meter.endpoint, upstream });
};

void main().catch((error: unknown) => {
  process.send?.({ error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});

/**
 * A store for local mode with a capacity meter in front: dynalite on a LevelDB folder behind a
 * CapacityProxy, in a process of their own (./metered-store-process.ts), as local mode runs its
 * store in one. Give local mode `PULLWATCH_DYNAMODB_ENDPOINT=<endpoint>` and ask for the meter's
 * report afterwards.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type CapacityReport, itemSize } from './capacity-proxy';
import { DUMMY_CREDENTIALS, TEST_REGION, scanItems } from './dynalite';

export interface StoredItem {
  pk: string;
  sk: string;
  bytes: number;
}

export interface MeteredStore {
  /** The meter's endpoint: where local mode keeps its table. */
  endpoint: string;
  /** What the meter has counted so far. */
  report(): Promise<CapacityReport>;
  /** The largest item in the table now, read around the meter (not counted). */
  largestItem(tableName: string): Promise<StoredItem | undefined>;
  stop(): Promise<void>;
}

type Message = { endpoint: string; upstream: string } | { report: CapacityReport } | { error: string };

const nextMessage = <T>(child: ChildProcess, pick: (message: Message) => T | undefined): Promise<T> =>
  new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the metered store exited (${code})`));
    const onMessage = (message: Message) => {
      if ('error' in message) return reject(new Error(`the metered store failed: ${message.error}`));
      const picked = pick(message);
      if (picked === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(picked);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });

export const startMeteredStore = async (folder: string): Promise<MeteredStore> => {
  const child = fork(join(__dirname, 'metered-store-process.ts'), [folder], {
    execArgv: ['--require', require.resolve('tsx/cjs')],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const { endpoint, upstream } = await nextMessage(child, (message) =>
    'endpoint' in message ? message : undefined,
  );
  return {
    endpoint,
    report: () => {
      const report = nextMessage(child, (message) => ('report' in message ? message.report : undefined));
      child.send('report');
      return report;
    },
    largestItem: async (tableName) => {
      const client = new DynamoDBClient({
        endpoint: upstream,
        region: TEST_REGION,
        credentials: DUMMY_CREDENTIALS,
      });
      let largest: StoredItem | undefined;
      try {
        for (const item of await scanItems(client, tableName)) {
          const bytes = itemSize(item as unknown as Parameters<typeof itemSize>[0]);
          if (bytes > (largest?.bytes ?? -1))
            largest = { pk: item.pk?.S ?? '?', sk: item.sk?.S ?? '?', bytes };
        }
      } finally {
        client.destroy();
      }
      return largest;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.send('close');
        await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000).unref())]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
};

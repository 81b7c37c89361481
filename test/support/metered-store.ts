/**
 * A store for local mode with a capacity meter in front: dynalite on a LevelDB folder in a process
 * of its own (as local mode runs it), behind a CapacityProxy. Give local mode
 * `PULLWATCH_DYNAMODB_ENDPOINT=<endpoint>` and read the meter's figures afterwards.
 */
import { DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { startServer } from '../../local/store';
import { CapacityProxy, itemSize } from './capacity-proxy';
import { DUMMY_CREDENTIALS, TEST_REGION } from './dynalite';

export interface StoredItem {
  pk: string;
  sk: string;
  bytes: number;
}

export interface MeteredStore {
  /** The meter's endpoint: where local mode keeps its table. */
  endpoint: string;
  meter: CapacityProxy;
  /** The largest item in the table now, read around the meter (not counted). */
  largestItem(tableName: string): Promise<StoredItem | undefined>;
  stop(): Promise<void>;
}

export const startMeteredStore = async (folder: string): Promise<MeteredStore> => {
  const server = await startServer(folder);
  const meter = await new CapacityProxy(server.endpoint).start();
  return {
    endpoint: meter.endpoint,
    meter,
    largestItem: async (tableName) => {
      const client = new DynamoDBClient({
        endpoint: server.endpoint,
        region: TEST_REGION,
        credentials: DUMMY_CREDENTIALS,
      });
      let largest: StoredItem | undefined;
      try {
        let from: ScanCommandOutput['LastEvaluatedKey'];
        do {
          const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: from }));
          for (const item of page.Items ?? []) {
            const bytes = itemSize(item as unknown as Parameters<typeof itemSize>[0]);
            if (bytes > (largest?.bytes ?? -1))
              largest = { pk: item.pk?.S ?? '?', sk: item.sk?.S ?? '?', bytes };
          }
          from = page.LastEvaluatedKey;
        } while (from !== undefined);
      } finally {
        client.destroy();
      }
      return largest;
    },
    stop: async () => {
      await meter.stop();
      await server.close();
    },
  };
};

/**
 * dynalite (a real DynamoDB API over HTTP) started in-process on 127.0.0.1, with the incident table
 * created from the same definition the stack uses. Point the real SDK at `endpoint`.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type NativeAttributeValue, unmarshall } from '@aws-sdk/util-dynamodb';
import { incidentTableDefinition } from '../../functions/_common/incident-table';
import { TABLE_CLIENT_CONFIG } from '../../functions/_common/table-client';

export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } as const;
export const TEST_REGION = 'eu-west-1';

export interface LocalDynamo {
  endpoint: string;
  tableName: string;
  /** A client for the test's own reads (the code under test makes its own). */
  client: DynamoDBClient;
  /** A fresh client pointed at dynalite, as a handler would build one. */
  newClient(): DynamoDBClient;
  stop(): Promise<void>;
}

// dynalite ships no types.
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export const startDynalite = async (tableName = 'pullwatch-incidents'): Promise<LocalDynamo> => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const newClient = () =>
    new DynamoDBClient({
      ...TABLE_CLIENT_CONFIG,
      endpoint,
      region: TEST_REGION,
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 1,
    });
  const client = newClient();
  await client.send(new CreateTableCommand(incidentTableDefinition(tableName)));
  return {
    endpoint,
    tableName,
    client,
    newClient,
    stop: async () => {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** Every item of a table (every page), as DynamoDB sends them (attribute values). */
export const scanItems = async (
  client: DynamoDBClient,
  tableName: string,
): Promise<Record<string, AttributeValue>[]> => {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
};

/** Every item of the table (every page), as plain values: what the tests look at directly. */
export const scanAll = async (
  dynamo: Pick<LocalDynamo, 'client' | 'tableName'>,
): Promise<Record<string, NativeAttributeValue>[]> =>
  (await scanItems(dynamo.client, dynamo.tableName)).map((item) => unmarshall(item));

/**
 * Documents: lib-dynamodb's commands over a client that caches its handlers (TABLE_CLIENT_CONFIG),
 * against dynalite. What the cache must not break: concurrent calls each get their own answer, every
 * item-valued attribute round-trips, pages follow, and a condition's refusal is still recognised.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  Documents,
  TABLE_CLIENT_CONFIG,
  conditionally,
  deleteDocument,
} from '../../../functions/_common/table-client';
import { type LocalDynamo, startDynalite } from '../../support/dynalite';

let dynamo: LocalDynamo;
let documents: Documents;
beforeAll(async () => {
  dynamo = await startDynalite();
  documents = new Documents(dynamo.newClient());
});
afterAll(() => dynamo.stop());

const key = (pk: string, sk: string) => ({ pk, sk });

describe('Documents', () => {
  it('is used with the cached-handler client: 200 concurrent reads each get their own item', async () => {
    expect(dynamo.client.config.cacheMiddleware).toBe(true);
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        documents.send(
          new PutCommand({ TableName: dynamo.tableName, Item: { ...key('DOC#many', `N#${i}`), n: i } }),
        ),
      ),
    );
    const read = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        documents.send(
          new GetCommand({
            TableName: dynamo.tableName,
            Key: key('DOC#many', `N#${i}`),
            ConsistentRead: true,
          }),
        ),
      ),
    );
    expect(read.map((result) => result.Item?.n)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('round-trips nested values (put, get, update, delete), leaves out undefined ones, keeps empty strings', async () => {
    const item = {
      ...key('DOC#values', 'A'),
      text: '',
      count: 3,
      nested: { list: [1, 'two', { three: true }], absent: undefined, nothing: null },
      gone: undefined,
    };
    await documents.send(new PutCommand({ TableName: dynamo.tableName, Item: item }));
    const { Item } = await documents.send(
      new GetCommand({ TableName: dynamo.tableName, Key: key('DOC#values', 'A'), ConsistentRead: true }),
    );
    expect(Item).toEqual({
      ...key('DOC#values', 'A'),
      text: '',
      count: 3,
      nested: { list: [1, 'two', { three: true }], nothing: null },
    });
    const { Attributes } = await documents.send(
      new UpdateCommand({
        TableName: dynamo.tableName,
        Key: key('DOC#values', 'A'),
        UpdateExpression: 'SET #count = #count + :one, #map = :map',
        ExpressionAttributeNames: { '#count': 'count', '#map': 'map' },
        ExpressionAttributeValues: { ':one': 1, ':map': { a: [1] } },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    expect(Attributes).toEqual({ count: 4, map: { a: [1] } });
    const { Attributes: old } = await deleteDocument(dynamo.client, {
      TableName: dynamo.tableName,
      Key: key('DOC#values', 'A'),
      ReturnValues: 'ALL_OLD',
    });
    expect(old?.count).toBe(4);
  });

  it('follows query pages, and reads many keys at once', async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        documents.send(
          new PutCommand({
            TableName: dynamo.tableName,
            Item: { ...key('DOC#pages', `P#${String(i).padStart(2, '0')}`), i },
          }),
        ),
      ),
    );
    const seen: number[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(
        new QueryCommand({
          TableName: dynamo.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'DOC#pages' },
          Limit: 7,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      seen.push(...(page.Items ?? []).map((item) => Number(item.i)));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));

    const { Responses } = await documents.send(
      new BatchGetCommand({
        RequestItems: {
          [dynamo.tableName]: {
            Keys: [key('DOC#pages', 'P#03'), key('DOC#pages', 'P#29'), key('DOC#pages', 'nope')],
          },
        },
      }),
    );
    expect(Responses?.[dynamo.tableName]?.map((item) => item.i).sort()).toEqual([29, 3].sort());
  });

  it("still tells a refused condition apart (the stores' conditional writes)", async () => {
    const put = () =>
      documents.send(
        new PutCommand({
          TableName: dynamo.tableName,
          Item: key('DOC#once', 'X'),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    expect(await conditionally(put)).toBe(true);
    expect(await conditionally(put)).toBe(false);
  });

  it("is why the table's clients are not wrapped in lib-dynamodb's document client: it refuses them", () => {
    const client = new DynamoDBClient({ ...TABLE_CLIENT_CONFIG, region: 'eu-west-1' });
    expect(() => DynamoDBDocumentClient.from(client)).toThrow(/cacheMiddleware/);
    client.destroy();
  });
});

/**
 * Documents: lib-dynamodb's commands over a client that caches its handlers (TABLE_CLIENT_CONFIG),
 * against dynalite. What the cache must not break: concurrent calls each get their own answer, every
 * item-valued attribute round-trips, pages follow, and a condition's refusal is still recognised.
 * And the reader's reads of one turn, sent together: fewer calls, the same answers.
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
  TableReader,
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

describe('TableReader: reads asked for together', () => {
  /** A reader over a client that records the commands it sends; `fail` makes dynalite refuse them. */
  const recordedReader = (options: { fail?: boolean } = {}) => {
    const commands: string[] = [];
    const client = dynamo.newClient();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    const reader = new TableReader(client, { tableName: options.fail ? 'no-such-table' : dynamo.tableName });
    return { reader, commands };
  };

  beforeAll(async () => {
    await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        documents.send(
          new PutCommand({
            TableName: dynamo.tableName,
            Item: { ...key('DOC#together', `T#${i}`), i, nested: { list: [i] } },
          }),
        ),
      ),
    );
  });

  it('sends the reads of one turn as BatchGetItem calls of at most 100 keys; each asker gets exactly its items', async () => {
    const { reader, commands } = recordedReader();
    // 60 single reads, 30 reads of 3 keys (overlapping the singles), and keys that do not exist.
    const singles = Array.from({ length: 60 }, (_, i) => reader.read(key('DOC#together', `T#${i}`)));
    const triples = Array.from({ length: 30 }, (_, j) =>
      reader.readMany([0, 1, 2].map((n) => key('DOC#together', `T#${40 + j * 3 + n}`))),
    );
    const missing = [
      reader.read(key('DOC#together', 'none')),
      reader.readMany([key('DOC#together', 'nope')]),
    ];
    const [one, many, absent] = await Promise.all([
      Promise.all(singles),
      Promise.all(triples),
      Promise.all(missing),
    ]);
    expect(one.map((item) => item?.i)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(many.map((items) => items.map((item) => item.i).sort((a, b) => Number(a) - Number(b)))).toEqual(
      Array.from({ length: 30 }, (_, j) => [0, 1, 2].map((n) => 40 + j * 3 + n)),
    );
    expect(absent).toEqual([undefined, []]);
    // 132 distinct keys (T#0–T#129, two missing): two calls, and nothing else.
    expect(commands).toEqual(['BatchGetItemCommand', 'BatchGetItemCommand']);
  });

  it('gives each asker of the same key its own copy', async () => {
    const { reader } = recordedReader();
    const [first, second] = await Promise.all([
      reader.read(key('DOC#together', 'T#7')),
      reader.readMany([key('DOC#together', 'T#7'), key('DOC#together', 'T#8')]),
    ]);
    (first!.nested as { list: number[] }).list.push(99);
    expect(second.find((item) => item.i === 7)?.nested).toEqual({ list: [7] });
  });

  it('sends a read alone as it was asked, reads of one projection together, and apart those whose items lose their keys', async () => {
    const { reader, commands } = recordedReader();
    expect((await reader.read(key('DOC#together', 'T#1')))?.i).toBe(1);
    expect((await reader.readMany([key('DOC#together', 'T#2')])).map((item) => item.i)).toEqual([2]);
    expect(commands.splice(0)).toEqual(['GetItemCommand', 'BatchGetItemCommand']);

    const keyless = { ProjectionExpression: '#i', ExpressionAttributeNames: { '#i': 'i' } };
    const keyed = {
      ProjectionExpression: '#pk, #sk, #i',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#i': 'i' },
    };
    const [apart, projected, alsoProjected, whole] = await Promise.all([
      reader.read(key('DOC#together', 'T#3'), keyless),
      reader.read(key('DOC#together', 'T#4'), keyed),
      reader.readMany([key('DOC#together', 'T#5'), key('DOC#together', 'T#6')], keyed),
      reader.read(key('DOC#together', 'T#7')),
    ]);
    expect(apart).toEqual({ i: 3 });
    expect(projected).toEqual({ ...key('DOC#together', 'T#4'), i: 4 });
    expect(alsoProjected.map((item) => item.i).sort()).toEqual([5, 6]);
    expect(whole?.nested).toEqual({ list: [7] });
    // The keyless read and the whole one alone (GetItem each), the two projected ones in one call.
    expect(commands.sort()).toEqual(['BatchGetItemCommand', 'GetItemCommand', 'GetItemCommand']);
  });

  it('fails every asker of a call that fails', async () => {
    const { reader } = recordedReader({ fail: true });
    const results = await Promise.allSettled([
      reader.read(key('DOC#together', 'T#1')),
      reader.readMany([key('DOC#together', 'T#2')]),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(
      /ResourceNotFound|non-existent table/,
    );
  });
});

/**
 * The capacity meter between the real DynamoDB client and dynalite: what dynalite reports under
 * ReturnConsumedCapacity=TOTAL (table units only, GSI writes not included, nothing for a refused
 * conditional write), summed per operation; item sizes at the 1 KB boundary agree with dynalite's.
 */
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { loadLocalConfig } from '../../local/config';
import { CapacityProxy, consumedOf, describeCapacity, itemSize } from './capacity-proxy';
import { DUMMY_CREDENTIALS, type LocalDynamo, TEST_REGION, startDynalite } from './dynalite';

describe('CapacityProxy', () => {
  let dynamo: LocalDynamo;
  let proxy: CapacityProxy;
  let client: DynamoDBClient;
  const TABLE = 'pullwatch-incidents';

  beforeAll(async () => {
    dynamo = await startDynalite(TABLE);
    proxy = await new CapacityProxy(dynamo.endpoint).start();
  });
  beforeEach(() => {
    client = new DynamoDBClient({
      endpoint: proxy.endpoint,
      region: TEST_REGION,
      credentials: DUMMY_CREDENTIALS,
      maxAttempts: 1,
    });
    proxy.reset();
  });
  afterEach(() => client.destroy());
  afterAll(async () => {
    await proxy.stop();
    await dynamo.stop();
  });

  /** An item of exactly `bytes` as DynamoDB sizes it (pk, sk and a padding string). */
  const itemOf = (pk: string, bytes: number, extra: Record<string, { S: string }> = {}) => {
    const base = { pk: { S: pk }, sk: { S: 'GEN#000001' }, ...extra };
    const pad = bytes - itemSize(base) - 'pad'.length;
    return { ...base, pad: { S: 'x'.repeat(pad) } };
  };

  it('sizes items as DynamoDB does: strings in UTF-8, numbers by digits, maps and lists with overhead', () => {
    expect(itemSize({ name: { S: 'abc' } })).toBe(7);
    expect(itemSize({ n: { S: 'é' } })).toBe(3);
    expect(itemSize({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemSize({ n: { N: '0' } })).toBe(1 + 1);
    expect(itemSize({ ok: { BOOL: true }, no: { NULL: true } })).toBe(6);
    expect(itemSize({ m: { M: { a: { S: 'xy' } } } })).toBe(1 + 3 + 1 + 3);
    expect(itemSize({ l: { L: [{ S: 'xy' }, { N: '7' }] } })).toBe(1 + 3 + (1 + 2) + (1 + 2));
  });

  it("reads an answer's ConsumedCapacity, not one inside an item's text", () => {
    const item = { Item: { note: { S: 'x "ConsumedCapacity": {"CapacityUnits": 99} [' } } };
    expect(JSON.stringify(item)).toContain('\\"ConsumedCapacity\\":');
    const answer = (consumed: unknown) => JSON.stringify({ ...item, ConsumedCapacity: consumed, Count: 1 });
    expect(consumedOf(answer({ CapacityUnits: 2.5, TableName: 't' }))).toEqual({
      CapacityUnits: 2.5,
      TableName: 't',
    });
    expect(consumedOf(answer([{ CapacityUnits: 1, TableName: 't[1]' }]))).toEqual([
      { CapacityUnits: 1, TableName: 't[1]' },
    ]);
    expect(consumedOf(JSON.stringify(item))).toBeUndefined();
  });

  it('asks for TOTAL on every call and sums what dynalite answers, per operation', async () => {
    // Callers that never ask for capacity still get their answers (the extra field is ignored).
    await client.send(new PutItemCommand({ TableName: TABLE, Item: itemOf('A', 1024) }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: itemOf('B', 1025) }));
    const got = await client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'B' }, sk: { S: 'GEN#000001' } },
        ConsistentRead: true,
      }),
    );
    expect(got.Item?.pad?.S).toHaveLength(1025 - itemSize({ pk: { S: 'B' }, sk: { S: 'GEN#000001' } }) - 3);
    await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'A' }, sk: { S: 'GEN#000001' } } }),
    );
    // An update is billed on the larger of the item before and after: 1,025 → 3,077 bytes is 4 WCU.
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'B' }, sk: { S: 'GEN#000001' } },
        UpdateExpression: 'SET more = :more',
        ExpressionAttributeValues: { ':more': { S: 'y'.repeat(2048) } },
      }),
    );
    // A refused conditional write: DynamoDB bills it, dynalite answers an error without units.
    await expect(
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: itemOf('A', 100),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toThrow(/conditional request failed/);
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: [{ PutRequest: { Item: itemOf('C', 5000) } }, { PutRequest: { Item: itemOf('D', 100) } }],
        },
      }),
    );
    await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'C' } },
      }),
    );

    expect(Object.fromEntries(proxy.byOperation)).toEqual({
      PutItem: { calls: 3, errors: 1, readUnits: 0, writeUnits: 1 + 2 },
      GetItem: { calls: 2, errors: 0, readUnits: 1 + 0.5, writeUnits: 0 },
      UpdateItem: { calls: 1, errors: 0, readUnits: 0, writeUnits: 4 },
      BatchWriteItem: { calls: 1, errors: 0, readUnits: 0, writeUnits: 5 + 1 },
      Query: { calls: 1, errors: 0, readUnits: 1, writeUnits: 0 },
    });
    expect(proxy.totals()).toEqual({
      calls: 8,
      errors: 1,
      readUnits: 2.5,
      writeUnits: 13,
      largestWrite: { operation: 'UpdateItem', writeUnits: 4 },
      largestItemBytes: 5000,
    });
    expect(describeCapacity(proxy.report(), 5)[1]).toMatch(
      /^ {2}13 WCU, 2\.60 per observation; 2\.5 RCU, 0\.50 per observation; 8 calls, 1\.60 per observation, 1 refused/,
    );
  });

  it('shows that dynalite leaves out the writes to global secondary indexes', async () => {
    // In every index (byCluster, byCause, byWorkload, dueForResolution): DynamoDB would add 4 WCU.
    const indexed = itemOf('E', 500, {
      gsi1pk: { S: 'CLUSTER#c' },
      gsi1sk: { S: '2026#e' },
      gsi2pk: { S: 'CAUSE#x' },
      gsi2sk: { S: '2026#e' },
      gsi3pk: { S: 'WORKLOAD#w' },
      gsi3sk: { S: '2026#e' },
      duePk: { S: 'DUE' },
    });
    await client.send(
      new PutItemCommand({ TableName: TABLE, Item: { ...indexed, dueAt: { N: '1772359200000' } } }),
    );
    expect(proxy.totals().writeUnits).toBe(1);
  });

  it('local mode takes the endpoint from PULLWATCH_DYNAMODB_ENDPOINT, and refuses one that is not a URL', () => {
    expect(loadLocalConfig({ PULLWATCH_DYNAMODB_ENDPOINT: proxy.endpoint }).storeEndpoint).toBe(
      proxy.endpoint,
    );
    expect(loadLocalConfig({}).storeEndpoint).toBeUndefined();
    expect(() => loadLocalConfig({ PULLWATCH_DYNAMODB_ENDPOINT: 'localhost:8000' })).toThrow(
      'PULLWATCH_DYNAMODB_ENDPOINT must be an http(s) URL, got "localhost:8000"',
    );
  });
});

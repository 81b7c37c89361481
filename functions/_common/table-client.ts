/**
 * The incident table as every store uses it (by composition): consistent reads, conditional writes,
 * paged queries, the TTL, and the sparse due indexes. One document sender per store.
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
  QueryCommand as QueryItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DeleteCommandInput,
  type DeleteCommandOutput,
  GetCommand,
  type GetCommandOutput,
  PutCommand,
  type PutCommandOutput,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { type NativeAttributeValue, marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DEFAULT_RETENTION_DAYS, INCIDENT_TABLE } from './incident-table';
import { sleep } from './sleep';

/**
 * How every DynamoDB client of the table is made: the client resolves its middleware stack once per
 * command type, not on every call (a quarter of a call's CPU in the SDK). lib-dynamodb's document
 * client refuses this setting (it resolves its stack per command), so the stores send lib-dynamodb's
 * commands through `Documents` below.
 */
export const TABLE_CLIENT_CONFIG = { cacheMiddleware: true } as const satisfies DynamoDBClientConfig;

type Values = Record<string, NativeAttributeValue>;
type Attributes = Record<string, AttributeValue>;

// As lib-dynamodb's document client was set up: absent attributes are left out, empty strings kept.
const toAttributes = (values: Values): Attributes =>
  marshall(values, { removeUndefinedValues: true, convertEmptyValues: false });
const attributesOf = (values: Values | undefined): Attributes | undefined =>
  values === undefined ? undefined : toAttributes(values);
const valuesOf = (attributes: Attributes | undefined): Values | undefined =>
  attributes === undefined ? undefined : unmarshall(attributes);
const byTable = <T, U>(tables: Record<string, T> | undefined, convert: (value: T) => U) =>
  tables === undefined
    ? undefined
    : Object.fromEntries(Object.entries(tables).map(([table, value]) => [table, convert(value)]));

// The attributes of a command's input and output that hold item values (the rest pass as they are).
const withValues = <T extends { ExpressionAttributeValues?: Values }>({
  ExpressionAttributeValues,
  ...input
}: T) => ({
  ...input,
  ExpressionAttributeValues: attributesOf(ExpressionAttributeValues),
});
const keyed = <T extends { Key?: Values; ExpressionAttributeValues?: Values }>({ Key, ...input }: T) => ({
  ...withValues(input),
  Key: attributesOf(Key),
});
const paged = <T extends { ExclusiveStartKey?: Values; ExpressionAttributeValues?: Values }>({
  ExclusiveStartKey,
  ...input
}: T) => ({ ...withValues(input), ExclusiveStartKey: attributesOf(ExclusiveStartKey) });
const withAttributes = <T extends { Attributes?: Attributes }>({ Attributes, ...output }: T) => ({
  ...output,
  Attributes: valuesOf(Attributes),
});
const pageOf = <T extends { Items?: Attributes[]; LastEvaluatedKey?: Attributes }>({
  Items,
  LastEvaluatedKey,
  ...output
}: T) => ({
  ...output,
  Items: Items?.map((item) => unmarshall(item)),
  LastEvaluatedKey: valuesOf(LastEvaluatedKey),
});

/**
 * lib-dynamodb's read commands (their inputs and outputs in plain values), sent as the low-level
 * commands they stand for, so that a client made with TABLE_CLIENT_CONFIG caches its handlers. The
 * conversion is util-dynamodb's; only the attributes that hold item values are converted, as
 * lib-dynamodb does.
 */
export class DocumentReads {
  constructor(protected readonly client: DynamoDBClient) {}

  send(command: GetCommand): Promise<GetCommandOutput>;
  send(command: QueryCommand): Promise<QueryCommandOutput>;
  send(command: BatchGetCommand): Promise<BatchGetCommandOutput>;
  async send(command: GetCommand | QueryCommand | BatchGetCommand): Promise<unknown> {
    if (command instanceof GetCommand) {
      const { Item, ...output } = await this.client.send(new GetItemCommand(keyed(command.input)));
      return { ...output, Item: valuesOf(Item) };
    }
    if (command instanceof QueryCommand) {
      return pageOf(await this.client.send(new QueryItemsCommand(paged(command.input))));
    }
    const { RequestItems, ...input } = command.input;
    const { Responses, UnprocessedKeys, ...output } = await this.client.send(
      new BatchGetItemCommand({
        ...input,
        RequestItems: byTable(RequestItems, (request) => ({
          ...request,
          Keys: request.Keys?.map(toAttributes),
        })),
      }),
    );
    return {
      ...output,
      Responses: byTable(Responses, (items) => items.map((item) => unmarshall(item))),
      UnprocessedKeys: byTable(UnprocessedKeys, (request) => ({
        ...request,
        Keys: request.Keys?.map((key) => unmarshall(key)),
      })),
    };
  }
}

/** The reads and the writes (puts and updates; apart, so that a read-only function's bundle has none). */
export class Documents extends DocumentReads {
  override send(command: GetCommand): Promise<GetCommandOutput>;
  override send(command: QueryCommand): Promise<QueryCommandOutput>;
  override send(command: BatchGetCommand): Promise<BatchGetCommandOutput>;
  override send(command: PutCommand): Promise<PutCommandOutput>;
  override send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  override async send(
    command: GetCommand | QueryCommand | BatchGetCommand | PutCommand | UpdateCommand,
  ): Promise<unknown> {
    if (command instanceof PutCommand) {
      const { Item, ...input } = command.input;
      return withAttributes(
        await this.client.send(new PutItemCommand({ ...withValues(input), Item: attributesOf(Item) })),
      );
    }
    if (command instanceof UpdateCommand) {
      return withAttributes(await this.client.send(new UpdateItemCommand(keyed(command.input))));
    }
    return super.send(command as GetCommand);
  }
}

/**
 * A delete, outside `Documents` so that only the functions that delete (the action store's) carry
 * DeleteItem in their bundle and need it in their role.
 */
export const deleteDocument = async (
  client: DynamoDBClient,
  input: DeleteCommandInput,
): Promise<DeleteCommandOutput> => withAttributes(await client.send(new DeleteItemCommand(keyed(input))));

export type ItemKey = Record<string, string>;
export type Item = Record<string, unknown>;

/** Which attributes a read returns (names only through placeholders: many are reserved words). */
export interface Projection {
  ProjectionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
}

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && error.name === 'ConditionalCheckFailedException');

/** Runs a conditional write; false when its condition failed. */
export const conditionally = async (write: () => Promise<unknown>): Promise<boolean> => {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

const DAY_SECONDS = 86_400;
/** BatchGetItem takes at most this many keys per call. */
const BATCH_GET_LIMIT = 100;
/** Rounds of unprocessed keys asked again before giving up (throttling that does not pass). */
const BATCH_GET_ATTEMPTS = 8;

const idOfKey = (key: ItemKey): string =>
  `${key[INCIDENT_TABLE.partitionKey]}\u0000${key[INCIDENT_TABLE.sortKey]}`;

/** Whether a read's items name their keys (so that a shared answer can be given back per asker). */
const keepsKeys = (projection: Projection | undefined): boolean => {
  if (projection === undefined) return true;
  const names = Object.values(projection.ExpressionAttributeNames);
  return names.includes(INCIDENT_TABLE.partitionKey) && names.includes(INCIDENT_TABLE.sortKey);
};

const idOfProjection = (projection: Projection | undefined): string =>
  projection === undefined
    ? ''
    : `${projection.ProjectionExpression}\u0000${JSON.stringify(projection.ExpressionAttributeNames)}`;

interface ReadRequest {
  keys: readonly ItemKey[];
  projection: Projection | undefined;
  /** Asked as one item (GetItem when alone). */
  single: boolean;
  resolve: (items: Item[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Consistent reads asked for in the same turn of the event loop, sent as one BatchGetItem per
 * projection (a batch handler's groups start their reads together, and a call costs the client far
 * more CPU than its keys do). A key asked for twice is read once, and each asker gets its own copy.
 * A read alone is sent as it was asked (GetItem or BatchGetItem). The capacity is the same: DynamoDB
 * charges a batch per item.
 */
class ReadsTogether {
  private waiting: ReadRequest[] = [];

  constructor(
    private readonly send: {
      one: (key: ItemKey, projection?: Projection) => Promise<Item | undefined>;
      many: (keys: readonly ItemKey[], projection?: Projection) => Promise<Item[]>;
    },
  ) {}

  read(keys: readonly ItemKey[], single: boolean, projection: Projection | undefined): Promise<Item[]> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => void this.flush());
      this.waiting.push({ keys, projection, single, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const groups = new Map<string, ReadRequest[]>();
    for (const request of this.waiting) {
      const id = idOfProjection(request.projection);
      const group = groups.get(id);
      if (group === undefined) groups.set(id, [request]);
      else group.push(request);
    }
    this.waiting = [];
    await Promise.all([...groups.values()].map((group) => this.sendTogether(group)));
  }

  private async sendTogether(requests: readonly ReadRequest[]): Promise<void> {
    const { projection } = requests[0]!;
    if (requests.length === 1) {
      const [{ keys, single, resolve, reject }] = requests as [ReadRequest];
      try {
        if (!single) return resolve(await this.send.many(keys, projection));
        const item = await this.send.one(keys[0]!, projection);
        return resolve(item === undefined ? [] : [item]);
      } catch (error) {
        return reject(error);
      }
    }
    const unique = new Map<string, ItemKey>();
    for (const { keys } of requests) for (const key of keys) unique.set(idOfKey(key), key);
    let items: Map<string, Item>;
    try {
      const read = await this.send.many([...unique.values()], projection);
      items = new Map(read.map((item) => [idOfKey(item as ItemKey), item]));
    } catch (error) {
      for (const { reject } of requests) reject(error);
      return;
    }
    const given = new Set<string>();
    for (const { keys, resolve } of requests) {
      const mine: Item[] = [];
      for (const id of new Set(keys.map(idOfKey))) {
        const item = items.get(id);
        if (item === undefined) continue;
        mine.push(given.has(id) ? structuredClone(item) : item);
        given.add(id);
      }
      resolve(mine);
    }
  }
}

export interface TableOptions {
  tableName: string;
  retentionDays?: number;
}

/** The reads (what the read-only history function may call). */
export class TableReader {
  readonly documents: DocumentReads;
  readonly tableName: string;

  constructor(client: DynamoDBClient, options: TableOptions, documents = new DocumentReads(client)) {
    this.documents = documents;
    this.tableName = options.tableName;
  }

  /** One item (or the attributes `projection` names), read consistently. */
  async read(key: ItemKey, projection?: Projection): Promise<Item | undefined> {
    if (keepsKeys(projection)) return (await this.together.read([key], true, projection))[0];
    return this.getItem(key, projection);
  }

  private async getItem(key: ItemKey, projection?: Projection): Promise<Item | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true, ...projection }),
    );
    return result.Item;
  }

  /**
   * Items by key, read consistently unless told (in calls of at most 100 keys; unprocessed keys
   * asked again with back-off, a few times). Consistent reads whose items keep their keys are read
   * together with the others asked for in the same turn of the event loop (`ReadsTogether`).
   */
  async readMany(
    keys: readonly ItemKey[],
    projection?: Projection,
    options: { consistent?: boolean } = {},
  ): Promise<Item[]> {
    if (keys.length === 0) return [];
    if (keepsKeys(projection) && options.consistent !== false) {
      return this.together.read(keys, false, projection);
    }
    return this.batchGet(keys, projection, options);
  }

  private readonly together = new ReadsTogether({
    one: (key, projection) => this.getItem(key, projection),
    many: (keys, projection) => this.batchGet(keys, projection),
  });

  private async batchGet(
    keys: readonly ItemKey[],
    projection?: Projection,
    options: { consistent?: boolean } = {},
  ): Promise<Item[]> {
    const items: Item[] = [];
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      let pending: Item[] | undefined = keys.slice(start, start + BATCH_GET_LIMIT);
      for (let attempt = 0; pending !== undefined && pending.length > 0; attempt++) {
        if (attempt > BATCH_GET_ATTEMPTS)
          throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
        if (attempt > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
        const result: BatchGetCommandOutput = await this.documents.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: { Keys: pending, ConsistentRead: options.consistent ?? true, ...projection },
            },
          }),
        );
        items.push(...(result.Responses?.[this.tableName] ?? []));
        pending = result.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return items;
  }

  /** The last `limit` items of a partition (by sort key), read consistently. */
  async newestOf(pk: string, limit: number, projection?: Projection): Promise<Item[]> {
    const result = await this.documents.send(
      new QueryCommand({
        ...this.partitionQuery(pk, projection),
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return result.Items ?? [];
  }

  /** Every item of a partition (every page), read consistently. */
  async partition(pk: string, projection?: Projection): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page: QueryCommandOutput = await this.documents.send(
        new QueryCommand({
          ...this.partitionQuery(pk, projection),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  private partitionQuery(pk: string, projection: Projection | undefined): QueryCommandInput {
    return {
      TableName: this.tableName,
      KeyConditionExpression: '#pk = :pk',
      ...(projection === undefined ? {} : { ProjectionExpression: projection.ProjectionExpression }),
      ExpressionAttributeNames: {
        '#pk': INCIDENT_TABLE.partitionKey,
        ...projection?.ExpressionAttributeNames,
      },
      ExpressionAttributeValues: { ':pk': pk },
      ConsistentRead: true,
    };
  }

  /** Table keys of the items of a sparse index whose due time has come, with the time seen. */
  async dueIn(
    index: { name: string; partitionKey: string; sortKey: string },
    partition: string,
    now: number,
    limit: number,
  ): Promise<Array<{ pk: string; sk: string; dueAt: number }>> {
    const due: Array<{ pk: string; sk: string; dueAt: number }> = [];
    let start: Item | undefined;
    do {
      const page: QueryCommandOutput = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.name,
          KeyConditionExpression: '#due = :due AND #at <= :now',
          ExpressionAttributeNames: { '#due': index.partitionKey, '#at': index.sortKey },
          ExpressionAttributeValues: { ':due': partition, ':now': now },
          Limit: Math.min(100, limit - due.length),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        due.push({
          pk: String(item[INCIDENT_TABLE.partitionKey]),
          sk: String(item[INCIDENT_TABLE.sortKey]),
          dueAt: Number(item[index.sortKey]),
        });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined && due.length < limit);
    return due;
  }
}

/** The reads and the conditional writes (every store but history's). */
export class TableClient extends TableReader {
  declare readonly documents: Documents;
  private readonly retentionSeconds: number;

  constructor(client: DynamoDBClient, options: TableOptions) {
    super(client, options, new Documents(client));
    this.retentionSeconds = (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_SECONDS;
  }

  /** The TTL (epoch seconds) of an item that stops mattering at `ms` (epoch ms): the retention after it. */
  expiresAt(ms: number): number {
    return Math.floor(ms / 1000) + this.retentionSeconds;
  }

  /** Sends a conditional write; false when its condition failed. */
  conditional(command: PutCommand | UpdateCommand): Promise<boolean> {
    return conditionally(() =>
      command instanceof PutCommand ? this.documents.send(command) : this.documents.send(command),
    );
  }

  /** Sets a boolean attribute of an existing item (never cleared). */
  setFlag(key: ItemKey, attribute: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #flag = :true',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#flag': attribute, '#pk': INCIDENT_TABLE.partitionKey },
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  /** Sets an existing item's timer in the sparse `renderDue` index, under `partition` (what is due). */
  async markDue(key: ItemKey, partition: string, dueAt: number): Promise<void> {
    const { renderIndex } = INCIDENT_TABLE;
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #pk2 = :partition, #at = :dueAt',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: {
          '#pk': INCIDENT_TABLE.partitionKey,
          '#pk2': renderIndex.partitionKey,
          '#at': renderIndex.sortKey,
        },
        ExpressionAttributeValues: { ':partition': partition, ':dueAt': dueAt },
      }),
    );
  }

  /** Removes the item's timer if it is still the one seen. */
  async clearDue(key: ItemKey, seenDueAt: number): Promise<void> {
    const { renderIndex } = INCIDENT_TABLE;
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'REMOVE #pk2, #at',
        ConditionExpression: '#at = :seen',
        ExpressionAttributeNames: { '#pk2': renderIndex.partitionKey, '#at': renderIndex.sortKey },
        ExpressionAttributeValues: { ':seen': seenDueAt },
      }),
    );
  }
}

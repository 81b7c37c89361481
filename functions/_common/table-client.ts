/**
 * The incident table as every store uses it (by composition): consistent reads, conditional writes,
 * paged queries, the TTL, and the sparse due indexes. One DynamoDB document client per store.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DEFAULT_RETENTION_DAYS, INCIDENT_TABLE } from './incident-table';
import { sleep } from './sleep';

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

export interface TableOptions {
  tableName: string;
  retentionDays?: number;
}

/** The reads (what the read-only history function may call). */
export class TableReader {
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;

  constructor(client: DynamoDBClient, options: TableOptions) {
    this.documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.tableName = options.tableName;
  }

  /** One item (or the attributes `projection` names), read consistently. */
  async read(key: ItemKey, projection?: Projection): Promise<Item | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true, ...projection }),
    );
    return result.Item;
  }

  /**
   * Items by key, read consistently unless told (in calls of at most 100 keys; unprocessed keys
   * asked again with back-off, a few times).
   */
  async readMany(
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
  private readonly retentionSeconds: number;

  constructor(client: DynamoDBClient, options: TableOptions) {
    super(client, options);
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

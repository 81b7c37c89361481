/**
 * Slack posts claimed in the DynamoDB item they belong to (an incident, a storm bucket, a cluster's
 * forwarder), with conditional writes: the claim protocol of functions/_common/slack-posts.ts, and the
 * chat.update throttle. Subclasses say which item a reference names; the base also holds what the
 * incident and forwarder stores share (consistent reads, the TTL, the sparse due indexes).
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_RETENTION_DAYS, INCIDENT_TABLE, RENDER_PARTITION } from './incident-table';

export type PostState = 'claimed' | 'posted' | 'failed' | 'uncertain';

/** One Slack post (a top-level message, or a thread reply), claimed before it is sent. */
export interface PostRecord {
  state: PostState;
  /** Unique per attempt: only the holder of the claim records its result. */
  token: string;
  /** The channel asked for (an id or a name). */
  channel: string;
  /** When the first attempt claimed the post: a search for a lost post starts here. */
  firstClaimedAt: number;
  claimedAt: number;
  /** Until then, nobody else may take the claim (longer than the function's timeout). */
  leaseUntil: number;
  attempts: number;
  /** The thread the post is a reply in (kept, so that a retry posts and searches where the first did). */
  threadTs?: string;
  ts?: string;
  /** The channel id Slack answered with. */
  channelId?: string;
  error?: string;
}

/** What a message last showed, for the chat.update throttle. */
export interface RenderRecord {
  version: number;
  status: string;
  at: number;
}

/** Slack posts claimed in the item they belong to (see functions/_common/slack-posts.ts). */
export interface PostStore<Ref> {
  /**
   * Claims a post: only if nobody has (no `replacing`), or only if the claim is still the one with
   * token `replacing` (taking over an expired claim). False if someone else got there first.
   */
  claimPost(ref: Ref, postId: string, claim: PostRecord, replacing?: string): Promise<boolean>;
  /** Records the posted message (and what it shows) if the claim is still `token`'s. */
  completePost(
    ref: Ref,
    postId: string,
    token: string,
    posted: { ts: string; channelId: string },
    render?: RenderRecord,
  ): Promise<boolean>;
  /** Gives the claim up (the post certainly did not happen). */
  releasePost(ref: Ref, postId: string, token: string): Promise<void>;
  /** Marks the claim failed (permanently) or uncertain (sent, outcome unknown). */
  markPost(
    ref: Ref,
    postId: string,
    token: string,
    state: 'failed' | 'uncertain',
    error: string,
  ): Promise<void>;
  /** Takes the chat.update slot if the last render is still `previousAt` (undefined: none yet). */
  claimRender(ref: Ref, next: RenderRecord, previousAt: number | undefined): Promise<boolean>;
  /** Notes that a throttled chat.update (or a held post) may run at `dueAt` (the `renderDue` index). */
  markRenderDue(ref: Ref, dueAt: number): Promise<void>;
  /** Forgets the note if it is still the one seen (a newer note stays). */
  clearRenderDue(ref: Ref, seenDueAt: number): Promise<void>;
}

export type ItemKey = Record<string, string>;

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

export abstract class DynamoPostStore<Ref> implements PostStore<Ref> {
  protected readonly documents: DynamoDBDocumentClient;
  private readonly retentionSeconds: number;

  constructor(
    client: DynamoDBClient,
    protected readonly tableName: string,
    retentionDays = DEFAULT_RETENTION_DAYS,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.retentionSeconds = retentionDays * DAY_SECONDS;
  }

  /** The table key of the item `ref` names. */
  protected abstract keyOf(ref: Ref): ItemKey;

  /** The TTL (epoch seconds) of an item that stops mattering at `ms` (epoch ms): the retention after it. */
  protected expiresAt(ms: number): number {
    return Math.floor(ms / 1000) + this.retentionSeconds;
  }

  /** One item (or the attributes `projection` names), read consistently. */
  protected async read(key: ItemKey, projection?: Projection): Promise<Record<string, unknown> | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true, ...projection }),
    );
    return result.Item;
  }

  /** Runs a conditional update; false when its condition failed. */
  protected conditional(command: UpdateCommand): Promise<boolean> {
    return conditionally(() => this.documents.send(command));
  }

  claimPost(ref: Ref, postId: string, claim: PostRecord, replacing?: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(ref),
        UpdateExpression: 'SET #posts.#post = :claim',
        ConditionExpression:
          replacing === undefined
            ? 'attribute_exists(#posts) AND attribute_not_exists(#posts.#post)'
            : '#posts.#post.#token = :replacing',
        ExpressionAttributeNames: {
          '#posts': 'posts',
          '#post': postId,
          ...(replacing === undefined ? {} : { '#token': 'token' }),
        },
        ExpressionAttributeValues: {
          ':claim': claim,
          ...(replacing === undefined ? {} : { ':replacing': replacing }),
        },
      }),
    );
  }

  completePost(
    ref: Ref,
    postId: string,
    token: string,
    posted: { ts: string; channelId: string },
    render?: RenderRecord,
  ): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(ref),
        UpdateExpression: `SET ${[
          '#posts.#post.#state = :posted',
          '#posts.#post.#ts = :ts',
          '#posts.#post.#channelId = :channelId',
          ...(render === undefined ? [] : ['#render = :render']),
        ].join(', ')} REMOVE #posts.#post.#error`,
        ConditionExpression: '#posts.#post.#token = :token',
        ExpressionAttributeNames: {
          '#posts': 'posts',
          '#post': postId,
          '#state': 'state',
          '#ts': 'ts',
          '#channelId': 'channelId',
          '#token': 'token',
          '#error': 'error',
          ...(render === undefined ? {} : { '#render': 'render' }),
        },
        ExpressionAttributeValues: {
          ':posted': 'posted',
          ':ts': posted.ts,
          ':channelId': posted.channelId,
          ':token': token,
          ...(render === undefined ? {} : { ':render': render }),
        },
      }),
    );
  }

  async releasePost(ref: Ref, postId: string, token: string): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(ref),
        UpdateExpression: 'REMOVE #posts.#post',
        ConditionExpression: '#posts.#post.#token = :token',
        ExpressionAttributeNames: { '#posts': 'posts', '#post': postId, '#token': 'token' },
        ExpressionAttributeValues: { ':token': token },
      }),
    );
  }

  async markPost(
    ref: Ref,
    postId: string,
    token: string,
    state: 'failed' | 'uncertain',
    error: string,
  ): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(ref),
        UpdateExpression: 'SET #posts.#post.#state = :state, #posts.#post.#error = :error',
        ConditionExpression: '#posts.#post.#token = :token',
        ExpressionAttributeNames: {
          '#posts': 'posts',
          '#post': postId,
          '#token': 'token',
          '#state': 'state',
          '#error': 'error',
        },
        ExpressionAttributeValues: { ':token': token, ':state': state, ':error': error.slice(0, 500) },
      }),
    );
  }

  claimRender(ref: Ref, next: RenderRecord, previousAt: number | undefined): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(ref),
        UpdateExpression: 'SET #render = :next',
        ConditionExpression:
          previousAt === undefined ? 'attribute_not_exists(#render)' : '#render.#at = :previousAt',
        ExpressionAttributeNames: {
          '#render': 'render',
          ...(previousAt === undefined ? {} : { '#at': 'at' }),
        },
        ExpressionAttributeValues: {
          ':next': next,
          ...(previousAt === undefined ? {} : { ':previousAt': previousAt }),
        },
      }),
    );
  }

  markRenderDue(ref: Ref, dueAt: number): Promise<void> {
    return this.markDue(ref, RENDER_PARTITION, dueAt);
  }

  clearRenderDue(ref: Ref, seenDueAt: number): Promise<void> {
    return this.clearDue(ref, seenDueAt);
  }

  /** Sets the item's timer in the sparse `renderDue` index, under `partition` (what is due). */
  protected async markDue(ref: Ref, partition: string, dueAt: number): Promise<void> {
    const { renderIndex } = INCIDENT_TABLE;
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(ref),
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
  protected async clearDue(ref: Ref, seenDueAt: number): Promise<void> {
    const { renderIndex } = INCIDENT_TABLE;
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf(ref),
        UpdateExpression: 'REMOVE #pk2, #at',
        ConditionExpression: '#at = :seen',
        ExpressionAttributeNames: { '#pk2': renderIndex.partitionKey, '#at': renderIndex.sortKey },
        ExpressionAttributeValues: { ':seen': seenDueAt },
      }),
    );
  }

  /** Table keys of the items of a sparse index whose due time has come, with the time seen. */
  protected dueIn(
    index: DueIndex,
    partition: string,
    now: number,
    limit: number,
  ): Promise<Array<{ pk: string; sk: string; dueAt: number }>> {
    return queryDue(this.documents, this.tableName, index, partition, now, limit);
  }
}

export interface DueIndex {
  name: string;
  partitionKey: string;
  sortKey: string;
}

/** Table keys of the items of a sparse index partition whose due time is `now` or earlier, oldest first. */
export const queryDue = async (
  documents: DynamoDBDocumentClient,
  tableName: string,
  index: DueIndex,
  partition: string,
  now: number,
  limit: number,
): Promise<Array<{ pk: string; sk: string; dueAt: number }>> => {
  const due: Array<{ pk: string; sk: string; dueAt: number }> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: tableName,
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
};

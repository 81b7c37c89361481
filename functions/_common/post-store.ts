/**
 * Slack posts claimed in the DynamoDB item they belong to (an incident, a storm bucket, a cluster's
 * forwarder), with conditional writes: the claim protocol of functions/_common/slack-posts.ts, and the
 * chat.update throttle. A store that owns posts holds one of these, told which item a reference names.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { RENDER_PARTITION } from './incident-table';
import type { ItemKey, TableClient } from './table-client';

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

export interface DynamoPostsOptions<Ref> {
  /** The table key of the item `ref` names. */
  keyOf: (ref: Ref) => ItemKey;
  /**
   * False when the item's `renderDue` timer means something else (a forwarder's is its silence
   * timer, and its messages change only with their status, shown at once): no throttled update.
   */
  renderTimers?: boolean;
}

export class DynamoPosts<Ref> implements PostStore<Ref> {
  private readonly tableName: string;
  private readonly keyOf: (ref: Ref) => ItemKey;
  private readonly renderTimers: boolean;

  constructor(
    private readonly table: TableClient,
    options: DynamoPostsOptions<Ref>,
  ) {
    this.tableName = table.tableName;
    this.keyOf = options.keyOf;
    this.renderTimers = options.renderTimers ?? true;
  }

  private conditional(command: UpdateCommand): Promise<boolean> {
    return this.table.conditional(command);
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

  async markRenderDue(ref: Ref, dueAt: number): Promise<void> {
    if (this.renderTimers) await this.table.markDue(this.keyOf(ref), RENDER_PARTITION, dueAt);
  }

  async clearRenderDue(ref: Ref, seenDueAt: number): Promise<void> {
    if (this.renderTimers) await this.table.clearDue(this.keyOf(ref), seenDueAt);
  }
}

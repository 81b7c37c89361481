/**
 * The watchdog's store: one item per cluster in the incident table (see incident-table.ts), holding
 * the forwarder's liveness (shared/watchdog.ts), the events a change produced until they are
 * published (`outbox`), and the Slack posts about it (claimed, as for incidents).
 *
 * Each change is a conditional write on the item's `version`; a loser reads again and folds again.
 * The item's timer in the sparse `renderDue` index (partition `SILENCE`) is the time the cluster
 * becomes silent if nothing more is heard, and stays due while it is silent, so the watchdog's tick
 * reads exactly the clusters it has something to do for.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ForwarderDetail, WatchdogDetailType } from '#shared/incident-events';
import type { ForwarderState } from '#shared/watchdog';
import {
  DEFAULT_RETENTION_DAYS,
  FORWARDER_PREFIX,
  FORWARDER_SK,
  INCIDENT_TABLE,
  SILENCE_PARTITION,
  forwarderPk,
} from './incident-table';
import {
  DynamoPostStore,
  type ItemKey,
  type PostRecord,
  type PostStore,
  type RenderRecord,
  isConditionFailure,
} from './post-store';

export interface ForwarderRef {
  cluster: string;
}

export interface ForwarderOutboxEntry {
  eventId: string;
  detailType: WatchdogDetailType;
  detail: ForwarderDetail;
  writtenAt: number;
}

export interface StoredForwarder {
  state: ForwarderState;
  version: number;
  outbox: ForwarderOutboxEntry[];
  posts: Record<string, PostRecord>;
  render?: RenderRecord;
}

export interface ForwarderWrite {
  state: ForwarderState;
  /** The version read; 0 for a cluster not seen before. */
  expectedVersion: number;
  outbox: ForwarderOutboxEntry[];
  /** The item's timer: when the tick must look at the cluster next. */
  dueAt: number;
}

/** Someone else changed the cluster's item since it was read: read again and retry. */
export class ForwarderWriteConflict extends Error {
  override readonly name = 'ForwarderWriteConflict';
}

export interface ForwarderStore extends PostStore<ForwarderRef> {
  getForwarder(cluster: string): Promise<StoredForwarder | undefined>;
  /** Creates or updates the cluster's item; throws ForwarderWriteConflict if it changed since read. */
  saveForwarder(write: ForwarderWrite): Promise<void>;
  clearForwarderOutbox(cluster: string, eventIds: readonly string[]): Promise<void>;
  /** Clusters whose timer has come by `now` (silent, or about to be). */
  silenceDue(now: number, limit: number): Promise<Array<{ cluster: string; dueAt: number }>>;
}

interface ForwarderItem {
  state: ForwarderState;
  version: number;
  outbox?: Record<string, Omit<ForwarderOutboxEntry, 'eventId'>>;
  posts?: Record<string, PostRecord>;
  render?: RenderRecord;
}

const DAY_SECONDS = 86_400;

export class DynamoForwarderStore extends DynamoPostStore<ForwarderRef> implements ForwarderStore {
  private readonly retentionSeconds: number;

  constructor(client: DynamoDBClient, options: { tableName: string; retentionDays?: number }) {
    super(client, options.tableName);
    this.retentionSeconds = (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_SECONDS;
  }

  protected keyOf(ref: ForwarderRef): ItemKey {
    return {
      [INCIDENT_TABLE.partitionKey]: forwarderPk(ref.cluster),
      [INCIDENT_TABLE.sortKey]: FORWARDER_SK,
    };
  }

  /**
   * The item's timer is the silence timer: a watchdog message only ever changes with its status
   * (shown at once), so there is no throttled update to note.
   */
  override async markRenderDue(): Promise<void> {}

  override async clearRenderDue(): Promise<void> {}

  async getForwarder(cluster: string): Promise<StoredForwarder | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: this.keyOf({ cluster }), ConsistentRead: true }),
    );
    if (result.Item === undefined) return undefined;
    const item = result.Item as unknown as ForwarderItem;
    return {
      state: item.state,
      version: item.version,
      outbox: Object.entries(item.outbox ?? {}).map(([eventId, entry]) => ({ eventId, ...entry })),
      posts: item.posts ?? {},
      ...(item.render === undefined ? {} : { render: item.render }),
    };
  }

  async saveForwarder(write: ForwarderWrite): Promise<void> {
    const { state } = write;
    const { renderIndex } = INCIDENT_TABLE;
    const version = write.expectedVersion + 1;
    // A cluster that stopped for good is forgotten after the retention period.
    const expiresAt = Math.floor(state.lastHeartbeatAt / 1000) + this.retentionSeconds;
    try {
      if (write.expectedVersion === 0) {
        await this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...this.keyOf(state),
              cluster: state.cluster,
              state,
              version,
              outbox: Object.fromEntries(write.outbox.map(({ eventId, ...entry }) => [eventId, entry])),
              posts: {},
              [renderIndex.partitionKey]: SILENCE_PARTITION,
              [renderIndex.sortKey]: write.dueAt,
              [INCIDENT_TABLE.ttlAttribute]: expiresAt,
            },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
          }),
        );
        return;
      }
      const names: Record<string, string> = {
        '#state': 'state',
        '#version': 'version',
        '#due': renderIndex.partitionKey,
        '#dueAt': renderIndex.sortKey,
        '#expiresAt': INCIDENT_TABLE.ttlAttribute,
        ...(write.outbox.length === 0 ? {} : { '#outbox': 'outbox' }),
      };
      const values: Record<string, unknown> = {
        ':state': state,
        ':version': version,
        ':expected': write.expectedVersion,
        ':due': SILENCE_PARTITION,
        ':dueAt': write.dueAt,
        ':expiresAt': expiresAt,
      };
      const sets = [
        '#state = :state',
        '#version = :version',
        '#due = :due',
        '#dueAt = :dueAt',
        '#expiresAt = :expiresAt',
      ];
      write.outbox.forEach((entry, index) => {
        names[`#e${index}`] = entry.eventId;
        values[`:e${index}`] = {
          detailType: entry.detailType,
          detail: entry.detail,
          writtenAt: entry.writtenAt,
        };
        sets.push(`#outbox.#e${index} = :e${index}`);
      });
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.keyOf(state),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new ForwarderWriteConflict(`${state.cluster} changed since version ${write.expectedVersion}`);
      }
      throw error;
    }
  }

  async clearForwarderOutbox(cluster: string, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const names: Record<string, string> = { '#outbox': 'outbox' };
    const paths = eventIds.map((eventId, index) => {
      names[`#e${index}`] = eventId;
      return `#outbox.#e${index}`;
    });
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.keyOf({ cluster }),
        UpdateExpression: `REMOVE ${paths.join(', ')}`,
        ConditionExpression: 'attribute_exists(#outbox)',
        ExpressionAttributeNames: names,
      }),
    );
  }

  async silenceDue(now: number, limit: number): Promise<Array<{ cluster: string; dueAt: number }>> {
    const due = await this.dueIn(INCIDENT_TABLE.renderIndex, SILENCE_PARTITION, now, limit);
    return due
      .filter(({ pk }) => pk.startsWith(FORWARDER_PREFIX))
      .map(({ pk, dueAt }) => ({ cluster: pk.slice(FORWARDER_PREFIX.length), dueAt }));
  }
}

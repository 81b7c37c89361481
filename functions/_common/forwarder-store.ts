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
import type { ForwarderDetail, WatchdogDetailType } from '#shared/incident-events';
import type { ForwarderState } from '#shared/watchdog';
import { INCIDENT_TABLE, SILENCE_PARTITION } from './incident-table';
import { DynamoPosts, type PostStore } from './post-store';
import { type ItemKey, TableClient, type TableOptions } from './table-client';
import { FORWARDER_SK, clusterOfForwarderPk, forwarderPk } from './table-keys';
import {
  type OutboxEntryOf,
  type StoredVersioned,
  type VersionedItem,
  outboxRemoval,
  saveVersioned,
  storedVersioned,
} from './versioned-item';

export interface ForwarderRef {
  cluster: string;
}

export type ForwarderOutboxEntry = OutboxEntryOf<WatchdogDetailType, ForwarderDetail>;

export interface StoredForwarder extends StoredVersioned<ForwarderOutboxEntry> {
  state: ForwarderState;
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

export interface ForwarderStore {
  getForwarder(cluster: string): Promise<StoredForwarder | undefined>;
  /** Creates or updates the cluster's item; throws ForwarderWriteConflict if it changed since read. */
  saveForwarder(write: ForwarderWrite): Promise<void>;
  clearForwarderOutbox(cluster: string, eventIds: readonly string[]): Promise<void>;
  /** Clusters whose timer has come by `now` (silent, or about to be). */
  silenceDue(now: number, limit: number): Promise<Array<{ cluster: string; dueAt: number }>>;
}

const forwarderKey = (ref: ForwarderRef): ItemKey => ({
  [INCIDENT_TABLE.partitionKey]: forwarderPk(ref.cluster),
  [INCIDENT_TABLE.sortKey]: FORWARDER_SK,
});

interface ForwarderItem extends VersionedItem<ForwarderOutboxEntry> {
  state: ForwarderState;
}

export class DynamoForwarderStore implements ForwarderStore {
  private readonly table: TableClient;
  /** Posts about the cluster, claimed in its item. */
  readonly posts: PostStore<ForwarderRef>;

  constructor(client: DynamoDBClient, options: TableOptions) {
    this.table = new TableClient(client, options);
    this.posts = new DynamoPosts(this.table, { keyOf: forwarderKey, renderTimers: false });
  }

  async getForwarder(cluster: string): Promise<StoredForwarder | undefined> {
    const item = (await this.table.read(forwarderKey({ cluster }))) as ForwarderItem | undefined;
    if (item === undefined) return undefined;
    return { state: item.state, ...storedVersioned(item) };
  }

  async saveForwarder(write: ForwarderWrite): Promise<void> {
    const { state } = write;
    const { renderIndex } = INCIDENT_TABLE;
    const saved = await saveVersioned(this.table.documents, {
      tableName: this.table.tableName,
      key: forwarderKey(state),
      expectedVersion: write.expectedVersion,
      set: {
        cluster: state.cluster,
        state,
        version: write.expectedVersion + 1,
        [renderIndex.partitionKey]: SILENCE_PARTITION,
        [renderIndex.sortKey]: write.dueAt,
        // A cluster that stopped for good is forgotten after the retention period.
        [INCIDENT_TABLE.ttlAttribute]: this.table.expiresAt(state.lastHeartbeatAt),
      },
      outbox: write.outbox,
    });
    if (!saved) {
      throw new ForwarderWriteConflict(`${state.cluster} changed since version ${write.expectedVersion}`);
    }
  }

  async clearForwarderOutbox(cluster: string, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.table.conditional(outboxRemoval(this.table.tableName, forwarderKey({ cluster }), eventIds));
  }

  async silenceDue(now: number, limit: number): Promise<Array<{ cluster: string; dueAt: number }>> {
    const due = await this.table.dueIn(INCIDENT_TABLE.renderIndex, SILENCE_PARTITION, now, limit);
    return due.flatMap(({ pk, dueAt }) => {
      const cluster = clusterOfForwarderPk(pk);
      return cluster === undefined ? [] : [{ cluster, dueAt }];
    });
  }
}

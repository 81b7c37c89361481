/**
 * Posts owed: the sweep that makes a lost event harmless.
 *
 * notify is poked by events, and an event can be lost: a crash between the store and the bus, a
 * dead-lettered record after a long Slack outage, a local-mode outbox cleared early. So the promise
 * of a post is written with the change that makes it due, in the same conditional write of the
 * incident's head: dedupe sets the head's timer in the sparse `renderDue` index under partition
 * `OWED` when it creates an incident and whenever its status changes (resolved, reopened). Until
 * notify has brought Slack in line with that change, the timer stays, and notify's scheduled tick
 * (and local mode's start) comes back for it.
 *
 * - The timer is set atomically with the head, so no crash can leave an incident with neither an
 *   event on its way nor a timer. It is due a grace period after the change, so the tick leaves alone
 *   what the event path is about to do.
 * - notify removes it only after a reconcile that left nothing pending, and only if the head's
 *   version is still the one it read: a change written since keeps the timer (it may owe a new reply).
 * - The query is bounded (`limit`) and reads keys only; each due incident costs one reconcile.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { INCIDENT_TABLE } from './incident-table';
import type { TableClient } from './table-client';
import { decodeDueOwner, generationSk, incidentPk } from './table-keys';

/** The `renderDue` index partition of heads that owe a post. */
export const OWED_PARTITION = 'OWED';
/** How long after a change the tick takes over from the event path. */
export const OWED_GRACE_MS = 20_000;

export interface OwedRef {
  keyId: string;
  generation: number;
  dueAt: number;
}

/** The head attributes that record a post owed for a change at `at` (epoch ms). */
export const owedMarker = (at: number): Record<string, string | number> => ({
  [INCIDENT_TABLE.renderIndex.partitionKey]: OWED_PARTITION,
  [INCIDENT_TABLE.renderIndex.sortKey]: at + OWED_GRACE_MS,
});

/** notify's port for owed posts. */
export interface OwedPosts {
  /** Incidents owing a post whose grace has ended by `now`, oldest first, at most `limit`. */
  owedDue(now: number, limit: number): Promise<OwedRef[]>;
  /** Forgets the debt if the head is still at `version` (a newer change keeps it). */
  settleOwed(ref: { keyId: string; generation: number }, version: number): Promise<boolean>;
}

export class DynamoOwedPosts implements OwedPosts {
  constructor(private readonly table: TableClient) {}

  async owedDue(now: number, limit: number): Promise<OwedRef[]> {
    const due = await this.table.dueIn(INCIDENT_TABLE.renderIndex, OWED_PARTITION, now, limit);
    return due.flatMap(({ pk, sk, dueAt }) => {
      const owner = decodeDueOwner(pk, sk);
      return owner?.kind === 'incident' ? [{ keyId: owner.keyId, generation: owner.generation, dueAt }] : [];
    });
  }

  settleOwed(ref: { keyId: string; generation: number }, version: number): Promise<boolean> {
    const { renderIndex } = INCIDENT_TABLE;
    return this.table.conditional(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: {
          [INCIDENT_TABLE.partitionKey]: incidentPk(ref.keyId),
          [INCIDENT_TABLE.sortKey]: generationSk(ref.generation),
        },
        UpdateExpression: 'REMOVE #due, #at',
        ConditionExpression: '#version = :version AND #due = :owed',
        ExpressionAttributeNames: {
          '#due': renderIndex.partitionKey,
          '#at': renderIndex.sortKey,
          '#version': 'version',
        },
        ExpressionAttributeValues: { ':version': version, ':owed': OWED_PARTITION },
      }),
    );
  }
}

/**
 * Items changed only by conditional writes on their `version` (an incident, a cluster's forwarder),
 * each change writing the events that describe it into the item's `outbox`, where they stay until
 * they are published: a change and its events are one write, whatever crashes after it.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Documents } from './table-client';
import { INCIDENT_TABLE } from './incident-table';
import type { PostRecord, RenderRecord } from './post-store';
import { type ItemKey, conditionally } from './table-client';

/** An event kept in an item's outbox until it is published. */
export interface OutboxEvent {
  eventId: string;
}

/** An outbox entry: one event a change produced. */
export interface OutboxEntryOf<DetailType extends string, Detail> extends OutboxEvent {
  detailType: DetailType;
  detail: Detail;
  /** When the change was written (epoch ms). */
  writtenAt: number;
}

/** How long a writer is given to publish its own outbox entries before others take them as abandoned. */
export const OUTBOX_GRACE_MS = 20_000;

/**
 * Entries a crash left unpublished: written at least a grace period ago (younger ones are still
 * being published by their writer).
 */
export const abandonedEntries = <E extends { writtenAt: number }>(
  outbox: readonly E[],
  now: number,
  graceMs = OUTBOX_GRACE_MS,
): E[] => outbox.filter((entry) => entry.writtenAt <= now - graceMs);

/** The outbox as the item holds it: eventId → the rest of the entry. */
export type StoredOutbox<E extends OutboxEvent> = Record<string, Omit<E, 'eventId'>>;

export const storedOutbox = <E extends OutboxEvent>(entries: readonly E[]): StoredOutbox<E> =>
  Object.fromEntries(entries.map(({ eventId, ...entry }) => [eventId, entry]));

export const outboxEntries = <E extends OutboxEvent>(stored: StoredOutbox<E> | undefined): E[] =>
  Object.entries(stored ?? {}).map(([eventId, entry]) => ({ eventId, ...entry }) as E);

/** The attributes a versioned item with Slack posts has, as stored. */
export interface VersionedItem<E extends OutboxEvent> {
  version: number;
  outbox?: StoredOutbox<E>;
  posts?: Record<string, PostRecord>;
  render?: RenderRecord;
}

/** The same, as its store returns them. */
export interface StoredVersioned<E extends OutboxEvent> {
  version: number;
  outbox: E[];
  posts: Record<string, PostRecord>;
  render?: RenderRecord;
}

export const storedVersioned = <E extends OutboxEvent>(item: VersionedItem<E>): StoredVersioned<E> => ({
  version: item.version,
  outbox: outboxEntries(item.outbox),
  posts: item.posts ?? {},
  ...(item.render === undefined ? {} : { render: item.render }),
});

export interface VersionedWrite {
  tableName: string;
  key: ItemKey;
  /** The version read; 0 for an item not written before. */
  expectedVersion: number;
  /** The attributes the change sets: all of a new item's, besides its key, outbox and posts. */
  set: Record<string, unknown>;
  /** Attributes the change removes (from an existing item). */
  remove?: readonly string[];
  /** The change's events, added to the outbox. */
  outbox: readonly OutboxEvent[];
  /** Events of earlier changes known to be published: removed from the outbox by the same write. */
  published?: readonly string[];
}

const creationOf = (write: VersionedWrite): PutCommand =>
  new PutCommand({
    TableName: write.tableName,
    Item: { ...write.key, ...write.set, outbox: storedOutbox(write.outbox), posts: {} },
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
  });

const updateOf = (write: VersionedWrite): UpdateCommand => {
  const names: Record<string, string> = { '#version': 'version' };
  const values: Record<string, unknown> = { ':expected': write.expectedVersion };
  const sets = Object.entries(write.set).map(([attribute, value], index) => {
    names[`#a${index}`] = attribute;
    values[`:a${index}`] = value;
    return `#a${index} = :a${index}`;
  });
  if (write.outbox.length > 0) names['#outbox'] = 'outbox';
  write.outbox.forEach(({ eventId, ...entry }, index) => {
    names[`#e${index}`] = eventId;
    values[`:e${index}`] = entry;
    sets.push(`#outbox.#e${index} = :e${index}`);
  });
  const removes = (write.remove ?? []).map((attribute, index) => {
    names[`#r${index}`] = attribute;
    return `#r${index}`;
  });
  (write.published ?? []).forEach((eventId, index) => {
    names['#outbox'] = 'outbox';
    names[`#p${index}`] = eventId;
    removes.push(`#outbox.#p${index}`);
  });
  return new UpdateCommand({
    TableName: write.tableName,
    Key: write.key,
    UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: '#version = :expected',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  });
};

/**
 * Creates the item (only if it does not exist; with no posts yet) or updates it (only if its
 * `version` is still the one read). False when that condition failed: someone else changed or
 * created the item since it was read.
 */
export const saveVersioned = (documents: Documents, write: VersionedWrite): Promise<boolean> =>
  conditionally(() =>
    write.expectedVersion === 0 ? documents.send(creationOf(write)) : documents.send(updateOf(write)),
  );

/** The update that forgets published events (only if the item still has an outbox). */
export const outboxRemoval = (
  tableName: string,
  key: ItemKey,
  eventIds: readonly string[],
): UpdateCommand => {
  const names: Record<string, string> = { '#outbox': 'outbox' };
  const paths = eventIds.map((eventId, index) => {
    names[`#e${index}`] = eventId;
    return `#outbox.#e${index}`;
  });
  return new UpdateCommand({
    TableName: tableName,
    Key: key,
    UpdateExpression: `REMOVE ${paths.join(', ')}`,
    ConditionExpression: 'attribute_exists(#outbox)',
    ExpressionAttributeNames: names,
  });
};

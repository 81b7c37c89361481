/**
 * The incident store: one DynamoDB item per incident (see incident-table.ts for the item schema).
 *
 * Exactly-once comes from conditional writes on the table itself (no transactions, no TTL tricks):
 * - dedupe creates an incident only if its item does not exist, and changes it only if its `version`
 *   is still the one it read (optimistic concurrency; a loser re-reads and folds again);
 * - notify claims a Slack post only if nobody holds it (or the holder's lease expired), and records
 *   the result only if it still holds the claim.
 * dedupe writes only the incident's attributes and notify only the Slack ones, so neither
 * overwrites the other.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, type PutCommandInput, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ruleFor } from '#shared/diagnosis/catalogue';
import type { CauseId } from '#shared/diagnosis/causes';
import { type Incident, type IncidentWindows, figuresOf, incidentIdOfIncident } from '#shared/incident';
import type { IncidentDetail, IncidentDetailType } from '#shared/incident-events';
import { workloadRef } from '#shared/incident-key';
import {
  MAX_STORM_MEMBERS,
  type StormBucket,
  type StormHead,
  type StormMember,
  type StormRef,
  stormIdOf,
} from '#shared/incident-storm';
import {
  DUE_PARTITION,
  INCIDENT_TABLE,
  POINTER_SK,
  RENDER_PARTITION,
  containerPk,
  generationSk,
  incidentPk,
  STORM_PREFIX,
  stormBucketSk,
  stormPk,
} from './incident-table';
import {
  DynamoPostStore,
  type ItemKey,
  type PostRecord,
  type PostStore,
  type Projection,
  type RenderRecord,
  conditionally,
  isConditionFailure,
} from './post-store';
import {
  type OutboxEntryOf,
  type StoredVersioned,
  type VersionedItem,
  outboxRemoval,
  saveVersioned,
  storedVersioned,
} from './versioned-item';

// ---------------------------------------------------------------------------------------------
// What the store holds

export type OutboxEntry = OutboxEntryOf<IncidentDetailType, IncidentDetail>;

export type { PostRecord, PostState, PostStore, RenderRecord } from './post-store';

export interface StoredIncident extends StoredVersioned<OutboxEntry> {
  incident: Incident;
  /** The storm bucket the incident joined (notify records it). */
  storm?: StormRef;
  /** That bucket is a storm: notify keeps the incident's entry in it current (see markInStorm). */
  inStorm: boolean;
}

export interface IncidentRef {
  keyId: string;
  generation: number;
}

/** A bucket without its member list, with the one member asked about (if it is one). */
export interface StoredStormHead {
  head: StormHead;
  member?: StormMember;
  /** Every member was told that the bucket is a storm (markInStorm). */
  activated: boolean;
}

/** A storm bucket and its roll-up post. */
export interface StoredStorm {
  bucket: StormBucket;
  /** Every member was told that the bucket is a storm (markInStorm). */
  activated: boolean;
  posts: Record<string, PostRecord>;
  render?: RenderRecord;
}

/** An item that can own Slack posts: an incident, a storm bucket (more kinds may follow). */
export type PostOwnerRef = IncidentRef | StormRef;

export const isStormRef = (ref: PostOwnerRef): ref is StormRef => 'groupId' in ref;

/** An item with a timer in the `renderDue` index: a throttled update, or a held first post. */
export type RenderDueRef = PostOwnerRef & { dueAt: number };

/** One container of one pod, across incidents (a pod UID is unique within its cluster). */
export interface ContainerRef {
  cluster: string;
  namespace: string;
  podUid: string;
  container: string;
}

/**
 * Which incident key a container's newest failure belongs to, so that when its cause changes the
 * incident it leaves is told (otherwise that incident would wait forever for a recovery).
 */
export interface ContainerPointer {
  keyId: string;
  cause: CauseId;
  incidentId: string;
  /** observedAt of the failure that set the pointer. */
  at: number;
  /** The key the container failed under before; kept so that a retry can still tell it. */
  movedFrom?: string;
}

/** What the stored pointer must be for a pointer write to go ahead. */
export type PointerExpectation =
  /** The one read: none (`at` undefined), or the one set by the failure at `at`. */
  | { kind: 'read'; at: number | undefined }
  /**
   * None, or one on the same key set by an older failure: the usual step, taken without reading
   * first (whatever else is stored needs the read-and-compare path).
   */
  | { kind: 'advance' };

export interface IncidentWrite extends IncidentRef {
  /** The version read; 0 when the incident is new. */
  expectedVersion: number;
  incident: Incident;
  /** Events that describe this change, kept until published. */
  outbox: OutboxEntry[];
  /** Events of earlier changes known to be published, forgotten by this write. */
  published?: readonly string[];
}

/** Someone else changed (or created) the incident since it was read: read again and retry. */
export class IncidentWriteConflict extends Error {
  override readonly name = 'IncidentWriteConflict';
}

export interface IncidentStore extends PostStore<PostOwnerRef> {
  /** The key's latest incidents (at most two), newest first, read consistently. */
  loadKey(keyId: string): Promise<StoredIncident[]>;
  /** Creates or updates an incident; throws IncidentWriteConflict if it changed since it was read. */
  saveIncident(write: IncidentWrite): Promise<void>;
  /** Forgets outbox entries once they are published. */
  clearOutbox(ref: IncidentRef, eventIds: readonly string[]): Promise<void>;
  /** Incidents whose quiet period has ended by `now` (they may resolve). */
  dueForResolution(now: number, limit: number): Promise<IncidentRef[]>;
  getIncident(ref: IncidentRef): Promise<StoredIncident | undefined>;
  /** Incidents and storms whose timer (throttled update, held post) is due by `now`, with the time seen. */
  renderDue(now: number, limit: number): Promise<RenderDueRef[]>;
  /** Records which storm bucket an incident joined. */
  setIncidentStorm(ref: IncidentRef, storm: StormRef): Promise<void>;
  /**
   * Tells an incident that its bucket is a storm. Until then notify leaves the bucket alone on the
   * incident's updates (a bucket that never becomes a storm costs no read or write per update).
   */
  markInStorm(ref: IncidentRef): Promise<void>;
  /** Records that every member of the bucket was told it is a storm. */
  markStormActivated(ref: StormRef): Promise<void>;
  /** A group's latest buckets without their member lists (but `incidentId`'s entry), newest first. */
  latestStormHeads(groupId: string, limit: number, incidentId: string): Promise<StoredStormHead[]>;
  /** A bucket without its member list (but `incidentId`'s entry). */
  getStormHead(ref: StormRef, incidentId: string): Promise<StoredStormHead | undefined>;
  getStorm(ref: StormRef): Promise<StoredStorm | undefined>;
  /** Creates a bucket (with its first member) unless the group already has one with its `seq`. */
  createStorm(bucket: StormBucket): Promise<boolean>;
  /**
   * Adds a member to the bucket `seen` if it is not one yet and the bucket still takes members at
   * `now` (see shared/incident-storm.ts `acceptsJoins`); returns the bucket's head after the join
   * (its counts as the join left them), or undefined.
   */
  joinStorm(seen: StoredStormHead, member: StormMember, now: number): Promise<StoredStormHead | undefined>;
  /** Replaces a member's entry if `member` reflects a newer incident version; false if not. */
  updateStormMember(ref: StormRef, member: StormMember): Promise<boolean>;
  getContainerPointer(ref: ContainerRef): Promise<ContainerPointer | undefined>;
  /** Writes the pointer if the stored one is still as `expected`; false if not. */
  putContainerPointer(
    ref: ContainerRef,
    pointer: ContainerPointer,
    expected: PointerExpectation,
  ): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

export interface DynamoIncidentStoreOptions {
  tableName: string;
  windows: IncidentWindows;
  retentionDays?: number;
}

interface IncidentItem extends VersionedItem<OutboxEntry> {
  incident: Incident;
  storm?: StormRef;
  inStorm?: boolean;
}

const fromItem = (item: Record<string, unknown>): StoredIncident => {
  const typed = item as unknown as IncidentItem;
  return {
    incident: typed.incident,
    ...storedVersioned(typed),
    ...(typed.storm === undefined ? {} : { storm: { groupId: typed.storm.groupId, seq: typed.storm.seq } }),
    inStorm: typed.inStorm === true,
  };
};

/** The attributes of a storm bucket item that are not the domain's StormBucket. */
const STORM_ITEM_ONLY = new Set([
  INCIDENT_TABLE.partitionKey,
  INCIDENT_TABLE.sortKey,
  INCIDENT_TABLE.ttlAttribute,
  INCIDENT_TABLE.renderIndex.partitionKey,
  INCIDENT_TABLE.renderIndex.sortKey,
  'posts',
  'render',
  'activated',
  'openUntil',
  'stormUntil',
  'cluster',
  'cause',
]);

/** The attributes of a bucket item that make its head (see StormHead), as a projection. */
const STORM_HEAD_ATTRIBUTES = [
  'ref',
  'stormId',
  'group',
  'title',
  'registryName',
  'explanation',
  'docs',
  'threshold',
  'windowMs',
  'openedAt',
  'decideAt',
  'lastJoinAt',
  'memberCount',
  'version',
  'activated',
] as const;

/** Reads a bucket's head and one member's entry, whatever else the item holds. */
const headProjection = (incidentId: string): Projection => ({
  ProjectionExpression: [...STORM_HEAD_ATTRIBUTES.map((_, index) => `#h${index}`), '#members.#id'].join(', '),
  ExpressionAttributeNames: {
    ...Object.fromEntries(STORM_HEAD_ATTRIBUTES.map((attribute, index) => [`#h${index}`, attribute])),
    '#members': 'members',
    '#id': incidentId,
  },
});

const fromStormHeadItem = (item: Record<string, unknown>, incidentId: string): StoredStormHead => {
  const { members, activated, ...head } = item as unknown as StormHead & {
    members?: Record<string, StormMember>;
    activated?: boolean;
  };
  const member = members?.[incidentId];
  return { head, ...(member === undefined ? {} : { member }), activated: activated === true };
};

const fromStormItem = (item: Record<string, unknown>): StoredStorm => {
  const bucket = Object.fromEntries(
    Object.entries(item).filter(([attribute]) => !STORM_ITEM_ONLY.has(attribute)),
  ) as unknown as StormBucket;
  return {
    bucket: { ...bucket, members: bucket.members ?? {} },
    activated: item.activated === true,
    posts: (item.posts as Record<string, PostRecord> | undefined) ?? {},
    ...(item.render === undefined ? {} : { render: item.render as RenderRecord }),
  };
};

export class DynamoIncidentStore extends DynamoPostStore<PostOwnerRef> implements IncidentStore {
  private readonly windows: IncidentWindows;

  constructor(client: DynamoDBClient, options: DynamoIncidentStoreOptions) {
    super(client, options.tableName, options.retentionDays);
    this.windows = options.windows;
  }

  protected keyOf(ref: PostOwnerRef): ItemKey {
    return isStormRef(ref) ? this.stormKey(ref) : this.key(ref);
  }

  private key(ref: IncidentRef): ItemKey {
    return {
      [INCIDENT_TABLE.partitionKey]: incidentPk(ref.keyId),
      [INCIDENT_TABLE.sortKey]: generationSk(ref.generation),
    };
  }

  private stormKey(ref: StormRef): ItemKey {
    return {
      [INCIDENT_TABLE.partitionKey]: stormPk(ref.groupId),
      [INCIDENT_TABLE.sortKey]: stormBucketSk(ref.seq),
    };
  }

  /** The last `limit` items of a partition (by sort key), read consistently. */
  private async newestOf(
    pk: string,
    limit: number,
    projection?: Projection,
  ): Promise<Array<Record<string, unknown>>> {
    const result = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ...(projection === undefined ? {} : { ProjectionExpression: projection.ProjectionExpression }),
        ExpressionAttributeNames: {
          '#pk': INCIDENT_TABLE.partitionKey,
          ...projection?.ExpressionAttributeNames,
        },
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return result.Items ?? [];
  }

  async loadKey(keyId: string): Promise<StoredIncident[]> {
    return (await this.newestOf(incidentPk(keyId), 2)).map(fromItem);
  }

  async getIncident(ref: IncidentRef): Promise<StoredIncident | undefined> {
    const item = await this.read(this.key(ref));
    return item === undefined ? undefined : fromItem(item);
  }

  /** The attributes derived from the incident: the summary, the index keys, the due time and the TTL. */
  private derived(incident: Incident, version: number) {
    const figures = figuresOf(incident, this.windows);
    const incidentId = incidentIdOfIncident(incident);
    const { key } = incident;
    const firstSeen = new Date(figures.firstSeen ?? 0).toISOString();
    const sortKey = `${firstSeen}#${incidentId}`;
    const verdict = incident.latest?.verdict;
    const resolved = incident.status === 'resolved' && incident.resolvedAt !== undefined;
    const due = incident.status === 'open' ? figures.resolveAt : undefined;
    const set: Record<string, unknown> = {
      incidentId,
      keyId: incident.keyId,
      generation: incident.generation,
      version,
      incident,
      status: incident.status,
      cluster: key.cluster,
      namespace: key.namespace,
      workload: workloadRef(key.workload),
      container: key.container,
      image: key.image,
      cause: key.cause,
      title: verdict?.title ?? ruleFor(key.cause).title,
      registry: verdict?.registry.host ?? '',
      firstSeen,
      lastSeen: new Date(figures.lastSeen ?? figures.firstSeen ?? 0).toISOString(),
      occurrences: figures.occurrences,
      affectedPods: figures.affectedPods,
      failingContainers: figures.failingContainers,
      reopenCount: incident.reopenCount,
      gsi1pk: `CLUSTER#${key.cluster}`,
      gsi1sk: sortKey,
      gsi2pk: `CAUSE#${key.cause}`,
      gsi2sk: sortKey,
      gsi3pk: `WORKLOAD#${JSON.stringify([key.cluster, key.namespace, key.workload.kind, key.workload.name])}`,
      gsi3sk: sortKey,
    };
    const remove: string[] = [];
    if (resolved) {
      set.resolvedAt = new Date(incident.resolvedAt!).toISOString();
      set[INCIDENT_TABLE.ttlAttribute] = this.expiresAt(incident.resolvedAt!);
    } else {
      remove.push('resolvedAt', INCIDENT_TABLE.ttlAttribute);
    }
    if (due !== undefined) {
      set[INCIDENT_TABLE.dueIndex.partitionKey] = DUE_PARTITION;
      set[INCIDENT_TABLE.dueIndex.sortKey] = due;
    } else {
      remove.push(INCIDENT_TABLE.dueIndex.partitionKey, INCIDENT_TABLE.dueIndex.sortKey);
    }
    return { set, remove };
  }

  async saveIncident(write: IncidentWrite): Promise<void> {
    const saved = await saveVersioned(this.documents, {
      tableName: this.tableName,
      key: this.key(write),
      expectedVersion: write.expectedVersion,
      ...this.derived(write.incident, write.expectedVersion + 1),
      outbox: write.outbox,
      ...(write.published === undefined ? {} : { published: write.published }),
    });
    if (!saved) {
      throw new IncidentWriteConflict(
        `incident ${incidentIdOfIncident(write.incident)} changed since version ${write.expectedVersion}`,
      );
    }
  }

  async clearOutbox(ref: IncidentRef, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.documents.send(outboxRemoval(this.tableName, this.key(ref), eventIds));
  }

  async dueForResolution(now: number, limit: number): Promise<IncidentRef[]> {
    const due = await this.dueIn(INCIDENT_TABLE.dueIndex, DUE_PARTITION, now, limit);
    return due.map(({ pk, sk }) => ({
      keyId: pk.slice('INCIDENT#'.length),
      generation: Number(sk.slice('GEN#'.length)),
    }));
  }

  async renderDue(now: number, limit: number): Promise<RenderDueRef[]> {
    const due = await this.dueIn(INCIDENT_TABLE.renderIndex, RENDER_PARTITION, now, limit);
    return due.map(({ pk, sk, dueAt }): RenderDueRef =>
      pk.startsWith(STORM_PREFIX)
        ? { groupId: pk.slice(STORM_PREFIX.length), seq: Number(sk.slice('BUCKET#'.length)), dueAt }
        : { keyId: pk.slice('INCIDENT#'.length), generation: Number(sk.slice('GEN#'.length)), dueAt },
    );
  }

  async setIncidentStorm(ref: IncidentRef, storm: StormRef): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
        UpdateExpression: 'SET #storm = :storm',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#storm': 'storm', '#pk': INCIDENT_TABLE.partitionKey },
        ExpressionAttributeValues: { ':storm': { groupId: storm.groupId, seq: storm.seq } },
      }),
    );
  }

  async markInStorm(ref: IncidentRef): Promise<void> {
    await this.setFlag(this.key(ref), 'inStorm');
  }

  async markStormActivated(ref: StormRef): Promise<void> {
    await this.setFlag(this.stormKey(ref), 'activated');
  }

  /** Sets a boolean attribute of an existing item (never cleared). */
  private setFlag(key: ItemKey, attribute: string): Promise<boolean> {
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

  async latestStormHeads(groupId: string, limit: number, incidentId: string): Promise<StoredStormHead[]> {
    const items = await this.newestOf(stormPk(groupId), limit, headProjection(incidentId));
    return items.map((item) => fromStormHeadItem(item, incidentId));
  }

  async getStormHead(ref: StormRef, incidentId: string): Promise<StoredStormHead | undefined> {
    const item = await this.read(this.stormKey(ref), headProjection(incidentId));
    return item === undefined ? undefined : fromStormHeadItem(item, incidentId);
  }

  async getStorm(ref: StormRef): Promise<StoredStorm | undefined> {
    const item = await this.read(this.stormKey(ref));
    return item === undefined ? undefined : fromStormItem(item);
  }

  createStorm(bucket: StormBucket): Promise<boolean> {
    return conditionally(() =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.stormKey(bucket.ref),
            ...bucket,
            stormId: stormIdOf(bucket.ref),
            cluster: bucket.group.cluster,
            cause: bucket.group.cause,
            // The join condition's deadlines (see shared/incident-storm.ts `joinsUntil`).
            openUntil: bucket.openedAt + bucket.windowMs,
            stormUntil: bucket.lastJoinAt + bucket.windowMs,
            posts: {},
            [INCIDENT_TABLE.ttlAttribute]: this.expiresAt(bucket.openedAt),
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
        }),
      ),
    );
  }

  async joinStorm(
    seen: StoredStormHead,
    member: StormMember,
    now: number,
  ): Promise<StoredStormHead | undefined> {
    const { ref, windowMs } = seen.head;
    try {
      const result = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.stormKey(ref),
          UpdateExpression:
            'SET #members.#id = :member, #lastJoinAt = :now, #stormUntil = :until, ' +
            '#count = #count + :one, #version = #version + :one',
          ConditionExpression:
            'attribute_exists(#members) AND attribute_not_exists(#members.#id) AND #count < :max AND ' +
            '((#count < #threshold AND #openUntil >= :now) OR (#count >= #threshold AND #stormUntil >= :now))',
          ExpressionAttributeNames: {
            '#members': 'members',
            '#id': member.incidentId,
            '#lastJoinAt': 'lastJoinAt',
            '#stormUntil': 'stormUntil',
            '#openUntil': 'openUntil',
            '#count': 'memberCount',
            '#threshold': 'threshold',
            '#version': 'version',
          },
          ExpressionAttributeValues: {
            ':member': { ...member, joinedAt: now },
            ':now': now,
            ':until': now + windowMs,
            ':one': 1,
            ':max': MAX_STORM_MEMBERS,
          },
          // Only what the join changed: the member list of a big storm is not sent back each time.
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const after = result.Attributes as
        Pick<StormHead, 'lastJoinAt' | 'memberCount' | 'version'> | undefined;
      if (after === undefined) return undefined;
      const { lastJoinAt, memberCount, version } = after;
      return {
        head: { ...seen.head, lastJoinAt, memberCount, version },
        member: { ...member, joinedAt: now },
        activated: seen.activated,
      };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  updateStormMember(ref: StormRef, member: StormMember): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.stormKey(ref),
        UpdateExpression:
          'SET #members.#id.#status = :status, #members.#id.#failing = :failing, ' +
          '#members.#id.#pods = :pods, #members.#id.#memberVersion = :memberVersion, #version = #version + :one',
        ConditionExpression: '#members.#id.#memberVersion < :memberVersion',
        ExpressionAttributeNames: {
          '#members': 'members',
          '#id': member.incidentId,
          '#status': 'status',
          '#failing': 'failingContainers',
          '#pods': 'affectedPods',
          '#memberVersion': 'version',
          '#version': 'version',
        },
        ExpressionAttributeValues: {
          ':status': member.status,
          ':failing': member.failingContainers,
          ':pods': member.affectedPods,
          ':memberVersion': member.version,
          ':one': 1,
        },
      }),
    );
  }

  private pointerKey(ref: ContainerRef) {
    return {
      [INCIDENT_TABLE.partitionKey]: containerPk(ref.cluster, ref.namespace, ref.podUid, ref.container),
      [INCIDENT_TABLE.sortKey]: POINTER_SK,
    };
  }

  async getContainerPointer(ref: ContainerRef): Promise<ContainerPointer | undefined> {
    const item = (await this.read(this.pointerKey(ref))) as
      (ContainerPointer & Record<string, unknown>) | undefined;
    if (item === undefined) return undefined;
    return {
      keyId: item.keyId,
      cause: item.cause,
      incidentId: item.incidentId,
      at: item.at,
      ...(item.movedFrom === undefined ? {} : { movedFrom: item.movedFrom }),
    };
  }

  putContainerPointer(
    ref: ContainerRef,
    pointer: ContainerPointer,
    expected: PointerExpectation,
  ): Promise<boolean> {
    const absent = 'attribute_not_exists(#pk)';
    const condition: Pick<
      PutCommandInput,
      'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    > =
      expected.kind === 'advance'
        ? {
            ConditionExpression: `${absent} OR (#keyId = :keyId AND #at < :at)`,
            ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey, '#keyId': 'keyId', '#at': 'at' },
            ExpressionAttributeValues: { ':keyId': pointer.keyId, ':at': pointer.at },
          }
        : expected.at === undefined
          ? { ConditionExpression: absent, ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey } }
          : {
              ConditionExpression: '#at = :expectedAt',
              ExpressionAttributeNames: { '#at': 'at' },
              ExpressionAttributeValues: { ':expectedAt': expected.at },
            };
    return conditionally(() =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.pointerKey(ref),
            ...pointer,
            [INCIDENT_TABLE.ttlAttribute]: this.expiresAt(pointer.at),
          },
          ...condition,
        }),
      ),
    );
  }
}

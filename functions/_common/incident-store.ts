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
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ruleFor } from '#shared/diagnosis/catalogue';
import type { CauseId } from '#shared/diagnosis/causes';
import { type Incident, type IncidentWindows, figuresOf, incidentIdOfIncident } from '#shared/incident';
import type { IncidentDetail, IncidentDetailType } from '#shared/incident-events';
import { workloadRef } from '#shared/incident-key';
import {
  DEFAULT_RETENTION_DAYS,
  DUE_PARTITION,
  INCIDENT_TABLE,
  POINTER_SK,
  RENDER_PARTITION,
  containerPk,
  generationSk,
  incidentPk,
} from './incident-table';

// ---------------------------------------------------------------------------------------------
// What the store holds

export interface OutboxEntry {
  eventId: string;
  detailType: IncidentDetailType;
  detail: IncidentDetail;
  /** When the change was written (epoch ms). */
  writtenAt: number;
}

export type PostState = 'claimed' | 'posted' | 'failed' | 'uncertain';

/** One Slack post of an incident (the top-level message, or a thread reply), claimed before it is sent. */
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
  ts?: string;
  /** The channel id Slack answered with. */
  channelId?: string;
  error?: string;
}

/** What the top-level message last showed, for the chat.update throttle. */
export interface RenderRecord {
  version: number;
  status: string;
  at: number;
}

export interface StoredIncident {
  incident: Incident;
  version: number;
  outbox: OutboxEntry[];
  posts: Record<string, PostRecord>;
  render?: RenderRecord;
}

export interface IncidentRef {
  keyId: string;
  generation: number;
}

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

export interface IncidentWrite extends IncidentRef {
  /** The version read; 0 when the incident is new. */
  expectedVersion: number;
  incident: Incident;
  /** Events that describe this change, kept until published. */
  outbox: OutboxEntry[];
}

/** Someone else changed (or created) the incident since it was read: read again and retry. */
export class IncidentWriteConflict extends Error {
  override readonly name = 'IncidentWriteConflict';
}

export interface IncidentStore {
  /** The key's latest incidents (at most two), newest first, read consistently. */
  loadKey(keyId: string): Promise<StoredIncident[]>;
  /** Creates or updates an incident; throws IncidentWriteConflict if it changed since it was read. */
  saveIncident(write: IncidentWrite): Promise<void>;
  /** Forgets outbox entries once they are published. */
  clearOutbox(ref: IncidentRef, eventIds: readonly string[]): Promise<void>;
  /** Incidents whose quiet period has ended by `now` (they may resolve). */
  dueForResolution(now: number, limit: number): Promise<IncidentRef[]>;
  getIncident(ref: IncidentRef): Promise<StoredIncident | undefined>;
  /**
   * Claims a post: only if nobody has (no `replacing`), or only if the claim is still the one with
   * token `replacing` (taking over an expired claim). False if someone else got there first.
   */
  claimPost(ref: IncidentRef, postId: string, claim: PostRecord, replacing?: string): Promise<boolean>;
  /** Records the posted message (and what it shows) if the claim is still `token`'s. */
  completePost(
    ref: IncidentRef,
    postId: string,
    token: string,
    posted: { ts: string; channelId: string },
    render?: RenderRecord,
  ): Promise<boolean>;
  /** Gives the claim up (the post certainly did not happen). */
  releasePost(ref: IncidentRef, postId: string, token: string): Promise<void>;
  /** Marks the claim failed (permanently) or uncertain (sent, outcome unknown). */
  markPost(
    ref: IncidentRef,
    postId: string,
    token: string,
    state: 'failed' | 'uncertain',
    error: string,
  ): Promise<void>;
  /** Takes the chat.update slot if the last render is still `previousAt` (undefined: none yet). */
  claimRender(ref: IncidentRef, next: RenderRecord, previousAt: number | undefined): Promise<boolean>;
  /** Notes that a throttled chat.update may run at `dueAt`. */
  markRenderDue(ref: IncidentRef, dueAt: number): Promise<void>;
  /** Forgets the note if it is still the one seen (a newer note stays). */
  clearRenderDue(ref: IncidentRef, seenDueAt: number): Promise<void>;
  /** Incidents with a throttled update due by `now`, with the due time seen. */
  renderDue(now: number, limit: number): Promise<Array<IncidentRef & { dueAt: number }>>;
  getContainerPointer(ref: ContainerRef): Promise<ContainerPointer | undefined>;
  /** Writes the pointer if it is still the one read (`expectedAt`; undefined: none). */
  putContainerPointer(
    ref: ContainerRef,
    pointer: ContainerPointer,
    expectedAt: number | undefined,
  ): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

export interface DynamoIncidentStoreOptions {
  tableName: string;
  windows: IncidentWindows;
  retentionDays?: number;
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error instanceof Error && error.name === 'ConditionalCheckFailedException');

interface IncidentItem {
  incident: Incident;
  version: number;
  outbox?: Record<string, Omit<OutboxEntry, 'eventId'>>;
  posts?: Record<string, PostRecord>;
  render?: RenderRecord;
}

const fromItem = (item: Record<string, unknown>): StoredIncident => {
  const typed = item as unknown as IncidentItem;
  return {
    incident: typed.incident,
    version: typed.version,
    outbox: Object.entries(typed.outbox ?? {}).map(([eventId, entry]) => ({ eventId, ...entry })),
    posts: typed.posts ?? {},
    ...(typed.render === undefined ? {} : { render: typed.render }),
  };
};

const DAY_SECONDS = 86_400;

export class DynamoIncidentStore implements IncidentStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly windows: IncidentWindows;
  private readonly retentionSeconds: number;

  constructor(client: DynamoDBClient, options: DynamoIncidentStoreOptions) {
    this.documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.tableName = options.tableName;
    this.windows = options.windows;
    this.retentionSeconds = (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_SECONDS;
  }

  private key(ref: IncidentRef) {
    return {
      [INCIDENT_TABLE.partitionKey]: incidentPk(ref.keyId),
      [INCIDENT_TABLE.sortKey]: generationSk(ref.generation),
    };
  }

  async loadKey(keyId: string): Promise<StoredIncident[]> {
    const result = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
        ExpressionAttributeValues: { ':pk': incidentPk(keyId) },
        ScanIndexForward: false,
        Limit: 2,
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map(fromItem);
  }

  async getIncident(ref: IncidentRef): Promise<StoredIncident | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(ref), ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : fromItem(result.Item);
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
      set[INCIDENT_TABLE.ttlAttribute] = Math.floor(incident.resolvedAt! / 1000) + this.retentionSeconds;
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
    const version = write.expectedVersion + 1;
    const { set, remove } = this.derived(write.incident, version);
    const outbox = Object.fromEntries(write.outbox.map(({ eventId, ...entry }) => [eventId, entry]));
    try {
      if (write.expectedVersion === 0) {
        await this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...this.key(write), ...set, outbox, posts: {} },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
          }),
        );
        return;
      }
      const names: Record<string, string> = { '#version': 'version' };
      const values: Record<string, unknown> = { ':expected': write.expectedVersion };
      const sets: string[] = [];
      Object.entries(set).forEach(([attribute, value], index) => {
        names[`#a${index}`] = attribute;
        values[`:a${index}`] = value;
        sets.push(`#a${index} = :a${index}`);
      });
      names['#outbox'] = 'outbox';
      write.outbox.forEach((entry, index) => {
        names[`#e${index}`] = entry.eventId;
        values[`:e${index}`] = {
          detailType: entry.detailType,
          detail: entry.detail,
          writtenAt: entry.writtenAt,
        };
        sets.push(`#outbox.#e${index} = :e${index}`);
      });
      const removes = remove.map((attribute, index) => {
        names[`#r${index}`] = attribute;
        return `#r${index}`;
      });
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(write),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new IncidentWriteConflict(
          `incident ${incidentIdOfIncident(write.incident)} changed since version ${write.expectedVersion}`,
        );
      }
      throw error;
    }
  }

  async clearOutbox(ref: IncidentRef, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const names: Record<string, string> = { '#outbox': 'outbox' };
    const paths = eventIds.map((eventId, index) => {
      names[`#e${index}`] = eventId;
      return `#outbox.#e${index}`;
    });
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
        UpdateExpression: `REMOVE ${paths.join(', ')}`,
        ConditionExpression: 'attribute_exists(#outbox)',
        ExpressionAttributeNames: names,
      }),
    );
  }

  /** Items of a sparse index whose due time has come. */
  private async dueIn(
    index: { name: string; partitionKey: string; sortKey: string },
    partition: string,
    now: number,
    limit: number,
  ): Promise<Array<IncidentRef & { dueAt: number }>> {
    const refs: Array<IncidentRef & { dueAt: number }> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index.name,
          KeyConditionExpression: '#due = :due AND #at <= :now',
          ExpressionAttributeNames: { '#due': index.partitionKey, '#at': index.sortKey },
          ExpressionAttributeValues: { ':due': partition, ':now': now },
          Limit: Math.min(100, limit - refs.length),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const pk = String(item[INCIDENT_TABLE.partitionKey]);
        const sk = String(item[INCIDENT_TABLE.sortKey]);
        refs.push({
          keyId: pk.slice('INCIDENT#'.length),
          generation: Number(sk.slice('GEN#'.length)),
          dueAt: Number(item[index.sortKey]),
        });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined && refs.length < limit);
    return refs;
  }

  async dueForResolution(now: number, limit: number): Promise<IncidentRef[]> {
    const due = await this.dueIn(INCIDENT_TABLE.dueIndex, DUE_PARTITION, now, limit);
    return due.map(({ keyId, generation }) => ({ keyId, generation }));
  }

  renderDue(now: number, limit: number): Promise<Array<IncidentRef & { dueAt: number }>> {
    return this.dueIn(INCIDENT_TABLE.renderIndex, RENDER_PARTITION, now, limit);
  }

  async markRenderDue(ref: IncidentRef, dueAt: number): Promise<void> {
    const { renderIndex } = INCIDENT_TABLE;
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
        UpdateExpression: 'SET #pk2 = :partition, #at = :dueAt',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: {
          '#pk': INCIDENT_TABLE.partitionKey,
          '#pk2': renderIndex.partitionKey,
          '#at': renderIndex.sortKey,
        },
        ExpressionAttributeValues: { ':partition': RENDER_PARTITION, ':dueAt': dueAt },
      }),
    );
  }

  async clearRenderDue(ref: IncidentRef, seenDueAt: number): Promise<void> {
    const { renderIndex } = INCIDENT_TABLE;
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
        UpdateExpression: 'REMOVE #pk2, #at',
        ConditionExpression: '#at = :seen',
        ExpressionAttributeNames: { '#pk2': renderIndex.partitionKey, '#at': renderIndex.sortKey },
        ExpressionAttributeValues: { ':seen': seenDueAt },
      }),
    );
  }

  private async conditional(command: UpdateCommand): Promise<boolean> {
    try {
      await this.documents.send(command);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  claimPost(ref: IncidentRef, postId: string, claim: PostRecord, replacing?: string): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
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
    ref: IncidentRef,
    postId: string,
    token: string,
    posted: { ts: string; channelId: string },
    render?: RenderRecord,
  ): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
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

  async releasePost(ref: IncidentRef, postId: string, token: string): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
        UpdateExpression: 'REMOVE #posts.#post',
        ConditionExpression: '#posts.#post.#token = :token',
        ExpressionAttributeNames: { '#posts': 'posts', '#post': postId, '#token': 'token' },
        ExpressionAttributeValues: { ':token': token },
      }),
    );
  }

  async markPost(
    ref: IncidentRef,
    postId: string,
    token: string,
    state: 'failed' | 'uncertain',
    error: string,
  ): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
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

  claimRender(ref: IncidentRef, next: RenderRecord, previousAt: number | undefined): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(ref),
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

  private pointerKey(ref: ContainerRef) {
    return {
      [INCIDENT_TABLE.partitionKey]: containerPk(ref.cluster, ref.namespace, ref.podUid, ref.container),
      [INCIDENT_TABLE.sortKey]: POINTER_SK,
    };
  }

  async getContainerPointer(ref: ContainerRef): Promise<ContainerPointer | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: this.pointerKey(ref), ConsistentRead: true }),
    );
    const item = result.Item as (ContainerPointer & Record<string, unknown>) | undefined;
    if (item === undefined) return undefined;
    return {
      keyId: item.keyId,
      cause: item.cause,
      incidentId: item.incidentId,
      at: item.at,
      ...(item.movedFrom === undefined ? {} : { movedFrom: item.movedFrom }),
    };
  }

  async putContainerPointer(
    ref: ContainerRef,
    pointer: ContainerPointer,
    expectedAt: number | undefined,
  ): Promise<boolean> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.pointerKey(ref),
            ...pointer,
            [INCIDENT_TABLE.ttlAttribute]: Math.floor(pointer.at / 1000) + this.retentionSeconds,
          },
          ConditionExpression: expectedAt === undefined ? 'attribute_not_exists(#pk)' : '#at = :expectedAt',
          ExpressionAttributeNames:
            expectedAt === undefined ? { '#pk': INCIDENT_TABLE.partitionKey } : { '#at': 'at' },
          ...(expectedAt === undefined ? {} : { ExpressionAttributeValues: { ':expectedAt': expectedAt } }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

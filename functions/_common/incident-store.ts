/**
 * The incident store: per incident a head, a row per container and a Slack item (see
 * incident-table.ts for the item schema).
 *
 * Exact counts without transactions: the head holds the incident's tally and, in `journal`, the
 * container registers its last write changed. A writer first copies the journal it read to the
 * rows (conditional on each row's `headVersion`, so a late copy never undoes a newer one), then
 * writes the head with its own journal, conditional on the version read. So every journal but the
 * head's current one is in the rows, a register is the row overlaid with the journal, and a crash
 * between the two writes loses nothing: the next writer copies the journal.
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
import { PutCommand, type PutCommandInput, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ruleFor } from '#shared/diagnosis/catalogue';
import type { CauseId } from '#shared/diagnosis/causes';
import {
  type Incident,
  type IncidentChange,
  type IncidentWindows,
  type LatestFailure,
  type TrackedContainer,
  figuresOf,
  incidentIdOfIncident,
} from '#shared/incident';
import type { IncidentDetailType } from '#shared/incident-events';
import { workloadRef } from '#shared/incident-key';
import type { StormRef } from '#shared/incident-storm';
import {
  type CompactRegister,
  type StoredJournal,
  compactRegisters,
  journalRegisters,
  readAllRegisters,
  registerOf,
} from './container-rows';
import {
  type LatestText,
  type StoredHead,
  type StoredLatest,
  splitLatest,
  withLatestText,
} from './latest-text';
import { DynamoOwedPosts, type OwedPosts, owedMarker } from './owed-posts';
import { DUE_PARTITION, INCIDENT_TABLE, ITEM_SCHEMA_VERSION, RENDER_PARTITION } from './incident-table';
import {
  POINTER_SK,
  causePartition,
  clusterPartition,
  containerIdOfRowSk,
  containerPk,
  decodeDueOwner,
  generationSk,
  historySortKey,
  incidentPk,
  isIncidentHeadSk,
  postsPk,
  postsSk,
  rowShardOf,
  rowSk,
  rowsPk,
  textPk,
  textSk,
  workloadPartition,
} from './table-keys';
import { DynamoPosts, type PostRecord, type PostStore, type RenderRecord } from './post-store';
import { DynamoStorms, type Storms, stormKey } from './storm-store';
import { type ItemKey, TableClient, type TableOptions, conditionally } from './table-client';
import {
  type OutboxEvent,
  type StoredVersioned,
  type VersionedItem,
  outboxRemoval,
  saveVersioned,
  storedVersioned,
} from './versioned-item';

// ---------------------------------------------------------------------------------------------
// What the store holds

/**
 * An incident event kept until published: only what it is (its change and version), since the
 * detail is the incident itself, built when the event is published (so the head stays small).
 */
export interface OutboxEntry extends OutboxEvent {
  detailType: IncidentDetailType;
  change: IncidentChange;
  /** The version the change wrote. */
  version: number;
  /** When the change was written (epoch ms). */
  writtenAt: number;
}

export type { PostRecord, PostState, PostStore, RenderRecord } from './post-store';
export type { StoredStorm, StoredStormHead, Storms } from './storm-store';

/** The container registers an incident's last write changed, not yet known to be in their rows. */
export interface Journal {
  /** The head version that wrote them. */
  version: number;
  registers: Record<string, TrackedContainer>;
}

export interface StoredIncident extends StoredVersioned<OutboxEntry> {
  /** With the registers of the containers asked for (loadKey), or none (getIncident). */
  incident: Incident;
  journal: Journal;
  /** The storm bucket the incident joined (notify records it). */
  storm?: StormRef;
  /** That bucket is a storm: notify keeps the incident's entry in it current (see markInStorm). */
  inStorm: boolean;
}

export interface IncidentRef {
  keyId: string;
  generation: number;
}

/** An incident's head as written (or read) at a version. */
export interface HeadVersion {
  generation: number;
  version: number;
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
  /** The journal read with it: copied to the rows before this write replaces it. */
  readJournal?: Journal;
  /** The incident after the change; its `containers` are not stored in the head. */
  incident: Incident;
  /** The registers this change made (the new journal). */
  changed: Record<string, TrackedContainer>;
  /** The status changed between resolved and not: the Slack item's expiry follows the head's. */
  resolvedChanged?: boolean;
  /** Events that describe this change, kept until published. */
  outbox: OutboxEntry[];
  /** Events of earlier changes known to be published, forgotten by this write. */
  published?: readonly string[];
}

/** Someone else changed (or created) the incident since it was read: read again and retry. */
export class IncidentWriteConflict extends Error {
  override readonly name = 'IncidentWriteConflict';
}

/** dedupe's port: an incident key's incidents, with the rows of their containers. */
export interface Incidents {
  /**
   * The key's latest incidents (at most two), newest first, read consistently, each with the
   * registers of the containers named (those it tracks). `expected`: the head as this caller last
   * wrote it (a fold in turns); the rows are then read together with the heads, one round trip
   * instead of two, and used only if that head is still at that version.
   */
  loadKey(keyId: string, containerIds: readonly string[], expected?: HeadVersion): Promise<StoredIncident[]>;
  /** Every container register of an incident (for a full timeline: reads all its rows). */
  containersOf(ref: IncidentRef): Promise<Record<string, TrackedContainer>>;
  /** Creates or updates an incident; throws IncidentWriteConflict if it changed since it was read. */
  saveIncident(write: IncidentWrite): Promise<void>;
  /** Forgets outbox entries once they are published. */
  clearOutbox(ref: IncidentRef, eventIds: readonly string[]): Promise<void>;
  /** Incidents whose quiet period has ended by `now` (they may resolve). */
  dueForResolution(now: number, limit: number): Promise<IncidentRef[]>;
}

/** dedupe's port for cause changes: which incident a container's newest failure belongs to. */
export interface ContainerPointers {
  getContainerPointer(ref: ContainerRef): Promise<ContainerPointer | undefined>;
  /** Writes the pointer if the stored one is still as `expected`; false if not. */
  putContainerPointer(
    ref: ContainerRef,
    pointer: ContainerPointer,
    expected: PointerExpectation,
  ): Promise<boolean>;
}

/**
 * notify's port for an incident: its head as read, and its Slack state (timers, storm). Its posts'
 * claims and renders are the PostStore the store holds (`posts`).
 */
export interface IncidentSlackState {
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
}

/** Everything the incident table holds; each consumer takes only its ports. */
export interface IncidentStore extends Incidents, ContainerPointers, IncidentSlackState {
  /** Claims and renders of the posts of incidents and storm buckets. */
  readonly posts: PostStore<PostOwnerRef>;
  readonly storms: Storms;
  /** Posts owed by changes (functions/_common/owed-posts.ts). */
  readonly owed: OwedPosts;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB

export interface DynamoIncidentStoreOptions extends TableOptions {
  windows: IncidentWindows;
}

interface HeadItem extends VersionedItem<OutboxEntry> {
  incident: StoredHead;
  journal?: StoredJournal;
  journalVersion?: number;
}

interface SlackItem {
  posts?: Record<string, PostRecord>;
  render?: RenderRecord;
  storm?: StormRef;
  inStorm?: boolean;
}

/** A head (and the incident's Slack item, if read), with the registers given. */
const fromItems = (
  head: Record<string, unknown>,
  slack: Record<string, unknown> | undefined,
  containers: Record<string, TrackedContainer>,
  texts: ReadonlyMap<string, LatestText>,
): StoredIncident => {
  const typed = head as unknown as HeadItem;
  const notify = (slack ?? {}) as SlackItem;
  return {
    incident: withLatestText(typed.incident, containers, texts),
    journal: { version: typed.journalVersion ?? 0, registers: journalRegisters(typed.journal) },
    ...storedVersioned({
      version: typed.version,
      ...(typed.outbox === undefined ? {} : { outbox: typed.outbox }),
      ...(notify.posts === undefined ? {} : { posts: notify.posts }),
      ...(notify.render === undefined ? {} : { render: notify.render }),
    }),
    ...(notify.storm === undefined
      ? {}
      : { storm: { groupId: notify.storm.groupId, seq: notify.storm.seq } }),
    inStorm: notify.inStorm === true,
  };
};

/** Texts a store remembers (a storm's incidents show few distinct ones). */
const TEXTS_REMEMBERED = 2000;
/** A text is written again after this long, to push its expiry out while it is shown. */
const TEXT_REFRESH_MS = 24 * 3_600_000;

/** The table keys of an incident's items. */
const headKey = (ref: IncidentRef): ItemKey => ({
  [INCIDENT_TABLE.partitionKey]: incidentPk(ref.keyId),
  [INCIDENT_TABLE.sortKey]: generationSk(ref.generation),
});

/** Posts, renders and timers of an incident live in its Slack item, not in its head. */
const slackKey = (ref: IncidentRef): ItemKey => ({
  [INCIDENT_TABLE.partitionKey]: postsPk(ref.keyId),
  [INCIDENT_TABLE.sortKey]: postsSk(ref.generation),
});

const rowKey = (ref: IncidentRef, containerId: string): ItemKey => ({
  [INCIDENT_TABLE.partitionKey]: rowsPk(ref, rowShardOf(containerId)),
  [INCIDENT_TABLE.sortKey]: rowSk(containerId),
});

const pointerKey = (ref: ContainerRef): ItemKey => ({
  [INCIDENT_TABLE.partitionKey]: containerPk(ref.cluster, ref.namespace, ref.podUid, ref.container),
  [INCIDENT_TABLE.sortKey]: POINTER_SK,
});

export class DynamoIncidentStore implements IncidentStore {
  private readonly table: TableClient;
  private readonly windows: IncidentWindows;
  readonly posts: PostStore<PostOwnerRef>;
  readonly storms: Storms;
  readonly owed: OwedPosts;

  constructor(client: DynamoDBClient, options: DynamoIncidentStoreOptions) {
    this.table = new TableClient(client, options);
    this.windows = options.windows;
    this.posts = new DynamoPosts<PostOwnerRef>(this.table, {
      keyOf: (ref) => (isStormRef(ref) ? stormKey(ref) : slackKey(ref)),
    });
    this.storms = new DynamoStorms(this.table);
    this.owed = new DynamoOwedPosts(this.table);
  }

  /**
   * The registers of `containerIds` (each once) in an incident: its head's journal, else their rows
   * (`rows`: already read).
   */
  private async registersOf(
    ref: IncidentRef,
    journal: Record<string, TrackedContainer>,
    containerIds: readonly string[],
    rows?: readonly Record<string, unknown>[],
  ): Promise<Record<string, TrackedContainer>> {
    const registers: Record<string, TrackedContainer> = {};
    const unread = containerIds.filter((id) => {
      const journaled = journal[id];
      if (journaled !== undefined) registers[id] = journaled;
      return journaled === undefined;
    });
    for (const row of rows ?? (await this.table.readMany(unread.map((id) => rowKey(ref, id))))) {
      const id = containerIdOfRowSk(String(row[INCIDENT_TABLE.sortKey]));
      if (journal[id] === undefined) registers[id] = registerOf(id, row.register as CompactRegister);
    }
    return registers;
  }

  /** The texts the heads' latest failures name (remembered: a text never changes). */
  private async textsOf(heads: ReadonlyArray<Record<string, unknown>>): Promise<Map<string, LatestText>> {
    const texts = new Map<string, LatestText>();
    const missing: ItemKey[] = [];
    for (const head of heads) {
      const textId = (head.incident as HeadItem['incident'] | undefined)?.latest?.textId;
      if (textId === undefined) continue;
      const known = this.texts.get(textId);
      if (known !== undefined) texts.set(textId, known.text);
      else
        missing.push({
          [INCIDENT_TABLE.partitionKey]: textPk(String(head.keyId)),
          [INCIDENT_TABLE.sortKey]: textSk(textId),
        });
    }
    for (const item of await this.table.readMany(missing)) {
      const text = item.text as LatestText;
      texts.set(String(item[INCIDENT_TABLE.sortKey]), text);
      this.remember(String(item[INCIDENT_TABLE.sortKey]), text, 0);
    }
    return texts;
  }

  /** Texts seen or written, with the failure time they were last written for (0: only read), newest last. */
  private readonly texts = new Map<string, { text: LatestText; writtenAt: number }>();

  private remember(textId: string, text: LatestText, writtenAt: number): void {
    this.texts.delete(textId);
    this.texts.set(textId, { text, writtenAt });
    if (this.texts.size > TEXTS_REMEMBERED) this.texts.delete(this.texts.keys().next().value!);
  }

  /**
   * Writes the latest failure's text unless this process wrote it for a failure less than a day
   * older (a write pushes its expiry out, so a text still shown never expires before its incident).
   */
  private async saveText(keyId: string, latest: LatestFailure): Promise<StoredLatest> {
    const { stored, text } = splitLatest(latest);
    const known = this.texts.get(stored.textId);
    if (known !== undefined && known.writtenAt > 0 && latest.at - known.writtenAt < TEXT_REFRESH_MS) {
      return stored;
    }
    await this.table.documents.send(
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          [INCIDENT_TABLE.partitionKey]: textPk(keyId),
          [INCIDENT_TABLE.sortKey]: textSk(stored.textId),
          schemaVersion: ITEM_SCHEMA_VERSION,
          text,
          [INCIDENT_TABLE.ttlAttribute]: this.table.expiresAt(latest.at),
        },
      }),
    );
    this.remember(stored.textId, text, latest.at);
    return stored;
  }

  async loadKey(
    keyId: string,
    containerIds: readonly string[],
    expected?: HeadVersion,
  ): Promise<StoredIncident[]> {
    const ids = [...new Set(containerIds)];
    const [heads, early] = await Promise.all([
      this.table.newestOf(incidentPk(keyId), 2),
      expected === undefined
        ? undefined
        : this.table.readMany(ids.map((id) => rowKey({ keyId, generation: expected.generation }, id))),
    ]);
    const texts = await this.textsOf(heads);
    return Promise.all(
      heads.map(async (head) => {
        const ref = { keyId, generation: Number(head.generation) };
        const journal = journalRegisters(head.journal as StoredJournal | undefined);
        // Rows read before their head are its rows only if nobody wrote the head since `expected`:
        // a writer copies its journal to the rows before it replaces the head, so a head changed
        // since may have moved registers into rows after they were read (they are read again).
        const unchanged =
          expected !== undefined &&
          ref.generation === expected.generation &&
          Number(head.version) === expected.version;
        return fromItems(
          head,
          undefined,
          await this.registersOf(ref, journal, ids, unchanged ? early : undefined),
          texts,
        );
      }),
    );
  }

  async containersOf(ref: IncidentRef): Promise<Record<string, TrackedContainer>> {
    const head = await this.table.read(headKey(ref), {
      ProjectionExpression: '#journal',
      ExpressionAttributeNames: { '#journal': 'journal' },
    });
    if (head === undefined) return {};
    return readAllRegisters(this.table, ref, journalRegisters(head.journal as StoredJournal | undefined));
  }

  /**
   * An incident's head and Slack state (without container registers). The Slack item is created
   * here the first time, so that claims and timers can be written into it.
   */
  async getIncident(ref: IncidentRef): Promise<StoredIncident | undefined> {
    // One call for both (notify reads an incident on every event it handles).
    const items = await this.table.readMany([headKey(ref), slackKey(ref)]);
    const head = items.find((item) => isIncidentHeadSk(String(item[INCIDENT_TABLE.sortKey])));
    const slack = items.find((item) => item !== head);
    if (head === undefined) return undefined;
    if (slack === undefined) await this.createSlackItem(ref);
    return fromItems(head, slack, {}, await this.textsOf([head]));
  }

  private async createSlackItem(ref: IncidentRef): Promise<void> {
    await conditionally(() =>
      this.table.documents.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: { ...slackKey(ref), schemaVersion: ITEM_SCHEMA_VERSION, posts: {} },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
        }),
      ),
    );
  }

  /** The attributes derived from the incident: the summary, the index keys, the due time and the TTL. */
  private derived(incident: Incident, version: number, latest: StoredLatest | undefined) {
    const figures = figuresOf(incident, this.windows);
    const incidentId = incidentIdOfIncident(incident);
    const { key } = incident;
    const firstSeen = new Date(figures.firstSeen ?? 0).toISOString();
    const sortKey = historySortKey(firstSeen, incidentId);
    const verdict = incident.latest?.verdict;
    const resolved = incident.status === 'resolved' && incident.resolvedAt !== undefined;
    const due = incident.status === 'open' ? figures.resolveAt : undefined;
    const { containers: _registers, latest: _latest, ...rest } = incident;
    const head = latest === undefined ? rest : { ...rest, latest };
    const set: Record<string, unknown> = {
      schemaVersion: ITEM_SCHEMA_VERSION,
      incidentId,
      keyId: incident.keyId,
      generation: incident.generation,
      version,
      incident: head,
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
      gsi1pk: clusterPartition(key.cluster),
      gsi1sk: sortKey,
      gsi2pk: causePartition(key.cause),
      gsi2sk: sortKey,
      gsi3pk: workloadPartition(key.cluster, key.namespace, key.workload.kind, key.workload.name),
      gsi3sk: sortKey,
    };
    const remove: string[] = [];
    if (resolved) {
      set.resolvedAt = new Date(incident.resolvedAt!).toISOString();
      set[INCIDENT_TABLE.ttlAttribute] = this.table.expiresAt(incident.resolvedAt!);
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

  /**
   * Copies a journal to its rows: each only if the row holds an older journal's register (a late
   * copy of an old journal changes nothing). Rows expire a retention after their register's time.
   */
  private async copyJournal(ref: IncidentRef, journal: Journal): Promise<void> {
    await Promise.all(
      Object.entries(journal.registers).map(([containerId, register]) =>
        conditionally(() =>
          this.table.documents.send(
            new PutCommand({
              TableName: this.table.tableName,
              Item: {
                ...rowKey(ref, containerId),
                schemaVersion: ITEM_SCHEMA_VERSION,
                register: compactRegisters({ [containerId]: register })[containerId],
                headVersion: journal.version,
                [INCIDENT_TABLE.ttlAttribute]: this.table.expiresAt(register.at),
              },
              ConditionExpression: 'attribute_not_exists(#pk) OR #headVersion < :headVersion',
              ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey, '#headVersion': 'headVersion' },
              ExpressionAttributeValues: { ':headVersion': journal.version },
            }),
          ),
        ),
      ),
    );
  }

  async saveIncident(write: IncidentWrite): Promise<void> {
    // The read journal's rows and the latest text, both before the head that supersedes them.
    const [, latest] = await Promise.all([
      write.readJournal === undefined ? undefined : this.copyJournal(write, write.readJournal),
      write.incident.latest === undefined ? undefined : this.saveText(write.keyId, write.incident.latest),
    ]);
    const version = write.expectedVersion + 1;
    const { set, remove } = this.derived(write.incident, version, latest);
    const saved = await saveVersioned(this.table.documents, {
      tableName: this.table.tableName,
      key: headKey(write),
      expectedVersion: write.expectedVersion,
      set: {
        ...set,
        // A post is owed for a new incident and for each status change (functions/_common/owed-posts.ts).
        ...(write.expectedVersion === 0 || write.resolvedChanged === true
          ? owedMarker(Math.max(write.incident.resolvedAt ?? 0, write.incident.latest?.at ?? 0))
          : {}),
        journal: compactRegisters(write.changed),
        journalVersion: version,
      },
      remove,
      outbox: write.outbox,
      ...(write.published === undefined ? {} : { published: write.published }),
    });
    if (!saved) {
      throw new IncidentWriteConflict(
        `incident ${incidentIdOfIncident(write.incident)} changed since version ${write.expectedVersion}`,
      );
    }
    if (write.resolvedChanged === true) await this.expireSlackItemWith(write.incident);
  }

  /** The Slack item expires with the head (set when resolved, removed when it reopens). */
  private async expireSlackItemWith(incident: Incident): Promise<void> {
    const resolved = incident.status === 'resolved' && incident.resolvedAt !== undefined;
    await this.table.documents.send(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: slackKey(incident),
        UpdateExpression: resolved
          ? 'SET #ttl = :ttl, #posts = if_not_exists(#posts, :none), #schema = :schema'
          : 'REMOVE #ttl',
        ExpressionAttributeNames: {
          '#ttl': INCIDENT_TABLE.ttlAttribute,
          ...(resolved ? { '#posts': 'posts', '#schema': 'schemaVersion' } : {}),
        },
        ...(resolved
          ? {
              ExpressionAttributeValues: {
                ':ttl': this.table.expiresAt(incident.resolvedAt!),
                ':none': {},
                ':schema': ITEM_SCHEMA_VERSION,
              },
            }
          : {}),
      }),
    );
  }

  async clearOutbox(ref: IncidentRef, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.table.documents.send(outboxRemoval(this.table.tableName, headKey(ref), eventIds));
  }

  async dueForResolution(now: number, limit: number): Promise<IncidentRef[]> {
    const due = await this.table.dueIn(INCIDENT_TABLE.dueIndex, DUE_PARTITION, now, limit);
    return due.flatMap(({ pk, sk }) => {
      const owner = decodeDueOwner(pk, sk);
      return owner?.kind === 'incident' ? [{ keyId: owner.keyId, generation: owner.generation }] : [];
    });
  }

  async renderDue(now: number, limit: number): Promise<RenderDueRef[]> {
    const due = await this.table.dueIn(INCIDENT_TABLE.renderIndex, RENDER_PARTITION, now, limit);
    return due.flatMap(({ pk, sk, dueAt }): RenderDueRef[] => {
      const owner = decodeDueOwner(pk, sk);
      if (owner?.kind === 'storm') return [{ groupId: owner.groupId, seq: owner.seq, dueAt }];
      if (owner?.kind === 'incident') return [{ keyId: owner.keyId, generation: owner.generation, dueAt }];
      return [];
    });
  }

  async setIncidentStorm(ref: IncidentRef, storm: StormRef): Promise<void> {
    await this.table.conditional(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: slackKey(ref),
        UpdateExpression: 'SET #storm = :storm',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#storm': 'storm', '#pk': INCIDENT_TABLE.partitionKey },
        ExpressionAttributeValues: { ':storm': { groupId: storm.groupId, seq: storm.seq } },
      }),
    );
  }

  async markInStorm(ref: IncidentRef): Promise<void> {
    await this.table.setFlag(slackKey(ref), 'inStorm');
  }

  async getContainerPointer(ref: ContainerRef): Promise<ContainerPointer | undefined> {
    const item = (await this.table.read(pointerKey(ref))) as
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
      this.table.documents.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            ...pointerKey(ref),
            ...pointer,
            [INCIDENT_TABLE.ttlAttribute]: this.table.expiresAt(pointer.at),
          },
          ...condition,
        }),
      ),
    );
  }
}

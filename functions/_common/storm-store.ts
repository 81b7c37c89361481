/**
 * Storm buckets (shared/incident-storm.ts) in the incident table: per bucket a head item (what a
 * new member needs, the roll-up's posts) and a row per member, so that no write grows with the
 * storm.
 *
 * Joins without transactions and without taking turns: a joiner first claims its row (a put only
 * if it has none: a retried join finds it and stops), then counts itself in the head, conditional
 * on the join rule (shared/incident-storm.ts `joinCondition`). If the head refuses (the bucket
 * closed or is full) it gives its row back and tries the group's next bucket. So the members are
 * the rows, and the head's count is exact but for a crash between the two writes, which leaves it
 * one short (never more): the member is still listed, and the threshold comes one join later.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  JOIN_RULE,
  type StormBucket,
  type StormHead,
  type StormMember,
  type StormRef,
  joinCondition,
  joinDeadlines,
  stormIdOf,
} from '#shared/incident-storm';
import { INCIDENT_TABLE, ITEM_SCHEMA_VERSION } from './incident-table';
import type { PostRecord, RenderRecord } from './post-store';
import {
  type Item,
  type ItemKey,
  type Projection,
  type TableClient,
  isConditionFailure,
} from './table-client';
import { stormBucketSk, stormMemberSk, stormMembersPk, stormPk } from './table-keys';

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

/** notify's port for storm buckets. */
export interface Storms {
  /** Records that every member of the bucket was told it is a storm. */
  markStormActivated(ref: StormRef): Promise<void>;
  /** A group's latest buckets without their member lists (but `incidentId`'s entry), newest first. */
  latestStormHeads(groupId: string, limit: number, incidentId: string): Promise<StoredStormHead[]>;
  /** A bucket without its member list (but `incidentId`'s entry). */
  getStormHead(ref: StormRef, incidentId: string): Promise<StoredStormHead | undefined>;
  /** A bucket with every member (reads all its rows: for the roll-up). */
  getStorm(ref: StormRef): Promise<StoredStorm | undefined>;
  /** Creates a bucket (with its first member) unless the group already has one with its `seq`. */
  createStorm(bucket: StormBucket): Promise<boolean>;
  /**
   * Adds a member to the bucket `seen` if the bucket still takes members at `now` (see
   * shared/incident-storm.ts `acceptsJoins`); returns the bucket's head after the join (its count as
   * the join left it), or undefined: read again (it may have joined already, or the bucket closed).
   */
  joinStorm(seen: StoredStormHead, member: StormMember, now: number): Promise<StoredStormHead | undefined>;
  /** Replaces a member's entry if `member` reflects a newer incident version; false if not. */
  updateStormMember(ref: StormRef, member: StormMember): Promise<boolean>;
}

export const stormKey = (ref: StormRef): ItemKey => ({
  [INCIDENT_TABLE.partitionKey]: stormPk(ref.groupId),
  [INCIDENT_TABLE.sortKey]: stormBucketSk(ref.seq),
});

const memberKey = (ref: StormRef, incidentId: string): ItemKey => ({
  [INCIDENT_TABLE.partitionKey]: stormMembersPk(ref),
  [INCIDENT_TABLE.sortKey]: stormMemberSk(incidentId),
});

/** The attributes of a bucket's head item that make its StormHead. */
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
] as const satisfies ReadonlyArray<keyof StormHead>;

/** A head without its posts and render, and a member row, read in one call (their attributes differ). */
const HEAD_READ = [
  ...STORM_HEAD_ATTRIBUTES,
  'activated',
  'member',
  'refused',
  INCIDENT_TABLE.partitionKey,
  INCIDENT_TABLE.sortKey,
];
const HEAD_PROJECTION: Projection = {
  ProjectionExpression: HEAD_READ.map((_, index) => `#h${index}`).join(', '),
  ExpressionAttributeNames: Object.fromEntries(
    HEAD_READ.map((attribute, index) => [`#h${index}`, attribute]),
  ),
};

interface HeadItem extends StormHead {
  activated?: boolean;
  posts?: Record<string, PostRecord>;
  render?: RenderRecord;
}

const headOf = (item: Item): StormHead =>
  Object.fromEntries(
    STORM_HEAD_ATTRIBUTES.map((attribute) => [attribute, item[attribute]]),
  ) as unknown as StormHead;

/** A row's member, unless the row was given back. */
const memberOfRow = (row: Item | undefined): StormMember | undefined =>
  row === undefined || row.refused === true ? undefined : (row.member as StormMember);

const storedHeadOf = (item: Item, row: Item | undefined): StoredStormHead => {
  const member = memberOfRow(row);
  return {
    head: headOf(item),
    ...(member === undefined ? {} : { member }),
    activated: (item as unknown as HeadItem).activated === true,
  };
};

export class DynamoStorms implements Storms {
  constructor(private readonly table: TableClient) {}

  /** Heads and `incidentId`'s rows in them, read together. */
  private async headsWithMember(heads: readonly Item[], incidentId: string): Promise<StoredStormHead[]> {
    const rows = await this.table.readMany(
      heads.map((head) => memberKey((head as unknown as StormHead).ref, incidentId)),
      HEAD_PROJECTION,
    );
    const rowOf = new Map(rows.map((row) => [String(row[INCIDENT_TABLE.partitionKey] ?? ''), row]));
    return heads.map((head) => {
      const { ref } = head as unknown as StormHead;
      return storedHeadOf(head, rowOf.get(stormMembersPk(ref)));
    });
  }

  async latestStormHeads(groupId: string, limit: number, incidentId: string): Promise<StoredStormHead[]> {
    const heads = await this.table.newestOf(stormPk(groupId), limit, HEAD_PROJECTION);
    return heads.length === 0 ? [] : this.headsWithMember(heads, incidentId);
  }

  async getStormHead(ref: StormRef, incidentId: string): Promise<StoredStormHead | undefined> {
    const items = await this.table.readMany([stormKey(ref), memberKey(ref, incidentId)], HEAD_PROJECTION);
    const head = items.find((item) => item[INCIDENT_TABLE.sortKey] === stormBucketSk(ref.seq));
    if (head === undefined) return undefined;
    return storedHeadOf(
      head,
      items.find((item) => item !== head),
    );
  }

  async getStorm(ref: StormRef): Promise<StoredStorm | undefined> {
    const [item, rows] = await Promise.all([
      this.table.read(stormKey(ref)),
      this.table.partition(stormMembersPk(ref)),
    ]);
    if (item === undefined) return undefined;
    const typed = item as unknown as HeadItem;
    const members: Record<string, StormMember> = {};
    for (const row of rows) {
      const member = memberOfRow(row);
      if (member !== undefined) members[member.incidentId] = member;
    }
    return {
      bucket: { ...headOf(item), members },
      activated: typed.activated === true,
      posts: typed.posts ?? {},
      ...(typed.render === undefined ? {} : { render: typed.render }),
    };
  }

  async createStorm(bucket: StormBucket): Promise<boolean> {
    const { members, ...head } = bucket;
    // Rows first, as for a join: a crash in between leaves a row the retry finds in the bucket (if
    // it opens), or claims again (the same member) when it opens the bucket itself.
    const rows = Object.values(members);
    await Promise.all(rows.map((member) => this.claimRow(head, member)));
    const created = await this.table.conditional(
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          ...stormKey(bucket.ref),
          schemaVersion: ITEM_SCHEMA_VERSION,
          ...head,
          stormId: stormIdOf(bucket.ref),
          cluster: bucket.group.cluster,
          cause: bucket.group.cause,
          // The join condition's deadlines (shared/incident-storm.ts `JOIN_RULE`).
          ...joinDeadlines(bucket),
          posts: {},
          [INCIDENT_TABLE.ttlAttribute]: this.table.expiresAt(bucket.openedAt),
        },
        ConditionExpression: 'attribute_not_exists(#pk)',
        ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
      }),
    );
    // Someone else opened it: not members of theirs.
    if (!created) await Promise.all(rows.map((member) => this.removeRow(bucket.ref, member.incidentId)));
    return created;
  }

  /**
   * Marks a claimed row given back (the bucket refused): not a member. Marked, not deleted (the
   * functions only ever put and update); a later claim of the same member may take it again.
   */
  private async removeRow(ref: StormRef, incidentId: string): Promise<void> {
    await this.table.conditional(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: memberKey(ref, incidentId),
        UpdateExpression: 'SET #refused = :true',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#refused': 'refused', '#pk': INCIDENT_TABLE.partitionKey },
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  /** Writes a member's row if it has none, or one given back (false: it had joined already). */
  private claimRow(head: StormHead, member: StormMember): Promise<boolean> {
    return this.table.conditional(
      new PutCommand({
        TableName: this.table.tableName,
        Item: {
          ...memberKey(head.ref, member.incidentId),
          schemaVersion: ITEM_SCHEMA_VERSION,
          member,
          [INCIDENT_TABLE.ttlAttribute]: this.table.expiresAt(head.openedAt),
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #refused = :true',
        ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey, '#refused': 'refused' },
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  async joinStorm(
    seen: StoredStormHead,
    member: StormMember,
    now: number,
  ): Promise<StoredStormHead | undefined> {
    const { ref, windowMs } = seen.head;
    const joined = { ...member, joinedAt: now };
    // Joined already (a retry): reading again finds it.
    if (!(await this.claimRow(seen.head, joined))) return undefined;
    try {
      const result = await this.table.documents.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: stormKey(ref),
          UpdateExpression:
            'SET #lastJoinAt = :now, #stormUntil = :until, #count = #count + :one, #version = #version + :one',
          ConditionExpression: `attribute_exists(#count) AND ${joinCondition({
            count: '#count',
            threshold: '#threshold',
            openUntil: '#openUntil',
            stormUntil: '#stormUntil',
            now: ':now',
            max: ':max',
          })}`,
          ExpressionAttributeNames: {
            '#lastJoinAt': 'lastJoinAt',
            '#stormUntil': 'stormUntil',
            '#openUntil': 'openUntil',
            '#count': 'memberCount',
            '#threshold': 'threshold',
            '#version': 'version',
          },
          ExpressionAttributeValues: {
            ':now': now,
            ':until': joinDeadlines({ openedAt: now, lastJoinAt: now, windowMs }).stormUntil,
            ':one': 1,
            ':max': JOIN_RULE.maxMembers,
          },
          // Only what the join changed.
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const { lastJoinAt, memberCount, version } = result.Attributes as Pick<
        StormHead,
        'lastJoinAt' | 'memberCount' | 'version'
      >;
      return {
        head: { ...seen.head, lastJoinAt, memberCount, version },
        member: joined,
        activated: seen.activated,
      };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The bucket no longer takes members: not one of them after all.
      await this.removeRow(ref, member.incidentId);
      return undefined;
    }
  }

  async updateStormMember(ref: StormRef, member: StormMember): Promise<boolean> {
    const fields = {
      '#status': 'status',
      '#failing': 'failingContainers',
      '#pods': 'affectedPods',
      '#memberVersion': 'version',
    };
    const values = {
      ':status': member.status,
      ':failing': member.failingContainers,
      ':pods': member.affectedPods,
      ':memberVersion': member.version,
    };
    const changed = await this.table.conditional(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: memberKey(ref, member.incidentId),
        UpdateExpression:
          'SET #entry.#status = :status, #entry.#failing = :failing, #entry.#pods = :pods, ' +
          '#entry.#memberVersion = :memberVersion',
        ConditionExpression: 'attribute_not_exists(#refused) AND #entry.#memberVersion < :memberVersion',
        ExpressionAttributeNames: { ...fields, '#entry': 'member', '#refused': 'refused' },
        ExpressionAttributeValues: values,
      }),
    );
    if (!changed) return false;
    await this.bumpVersion(ref);
    return true;
  }

  /** The roll-up's throttle compares the head's version: a member's change moves it. */
  private async bumpVersion(ref: StormRef): Promise<void> {
    await this.table.conditional(
      new UpdateCommand({
        TableName: this.table.tableName,
        Key: stormKey(ref),
        UpdateExpression: 'SET #version = #version + :one',
        ConditionExpression: 'attribute_exists(#pk)',
        ExpressionAttributeNames: { '#version': 'version', '#pk': INCIDENT_TABLE.partitionKey },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  async markStormActivated(ref: StormRef): Promise<void> {
    await this.table.setFlag(stormKey(ref), 'activated');
  }
}

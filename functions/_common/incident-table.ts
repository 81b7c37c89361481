/**
 * The incident table, as data: the tests create it in dynalite from this, and the CDK stack can
 * build the same table from it. The keys are encoded and decoded in table-keys.ts.
 *
 * Every item carries `schemaVersion` (ITEM_SCHEMA_VERSION); see the README for what an upgrade means.
 *
 * An incident (a key's generation) is three kinds of item, so that nothing written per observation
 * grows with the incident:
 *
 * The head, one per incident, written by dedupe only:
 *
 * | attribute | value |
 * |---|---|
 * | `pk` / `sk` | `INCIDENT#<keyId>` / `GEN#<generation, 6 digits>`: a key's incidents sort oldest to newest |
 * | `incidentId`, `keyId`, `generation` | the ids (`incidentId` is `keyId`, or `keyId.<n>` from the 2nd generation) |
 * | `version` | +1 on every change; dedupe's writes are conditional on it |
 * | `incident` | the domain state without its containers (shared/incident.ts: the tally, a sample, the latest failure, status…) |
 * | `journal`, `journalVersion` | the container registers the write at `journalVersion` changed; copied to their rows before the next write replaces them (see incident-store.ts) |
 * | `status`, `cluster`, `namespace`, `workload`, `container`, `image`, `cause`, `title`, `registry`, `firstSeen`, `lastSeen`, `resolvedAt`, `occurrences`, `affectedPods`, `failingContainers`, `reopenCount` | a summary for queries (projected into the indexes) |
 * | `gsi1pk` / `gsi1sk` | `CLUSTER#<cluster>` / `<firstSeen ISO>#<incidentId>` (index `byCluster`) |
 * | `gsi2pk` / `gsi2sk` | `CAUSE#<cause>` / same (index `byCause`) |
 * | `gsi3pk` / `gsi3sk` | `WORKLOAD#["cluster","namespace","kind","name"]` / same (index `byWorkload`: a workload's history) |
 * | `duePk` / `dueAt` | `DUE` / epoch ms when the incident resolves unless something fails again; present only then (sparse index `dueForResolution`, read by the scheduled tick) |
 * | `expiresAt` | epoch seconds, set when resolved (resolution + retention, default 90 days): the TTL attribute |
 * | `outbox` | events written with a change and not yet published: `eventId → { detailType, detail }` |
 *
 * A row per container the incident tracks (its register: state, episodes), in ROW_SHARDS partitions:
 * `CONTAINERS#<keyId>.<generation>#<shard>` / `C#<podUid>/<container>`, with `register`,
 * `headVersion` (the head version whose journal wrote it) and `expiresAt` (the register's time +
 * retention: never later than the head's).
 *
 * The Slack state, written by notify only: `POSTS#<keyId>` / `POSTS#<generation>`, with
 * `posts` (`postId → { state: claimed/posted/failed/uncertain, token, leaseUntil, channel, ts… }`),
 * `render` (what the message last showed, for the chat.update throttle), `storm`/`inStorm` (the storm
 * bucket it joined), `renderDuePk`/`renderDueAt` (`RENDER` / epoch ms when a throttled chat.update or
 * a held post may run: sparse index `renderDue`, read by notify's tick) and `expiresAt` (set with the
 * head's when the incident resolves).
 *
 * Storm buckets: a head `STORM#<groupId>` / `BUCKET#<seq>` (the bucket's StormHead, `openUntil` and
 * `stormUntil` for the join condition, the roll-up's `posts` and `render`, `activated`) and a row per
 * member `STORMMEMBERS#<groupId>.<seq>` / `M#<incidentId>` with `member` (and `refused` once given
 * back), both expiring a retention after the bucket opened.
 *
 * And one item per container whose failures were seen, pointing at the incident key its newest
 * failure belongs to (so a cause change can be recorded on the incident it leaves):
 * `CONTAINER#["cluster","namespace","podUid","container"]` / `POINTER`, with `keyId`, `cause`,
 * `incidentId`, `at` (the newest failure's), `movedFrom` (the key it failed under before, while that
 * incident is being told) and `expiresAt` (`at` + retention).
 *
 * Actions from Slack (functions/_common/incident-actions-store.ts), written by the actions worker:
 * `ACTIONS#incident:<keyId>` / `ACTIONS#<generation>` (or `ACTIONS#storm:<groupId>` / `ACTIONS#<seq>`),
 * with `version` (writes conditional on it), `acks`, `snooze`, `snoozes`, `applied` (idempotency
 * keys), `timeline` and `expiresAt`; a workload's snooze `SNOOZE#["cluster","namespace","kind","name"]`
 * / `SNOOZE` (TTL at its end); the mutes `MUTES` / `MUTE#["cluster","namespace","kind","name"]`
 * (until unmuted: the only items ever deleted, with the snoozes).
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const INCIDENT_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  indexes: {
    byCluster: { partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    byCause: { partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    byWorkload: { partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  },
  dueIndex: { name: 'dueForResolution', partitionKey: 'duePk', sortKey: 'dueAt' },
  renderIndex: { name: 'renderDue', partitionKey: 'renderDuePk', sortKey: 'renderDueAt' },
  /** What history queries read, projected into the three query indexes (not the containers). */
  summaryAttributes: [
    'incidentId',
    'keyId',
    'generation',
    'version',
    'status',
    'cluster',
    'namespace',
    'workload',
    'container',
    'image',
    'cause',
    'title',
    'registry',
    'firstSeen',
    'lastSeen',
    'resolvedAt',
    'occurrences',
    'affectedPods',
    'failingContainers',
    'reopenCount',
  ],
} as const;

export const DUE_PARTITION = 'DUE';
/** Partitions of the sparse `renderDue` index: what is due. */
export const RENDER_PARTITION = 'RENDER';
export const SILENCE_PARTITION = 'SILENCE';
export const DEFAULT_RETENTION_DAYS = 90;
/** Written on every item; bumped when an item's shape changes incompatibly. */
export const ITEM_SCHEMA_VERSION = 2;

/** CreateTable input for this table (on-demand). TTL is enabled separately (UpdateTimeToLive). */
export const incidentTableDefinition = (tableName: string): CreateTableCommandInput => {
  const { indexes, dueIndex, renderIndex } = INCIDENT_TABLE;
  const stringKeys = [
    INCIDENT_TABLE.partitionKey,
    INCIDENT_TABLE.sortKey,
    ...Object.values(indexes).flatMap((index) => [index.partitionKey, index.sortKey]),
    dueIndex.partitionKey,
    renderIndex.partitionKey,
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      ...stringKeys.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
      { AttributeName: dueIndex.sortKey, AttributeType: 'N' },
      { AttributeName: renderIndex.sortKey, AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: INCIDENT_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: INCIDENT_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      ...Object.entries(indexes).map(([IndexName, index]) => ({
        IndexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: {
          ProjectionType: 'INCLUDE' as const,
          NonKeyAttributes: [...INCIDENT_TABLE.summaryAttributes],
        },
      })),
      ...[dueIndex, renderIndex].map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' as const },
      })),
    ],
  };
};

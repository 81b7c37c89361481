/**
 * Every key of the incident table and its indexes, encoded and decoded in one place (the item
 * schema is in incident-table.ts). Readers that get a key back (the due indexes, history) decode it
 * here, so a prefix is never restated elsewhere.
 */
import { shortHashOf } from '#shared/incident-key';

const INCIDENT_PREFIX = 'INCIDENT#';
const GENERATION_PREFIX = 'GEN#';
const POSTS_PREFIX = 'POSTS#';
const ROWS_PREFIX = 'CONTAINERS#';
const ROW_PREFIX = 'C#';
const STORM_PREFIX = 'STORM#';
const BUCKET_PREFIX = 'BUCKET#';
const STORM_MEMBERS_PREFIX = 'STORMMEMBERS#';
const MEMBER_PREFIX = 'M#';
const POINTER_PREFIX = 'CONTAINER#';
const FORWARDER_PREFIX = 'FORWARDER#';

const padded = (n: number): string => String(n).padStart(6, '0');
const numberAfter = (prefix: string, value: string): number | undefined => {
  if (!value.startsWith(prefix)) return undefined;
  const n = Number(value.slice(prefix.length));
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

export interface GenerationRef {
  keyId: string;
  generation: number;
}

export interface BucketRef {
  groupId: string;
  seq: number;
}

/** An incident's head: `INCIDENT#<keyId>` / `GEN#<generation>` (a key's incidents sort oldest first). */
export const incidentPk = (keyId: string): string => `${INCIDENT_PREFIX}${keyId}`;
export const generationSk = (generation: number): string => `${GENERATION_PREFIX}${padded(generation)}`;
export const isIncidentHeadSk = (sk: string): boolean => sk.startsWith(GENERATION_PREFIX);

/** An incident's Slack state (posts, render, storm): `POSTS#<keyId>` / `POSTS#<generation>`. */
export const postsPk = (keyId: string): string => `${POSTS_PREFIX}${keyId}`;
export const postsSk = (generation: number): string => `${POSTS_PREFIX}${padded(generation)}`;

/**
 * The rows of an incident's containers, spread over ROW_SHARDS partitions so that a fleet-wide
 * storm's writes do not all land on one: `CONTAINERS#<keyId>.<generation>#<shard>` / `C#<containerId>`.
 */
export const ROW_SHARDS = 8;
export const rowShardOf = (containerId: string): number =>
  Number.parseInt(shortHashOf(containerId).slice(0, 4), 36) % ROW_SHARDS;
export const rowsPk = (ref: GenerationRef, shard: number): string =>
  `${ROWS_PREFIX}${ref.keyId}.${ref.generation}#${shard}`;
export const rowSk = (containerId: string): string => `${ROW_PREFIX}${containerId}`;
export const containerIdOfRowSk = (sk: string): string => sk.slice(ROW_PREFIX.length);

/** A text an incident showed (the latest failure's message and verdict), by its content's hash. */
export const textPk = (keyId: string): string => `TEXT#${keyId}`;
export const textSk = (textId: string): string => textId;

export const stormPk = (groupId: string): string => `${STORM_PREFIX}${groupId}`;
export const stormBucketSk = (seq: number): string => `${BUCKET_PREFIX}${padded(seq)}`;

/** A storm bucket's members, a row each: `STORMMEMBERS#<groupId>.<seq>` / `M#<incidentId>`. */
export const stormMembersPk = (ref: BucketRef): string => `${STORM_MEMBERS_PREFIX}${ref.groupId}.${ref.seq}`;
export const stormMemberSk = (incidentId: string): string => `${MEMBER_PREFIX}${incidentId}`;

/** Which incident a container's newest failure belongs to (across incident keys). */
export const containerPk = (cluster: string, namespace: string, podUid: string, container: string): string =>
  `${POINTER_PREFIX}${JSON.stringify([cluster, namespace, podUid, container])}`;
export const POINTER_SK = 'POINTER';

export const forwarderPk = (cluster: string): string => `${FORWARDER_PREFIX}${cluster}`;
export const FORWARDER_SK = 'HEARTBEAT';
export const clusterOfForwarderPk = (pk: string): string | undefined =>
  pk.startsWith(FORWARDER_PREFIX) ? pk.slice(FORWARDER_PREFIX.length) : undefined;

/** What a key read back from a due index names. */
export type DueOwner =
  | ({ kind: 'incident' } & GenerationRef)
  | ({ kind: 'storm' } & BucketRef)
  | { kind: 'forwarder'; cluster: string };

export const decodeDueOwner = (pk: string, sk: string): DueOwner | undefined => {
  if (pk.startsWith(INCIDENT_PREFIX)) {
    const generation = numberAfter(GENERATION_PREFIX, sk);
    return generation === undefined
      ? undefined
      : { kind: 'incident', keyId: pk.slice(INCIDENT_PREFIX.length), generation };
  }
  if (pk.startsWith(POSTS_PREFIX)) {
    const generation = numberAfter(POSTS_PREFIX, sk);
    return generation === undefined
      ? undefined
      : { kind: 'incident', keyId: pk.slice(POSTS_PREFIX.length), generation };
  }
  if (pk.startsWith(STORM_PREFIX)) {
    const seq = numberAfter(BUCKET_PREFIX, sk);
    return seq === undefined ? undefined : { kind: 'storm', groupId: pk.slice(STORM_PREFIX.length), seq };
  }
  const cluster = clusterOfForwarderPk(pk);
  return cluster === undefined ? undefined : { kind: 'forwarder', cluster };
};

// The history indexes: a partition per cluster, cause or workload, sorted by first seen.
export const clusterPartition = (cluster: string): string => `CLUSTER#${cluster}`;
export const causePartition = (cause: string): string => `CAUSE#${cause}`;
export const workloadPartition = (cluster: string, namespace: string, kind: string, name: string): string =>
  `WORKLOAD#${JSON.stringify([cluster, namespace, kind, name])}`;
export const historySortKey = (firstSeenIso: string, incidentId: string): string =>
  `${firstSeenIso}#${incidentId}`;

// Actions from Slack (functions/_common/incident-actions-store.ts).
const ACTIONS_PREFIX = 'ACTIONS#';
const SNOOZE_PREFIX = 'SNOOZE#';
const MUTE_PREFIX = 'MUTE#';

/** A workload in a cluster, as snoozes and mutes name it. */
export interface WorkloadKey {
  cluster: string;
  namespace: string;
  kind: string;
  name: string;
}

/** What people did to an incident or a storm: `ACTIONS#incident:<keyId>` / `ACTIONS#<generation>`. */
export const actionsPk = (subjectKind: 'incident' | 'storm', id: string): string =>
  `${ACTIONS_PREFIX}${subjectKind}:${id}`;
export const actionsSk = (n: number): string => `${ACTIONS_PREFIX}${padded(n)}`;

const workloadText = (workload: WorkloadKey): string =>
  JSON.stringify([workload.cluster, workload.namespace, workload.kind, workload.name]);

/** A workload's snooze: `SNOOZE#["cluster","namespace","kind","name"]` / `SNOOZE` (with a TTL). */
export const workloadSnoozePk = (workload: WorkloadKey): string =>
  `${SNOOZE_PREFIX}${workloadText(workload)}`;
export const WORKLOAD_SNOOZE_SK = 'SNOOZE';

/**
 * The mutes, all in one partition (a few per cluster at most), so that `pullwatch mutes` is one
 * query: `MUTES` / `MUTE#["cluster","namespace","kind","name"]`; a cluster's mutes share a prefix.
 */
export const MUTES_PK = 'MUTES';
export const muteSk = (workload: WorkloadKey): string => `${MUTE_PREFIX}${workloadText(workload)}`;
/** The sort-key prefix of one cluster's mutes. */
export const clusterMutesPrefix = (cluster: string): string =>
  `${MUTE_PREFIX}${JSON.stringify([cluster]).slice(0, -1)},`;

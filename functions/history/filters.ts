/**
 * The filters of incident history queries, validated once for the CLI (flags) and the history
 * API (query string), and the plan saying which index answers them. Pure: no AWS imports, so the
 * CLI can check its flags without loading the SDK.
 */
import type { ActionRecord } from '#shared/incident-actions';
import { CAUSE_IDS, type CauseId, isCauseId } from '#shared/diagnosis/causes';
import type { Incident } from '#shared/incident';
import type { PostRecord, RenderRecord } from '../_common/incident-store';
import { INCIDENT_TABLE } from '../_common/incident-table';
import { causePartition, clusterPartition, workloadPartition } from '../_common/table-keys';
import { DurationError, parseDuration } from '#shared/duration';

// ---------------------------------------------------------------------------------------------
// What the queries return

export type IncidentState = 'open' | 'resolved';

/** One incident as the indexes project it (the table's summary attributes). */
export interface IncidentSummary {
  incidentId: string;
  keyId: string;
  generation: number;
  status: IncidentState;
  cluster: string;
  namespace: string;
  /** `deployment/web`, as kubectl names it. */
  workload: string;
  container: string;
  image: string;
  cause: CauseId;
  title: string;
  /** The registry's host, e.g. `docker.io` ('' when unknown). */
  registry: string;
  firstSeen: string;
  lastSeen: string;
  resolvedAt?: string;
  /**
   * When the last affected container recovered (resolved incidents): the incident's end, as the
   * Slack thread reply says "Resolved after …". `resolvedAt` is this plus the quiet period.
   */
  recoveredAt?: string;
  /** When someone first acknowledged it in Slack. */
  acknowledgedAt?: string;
  occurrences: number;
  affectedPods: number;
  failingContainers: number;
  reopenCount: number;
}

/** One incident in full: the summary, the domain state and its Slack posts. */
export interface IncidentRecord {
  summary: IncidentSummary;
  incident: Incident;
  version: number;
  posts: Record<string, PostRecord>;
  render?: RenderRecord;
  /** The storm it was rolled up into, e.g. `sg-3m9q2xa4cd7k.1`: its Slack message is in that thread. */
  stormId?: string;
  /** What people did from Slack (acknowledged, snoozed, muted…), oldest first; on its roll-up too. */
  actions?: Array<ActionRecord & { stormId?: string }>;
}

export interface IncidentList {
  incidents: IncidentSummary[];
  /** More incidents matched than `limit`. */
  truncated: boolean;
  /** How the table was read (for `--explain`-style output and tests). */
  plan: QueryPlan;
}

export interface RecoveryFigures {
  incidents: number;
  open: number;
  resolved: number;
  /** Median time from first failure to recovery of the resolved incidents, in ms. */
  medianRecoveryMs?: number;
  /** Median time from first failure to the first acknowledgement in Slack, of those acknowledged, in ms. */
  medianAcknowledgeMs?: number;
}

export interface IncidentStats {
  /** The window (ISO times). */
  since: string;
  until: string;
  cluster?: string;
  total: RecoveryFigures;
  byCause: Array<RecoveryFigures & { cause: CauseId; title: string }>;
  byRegistry: Array<RecoveryFigures & { registry: string }>;
  truncated: boolean;
}

// ---------------------------------------------------------------------------------------------
// Filters, validated once for the CLI and the HTTP API

/** A query parameter or flag that makes no sense; the message names it and what it expects. */
export class HistoryInputError extends Error {
  override readonly name = 'HistoryInputError';
}

export interface WorkloadFilter {
  /** `deployment`, `statefulset`…, as typed (any case); undefined when only a name was given. */
  kind?: string;
  name: string;
}

export interface IncidentFilter {
  cluster?: string;
  namespace?: string;
  cause?: CauseId;
  workload?: WorkloadFilter;
  status?: IncidentState;
  /** Only incidents first seen at or after this time (epoch ms). */
  since?: number;
  limit: number;
}

/** Raw filter values, as flags or query string parameters give them. */
export interface FilterInput {
  cluster?: string;
  namespace?: string;
  cause?: string;
  workload?: string;
  status?: string;
  since?: string;
  limit?: string;
}

export const DEFAULT_LIST_SINCE = '7d';
export const DEFAULT_STATS_SINCE = '30d';
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

const nonEmpty = (name: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') throw new HistoryInputError(`${name} is empty`);
  if (trimmed.length > 253) throw new HistoryInputError(`${name} is longer than 253 characters`);
  return trimmed;
};

export const parseCause = (value: string): CauseId => {
  const cause = value.trim();
  if (!isCauseId(cause)) {
    throw new HistoryInputError(`unknown cause "${value}": expected one of ${CAUSE_IDS.join(', ')}`);
  }
  return cause;
};

/**
 * A time given as a duration back from now (`7d`) or as an ISO date or time (`2026-03-01`,
 * `2026-03-01T10:00:00Z`); epoch ms.
 */
export const parseSince = (value: string, now: number, name = 'since'): number => {
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) throw new HistoryInputError(`${name} "${value}" is not a valid date`);
    return at;
  }
  try {
    return now - parseDuration(text);
  } catch (error) {
    if (error instanceof DurationError) {
      throw new HistoryInputError(
        `${name} "${value}" is not a duration or date: expected e.g. 30m, 12h, 7d, 2w or 2026-03-01`,
      );
    }
    throw error;
  }
};

const parseWorkload = (value: string): WorkloadFilter => {
  const slash = value.indexOf('/');
  if (slash === -1) return { name: value };
  const kind = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (kind === '' || name === '' || name.includes('/')) {
    throw new HistoryInputError(`workload "${value}" must be a name or kind/name, e.g. deployment/web`);
  }
  return { kind, name };
};

/**
 * Validates list filters. `since` defaults to 7 days, except for open incidents (all of them,
 * however old); `limit` to 50.
 */
export const parseIncidentFilter = (input: FilterInput, now: number): IncidentFilter => {
  const status = nonEmpty('status', input.status);
  if (status !== undefined && status !== 'open' && status !== 'resolved' && status !== 'all') {
    throw new HistoryInputError(`status "${status}" must be open, resolved or all`);
  }
  const state: IncidentState | undefined = status === 'open' || status === 'resolved' ? status : undefined;
  const sinceText = nonEmpty('since', input.since) ?? (state === 'open' ? undefined : DEFAULT_LIST_SINCE);
  const limitText = nonEmpty('limit', input.limit);
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined) {
    limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new HistoryInputError(`limit "${limitText}" must be a whole number from 1 to ${MAX_LIMIT}`);
    }
  }
  const cluster = nonEmpty('cluster', input.cluster);
  const namespace = nonEmpty('namespace', input.namespace);
  const cause = nonEmpty('cause', input.cause);
  const workload = nonEmpty('workload', input.workload);
  return {
    ...(cluster === undefined ? {} : { cluster }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(cause === undefined ? {} : { cause: parseCause(cause) }),
    ...(workload === undefined ? {} : { workload: parseWorkload(workload) }),
    ...(state === undefined ? {} : { status: state }),
    ...(sinceText === undefined ? {} : { since: parseSince(sinceText, now) }),
    limit,
  };
};

export interface StatsFilter {
  since: number;
  cluster?: string;
}

export const parseStatsFilter = (input: { since?: string; cluster?: string }, now: number): StatsFilter => {
  const cluster = nonEmpty('cluster', input.cluster);
  return {
    since: parseSince(nonEmpty('since', input.since) ?? DEFAULT_STATS_SINCE, now),
    ...(cluster === undefined ? {} : { cluster }),
  };
};

// ---------------------------------------------------------------------------------------------
// Query plans (pure)

export type QueryIndex = keyof typeof INCIDENT_TABLE.indexes;

export interface QueryPlan {
  index: QueryIndex;
  /** Partition key values, one Query stream each. */
  partitions: string[];
}

/** The Kubernetes spelling of the workload kinds pullwatch reports, by their lowercase form. */
const KINDS: Record<string, string> = Object.fromEntries(
  ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'].map((kind) => [
    kind.toLowerCase(),
    kind,
  ]),
);

export const planQuery = (
  filter: Pick<IncidentFilter, 'cluster' | 'namespace' | 'cause' | 'workload'>,
): QueryPlan => {
  const kind = filter.workload?.kind === undefined ? undefined : KINDS[filter.workload.kind.toLowerCase()];
  if (filter.workload !== undefined && kind !== undefined && filter.cluster && filter.namespace) {
    return {
      index: 'byWorkload',
      partitions: [workloadPartition(filter.cluster, filter.namespace, kind, filter.workload.name)],
    };
  }
  if (filter.cause !== undefined) return { index: 'byCause', partitions: [causePartition(filter.cause)] };
  if (filter.cluster !== undefined)
    return { index: 'byCluster', partitions: [clusterPartition(filter.cluster)] };
  return { index: 'byCause', partitions: CAUSE_IDS.map(causePartition) };
};

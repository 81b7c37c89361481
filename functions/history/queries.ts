/**
 * Incident history: the queries behind `pullwatch incidents`, `pullwatch stats` and the history
 * Lambda, over the incident table's indexes (see ../_common/incident-table.ts). Every read is a
 * Query on an index, a GetItem or a BatchGetItem; never a Scan.
 *
 * Which index answers a filter:
 * - a workload of a known kind in a cluster and namespace → `byWorkload` (one partition);
 * - a cause → `byCause` (one partition);
 * - a cluster → `byCluster` (one partition);
 * - nothing that names a partition → `byCause`, once per cause id (16 partitions, merged).
 * The other criteria become filter expressions; `since` is a key condition on the sort key
 * (`<firstSeen>#<incidentId>`), so old incidents are not even read.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { ruleFor } from '#shared/diagnosis/catalogue';
import { isCauseId } from '#shared/diagnosis/causes';
import { type Incident, figuresOf } from '#shared/incident';
import { parseIncidentId } from '#shared/incident-key';
import type { PostRecord, RenderRecord } from '../_common/incident-store';
import { type StoredJournal, journalRegisters, readAllRegisters } from '../_common/container-rows';
import { INCIDENT_TABLE } from '../_common/incident-table';
import { type DocumentReads, TableReader } from '../_common/table-client';
import { actionTimelineOf, withAcknowledgements } from './acknowledgements';
import { type LatestText, type StoredHead, withLatestText } from '../_common/latest-text';
import { generationSk, incidentPk, postsPk, postsSk, textPk, textSk } from '../_common/table-keys';
import {
  HistoryInputError,
  type IncidentFilter,
  type IncidentList,
  type IncidentRecord,
  type IncidentStats,
  type IncidentSummary,
  MAX_LIMIT,
  type QueryIndex,
  type QueryPlan,
  type RecoveryFigures,
  type StatsFilter,
  planQuery,
} from './filters';

export * from './filters';

// ---------------------------------------------------------------------------------------------
// Items

type Item = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

const summaryOf = (item: Item): IncidentSummary => {
  const cause = text(item.cause);
  const resolvedAt = text(item.resolvedAt);
  return {
    incidentId: text(item.incidentId),
    keyId: text(item.keyId),
    generation: count(item.generation) || 1,
    status: item.status === 'resolved' ? 'resolved' : 'open',
    cluster: text(item.cluster),
    namespace: text(item.namespace),
    workload: text(item.workload),
    container: text(item.container),
    image: text(item.image),
    cause: isCauseId(cause) ? cause : 'unknown',
    title: text(item.title) || (isCauseId(cause) ? ruleFor(cause).title : cause),
    registry: text(item.registry),
    firstSeen: text(item.firstSeen),
    lastSeen: text(item.lastSeen),
    ...(resolvedAt === '' ? {} : { resolvedAt }),
    occurrences: count(item.occurrences),
    affectedPods: count(item.affectedPods),
    failingContainers: count(item.failingContainers),
    reopenCount: count(item.reopenCount),
  };
};

/** When the incident's last affected container recovered, from its domain state. */
export const recoveredAtOf = (incident: Incident): string | undefined => {
  const endedAt = figuresOf(incident).endedAt;
  return endedAt === undefined ? undefined : new Date(endedAt).toISOString();
};

const newestFirst = (a: IncidentSummary, b: IncidentSummary): number =>
  a.firstSeen < b.firstSeen
    ? 1
    : a.firstSeen > b.firstSeen
      ? -1
      : a.incidentId < b.incidentId
        ? 1
        : a.incidentId > b.incidentId
          ? -1
          : 0;

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const figuresOfGroup = (incidents: readonly IncidentSummary[]): RecoveryFigures => {
  const recoveries = incidents
    .filter((incident) => incident.status === 'resolved' && incident.recoveredAt !== undefined)
    .map((incident) => Date.parse(incident.recoveredAt!) - Date.parse(incident.firstSeen))
    .filter((ms) => Number.isFinite(ms) && ms >= 0);
  const medianRecoveryMs = median(recoveries);
  const medianAcknowledgeMs = median(
    incidents
      .filter((incident) => incident.acknowledgedAt !== undefined)
      .map((incident) => Date.parse(incident.acknowledgedAt!) - Date.parse(incident.firstSeen))
      .filter((ms) => Number.isFinite(ms) && ms >= 0),
  );
  return {
    incidents: incidents.length,
    open: incidents.filter((incident) => incident.status === 'open').length,
    resolved: incidents.filter((incident) => incident.status === 'resolved').length,
    ...(medianRecoveryMs === undefined ? {} : { medianRecoveryMs }),
    ...(medianAcknowledgeMs === undefined ? {} : { medianAcknowledgeMs }),
  };
};

// ---------------------------------------------------------------------------------------------
// The queries

export interface IncidentQueriesOptions {
  tableName: string;
  now?: () => number;
  /** Items read per Query page. */
  pageSize?: number;
  /** Incidents a stats query reads at most (it says `truncated` beyond). */
  statsLimit?: number;
}

export class IncidentQueries {
  private readonly table: TableReader;
  private readonly documents: DocumentReads;
  private readonly tableName: string;
  private readonly now: () => number;
  private readonly pageSize: number;
  private readonly statsLimit: number;

  constructor(client: DynamoDBClient, options: IncidentQueriesOptions) {
    this.table = new TableReader(client, options);
    this.documents = this.table.documents;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
    this.pageSize = options.pageSize ?? 200;
    this.statsLimit = options.statsLimit ?? 10_000;
  }

  /** Incidents matching the filter, newest first, with recovery times for the resolved ones. */
  async list(filter: IncidentFilter): Promise<IncidentList> {
    const plan = planQuery(filter);
    const { items, truncated } = await this.read(plan, filter, filter.limit);
    const incidents = await this.withRecovery(items);
    return { incidents, truncated, plan };
  }

  /** One incident; with `full`, every container's register too (all its rows: a full timeline). */
  async get(incidentId: string, options: { full?: boolean } = {}): Promise<IncidentRecord | undefined> {
    const id = parseIncidentId(incidentId.trim());
    if (id === undefined) {
      throw new HistoryInputError(
        `"${incidentId}" is not an incident id: expected pw- and 12 characters, e.g. pw-95g6wgs63kb7 (or pw-….2 for a later one)`,
      );
    }
    const ref = { keyId: id.keyId, generation: id.generation };
    const read = (pk: string, sk: string) =>
      this.table.read({ [INCIDENT_TABLE.partitionKey]: pk, [INCIDENT_TABLE.sortKey]: sk });
    const [head, slack] = await Promise.all([
      read(incidentPk(ref.keyId), generationSk(ref.generation)),
      read(postsPk(ref.keyId), postsSk(ref.generation)),
    ]);
    const item = head;
    if (item === undefined || item.status === 'pending') return undefined;
    const journal = journalRegisters(item.journal as StoredJournal | undefined);
    const stored = item.incident as StoredHead;
    const textId = stored.latest?.textId;
    const [text, containers] = await Promise.all([
      textId === undefined ? undefined : read(textPk(ref.keyId), textSk(textId)),
      options.full ? readAllRegisters(this.table, ref, journal) : {},
    ]);
    const texts = new Map<string, LatestText>(
      textId !== undefined && text !== undefined ? [[textId, text.text as LatestText]] : [],
    );
    const incident = withLatestText(stored, containers, texts);
    const recoveredAt = item.status === 'resolved' ? recoveredAtOf(incident) : undefined;
    const notify = slack ?? {};
    const storm = notify.storm as { groupId?: string; seq?: number } | undefined;
    // Threaded under a roll-up: what was done on the roll-up is in its timeline too.
    const rollup =
      notify.inStorm === true && storm?.groupId !== undefined && storm.seq !== undefined
        ? { groupId: storm.groupId, seq: storm.seq }
        : undefined;
    const actions = await actionTimelineOf(this.documents, this.tableName, ref, rollup);
    return {
      summary: { ...summaryOf(item), ...(recoveredAt === undefined ? {} : { recoveredAt }) },
      incident,
      version: count(item.version),
      posts: (notify.posts as Record<string, PostRecord> | undefined) ?? {},
      ...(notify.render === undefined ? {} : { render: notify.render as RenderRecord }),
      ...(storm?.groupId === undefined ? {} : { stormId: `${storm.groupId}.${storm.seq}` }),
      ...(actions.length === 0 ? {} : { actions }),
    };
  }

  /** Counts and median time to recover, by cause and by registry, of incidents first seen since. */
  async stats(filter: StatsFilter): Promise<IncidentStats> {
    const plan = planQuery(filter);
    const { items, truncated } = await this.read(plan, { ...filter }, this.statsLimit);
    const incidents = await withAcknowledgements(
      this.documents,
      this.tableName,
      await this.withRecovery(items),
    );
    const groups = <K extends string>(keyOf: (incident: IncidentSummary) => K) => {
      const byKey = new Map<K, IncidentSummary[]>();
      for (const incident of incidents)
        byKey.set(keyOf(incident), [...(byKey.get(keyOf(incident)) ?? []), incident]);
      return [...byKey].sort(([a, x], [b, y]) => y.length - x.length || (a < b ? -1 : a > b ? 1 : 0));
    };
    return {
      since: new Date(filter.since).toISOString(),
      until: new Date(this.now()).toISOString(),
      ...(filter.cluster === undefined ? {} : { cluster: filter.cluster }),
      total: figuresOfGroup(incidents),
      byCause: groups((incident) => incident.cause).map(([cause, group]) => ({
        cause,
        title: ruleFor(cause).title,
        ...figuresOfGroup(group),
      })),
      byRegistry: groups((incident) => incident.registry || 'unknown').map(([registry, group]) => ({
        registry,
        ...figuresOfGroup(group),
      })),
      truncated,
    };
  }

  /** How many incidents of a cluster are open now. */
  async openCount(cluster: string): Promise<number> {
    const { items } = await this.read(planQuery({ cluster }), { cluster, status: 'open' }, MAX_LIMIT);
    return items.length;
  }

  /** Reads every partition of a plan (in parallel), filters, merges newest first, and cuts at `limit`. */
  private async read(
    plan: QueryPlan,
    filter: Omit<IncidentFilter, 'limit'>,
    limit: number,
  ): Promise<{ items: IncidentSummary[]; truncated: boolean }> {
    const streams = await Promise.all(
      plan.partitions.map((partition) => this.readPartition(plan.index, partition, filter, limit + 1)),
    );
    const merged = streams.flat().sort(newestFirst);
    return { items: merged.slice(0, limit), truncated: merged.length > limit };
  }

  private async readPartition(
    indexName: QueryIndex,
    partition: string,
    filter: Omit<IncidentFilter, 'limit'>,
    wanted: number,
  ): Promise<IncidentSummary[]> {
    const index = INCIDENT_TABLE.indexes[indexName];
    const names: Record<string, string> = { '#pk': index.partitionKey, '#status': 'status' };
    const values: Record<string, unknown> = { ':pk': partition };
    let keyCondition = '#pk = :pk';
    if (filter.since !== undefined) {
      names['#sk'] = index.sortKey;
      values[':since'] = new Date(filter.since).toISOString();
      keyCondition += ' AND #sk >= :since';
    }
    const conditions: string[] = [];
    if (filter.status !== undefined) {
      values[':status'] = filter.status;
      conditions.push('#status = :status');
    } else {
      // A pending incident (nothing tracked yet) is not one anybody was told about.
      values[':open'] = 'open';
      values[':resolved'] = 'resolved';
      conditions.push('#status IN (:open, :resolved)');
    }
    const equal = (attribute: string, value: string | undefined) => {
      if (value === undefined) return;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      conditions.push(`#${attribute} = :${attribute}`);
    };
    if (indexName !== 'byWorkload') {
      if (indexName !== 'byCluster') equal('cluster', filter.cluster);
      equal('namespace', filter.namespace);
      if (filter.workload?.kind !== undefined) {
        equal('workload', `${filter.workload.kind.toLowerCase()}/${filter.workload.name}`);
      }
    }
    if (indexName !== 'byCause') equal('cause', filter.cause);
    // A bare workload name matches any kind: compared here, after the read.
    const nameOnly = filter.workload?.kind === undefined ? filter.workload?.name : undefined;

    const found: IncidentSummary[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: keyCondition,
        FilterExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: this.pageSize,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      };
      const page = await this.documents.send(new QueryCommand(input));
      for (const item of page.Items ?? []) {
        const summary = summaryOf(item);
        if (nameOnly !== undefined && summary.workload.slice(summary.workload.indexOf('/') + 1) !== nameOnly)
          continue;
        found.push(summary);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined && found.length < wanted);
    return found;
  }

  /** Adds `recoveredAt` to resolved incidents (their domain state is not in the indexes). */
  private async withRecovery(incidents: IncidentSummary[]): Promise<IncidentSummary[]> {
    const resolved = incidents.filter((incident) => incident.status === 'resolved');
    const recovered = new Map<string, string>();
    const heads = await this.table.readMany(
      resolved.map((incident) => ({
        [INCIDENT_TABLE.partitionKey]: incidentPk(incident.keyId),
        [INCIDENT_TABLE.sortKey]: generationSk(incident.generation),
      })),
      {
        ProjectionExpression: '#id, #incident',
        ExpressionAttributeNames: { '#id': 'incidentId', '#incident': 'incident' },
      },
      { consistent: false },
    );
    for (const item of heads) {
      const at = item.incident === undefined ? undefined : recoveredAtOf(item.incident as Incident);
      if (at !== undefined) recovered.set(text(item.incidentId), at);
    }
    return incidents.map((incident) => {
      const recoveredAt = recovered.get(incident.incidentId);
      return recoveredAt === undefined ? incident : { ...incident, recoveredAt };
    });
  }
}

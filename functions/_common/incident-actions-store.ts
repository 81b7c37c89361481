/**
 * What people did from Slack, in the incident table (keys in table-keys.ts):
 * - per incident or storm, its action state (acknowledgements, the snooze, the timeline, the
 *   idempotency keys of requests already applied): one item, changed only by writes conditional on
 *   its `version`, so that concurrent actions on one incident serialise (updateActions re-reads and
 *   re-decides after losing a race);
 * - per workload, its snooze: an item with a TTL at the snooze's end (DynamoDB deletes it some time
 *   after; readers compare `until` with the clock, so a late deletion changes nothing);
 * - the mutes: one partition, an item per muted workload, until it is unmuted.
 *
 * The decisions (what an action changes, whether a workload is silenced) are shared/incident-actions.ts.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type ActionOutcome,
  type ActionState,
  type ActionSubject,
  EMPTY_ACTION_STATE,
  type WorkloadMute,
  type WorkloadRef,
  type WorkloadSilence,
  type WorkloadSnooze,
} from '#shared/incident-actions';
import { DEFAULT_RETENTION_DAYS, INCIDENT_TABLE, ITEM_SCHEMA_VERSION } from './incident-table';
import { untilWritten } from './conflict-retry';
import { Documents, conditionally, deleteDocument } from './table-client';
import {
  MUTES_PK,
  WORKLOAD_SNOOZE_SK,
  actionsPk,
  actionsSk,
  clusterMutesPrefix,
  muteSk,
  workloadSnoozePk,
} from './table-keys';

/** The interactions worker's and notify's port for an incident's (or storm's) actions. */
export interface IncidentActions {
  /** The state as stored (EMPTY_ACTION_STATE, version 0, when nothing was done yet). */
  getActions(subject: ActionSubject): Promise<ActionState>;
  /**
   * Reads, decides and writes, conditional on the version read; on a lost race reads and decides
   * again (so two people at once both land, one after the other). The outcome of the last decision.
   */
  updateActions(
    subject: ActionSubject,
    decide: (state: ActionState) => ActionOutcome,
  ): Promise<ActionOutcome>;
}

/** A workload's silence: its snooze and its mute. */
export interface WorkloadSilences {
  getSilence(workload: WorkloadRef): Promise<WorkloadSilence>;
  putSnooze(workload: WorkloadRef, snooze: WorkloadSnooze): Promise<void>;
  /** Ends the workload's snooze if it is still the one `subjectId` put in place. */
  clearSnooze(workload: WorkloadRef, subjectId: string): Promise<void>;
  /** False when the workload was muted already (the first mute stays). */
  putMute(mute: WorkloadMute): Promise<boolean>;
  /** Lifts a mute; what it was, or undefined when there was none. */
  deleteMute(workload: WorkloadRef): Promise<WorkloadMute | undefined>;
  listMutes(cluster?: string): Promise<WorkloadMute[]>;
}

/** Someone else's action changed the state since it was read (retried by untilWritten). */
class ActionConflict extends Error {
  override readonly name = 'ActionConflict';
}

const DAY_SECONDS = 86_400;
const MAX_ATTEMPTS = 20;

const subjectKey = (subject: ActionSubject): Record<string, string> =>
  subject.kind === 'incident'
    ? { pk: actionsPk('incident', subject.keyId), sk: actionsSk(subject.generation) }
    : { pk: actionsPk('storm', subject.groupId), sk: actionsSk(subject.seq) };

export interface DynamoActionStoreOptions {
  tableName: string;
  retentionDays?: number;
  /** For the TTL of what is written (epoch ms). */
  now: () => Date;
}

export class DynamoActionStore implements IncidentActions, WorkloadSilences {
  private readonly documents: Documents;
  private readonly tableName: string;
  private readonly retentionSeconds: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoActionStoreOptions,
  ) {
    this.documents = new Documents(client);
    this.tableName = options.tableName;
    this.retentionSeconds = (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_SECONDS;
  }

  private async get(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const result = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return result.Item;
  }

  async getActions(subject: ActionSubject): Promise<ActionState> {
    const item = await this.get(subjectKey(subject));
    if (item === undefined) return EMPTY_ACTION_STATE;
    return {
      version: Number(item.version),
      acks: (item.acks as ActionState['acks']) ?? [],
      ...(item.snooze === undefined ? {} : { snooze: item.snooze as NonNullable<ActionState['snooze']> }),
      snoozes: Number(item.snoozes ?? 0),
      applied: (item.applied as string[]) ?? [],
      timeline: (item.timeline as ActionState['timeline']) ?? [],
    };
  }

  /** Writes `state` as version expectedVersion + 1, only if the stored version is still `expectedVersion`. */
  private save(subject: ActionSubject, state: ActionState, expectedVersion: number): Promise<boolean> {
    const nowSeconds = Math.floor(this.options.now().getTime() / 1000);
    const { version: _version, ...fields } = state;
    return conditionally(() =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...subjectKey(subject),
            schemaVersion: ITEM_SCHEMA_VERSION,
            ...fields,
            version: expectedVersion + 1,
            expiresAt: Math.max(
              nowSeconds + this.retentionSeconds,
              state.snooze === undefined ? 0 : Math.ceil(state.snooze.until / 1000) + DAY_SECONDS,
            ),
          },
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(#pk)' : '#version = :expected',
          ExpressionAttributeNames:
            expectedVersion === 0 ? { '#pk': INCIDENT_TABLE.partitionKey } : { '#version': 'version' },
          ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      ),
    );
  }

  async updateActions(
    subject: ActionSubject,
    decide: (state: ActionState) => ActionOutcome,
  ): Promise<ActionOutcome> {
    // Someone else's action landed first: decide again on top of it.
    return untilWritten(
      `actions on ${JSON.stringify(subject)}`,
      { maxAttempts: MAX_ATTEMPTS, isConflict: (error) => error instanceof ActionConflict },
      async () => {
        const state = await this.getActions(subject);
        const outcome = decide(state);
        if (outcome.kind !== 'applied') return outcome;
        if (!(await this.save(subject, outcome.state, state.version)))
          throw new ActionConflict('changed since read');
        return { ...outcome, state: { ...outcome.state, version: state.version + 1 } };
      },
    );
  }

  async getSilence(workload: WorkloadRef): Promise<WorkloadSilence> {
    const [snooze, mute] = await Promise.all([
      this.get({ pk: workloadSnoozePk(workload), sk: WORKLOAD_SNOOZE_SK }),
      this.get({ pk: MUTES_PK, sk: muteSk(workload) }),
    ]);
    return {
      ...(snooze === undefined ? {} : { snooze: snooze.snooze as WorkloadSnooze }),
      ...(mute === undefined ? {} : { mute: mute.mute as WorkloadMute }),
    };
  }

  async putSnooze(workload: WorkloadRef, snooze: WorkloadSnooze): Promise<void> {
    await conditionally(() =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: workloadSnoozePk(workload),
            sk: WORKLOAD_SNOOZE_SK,
            schemaVersion: ITEM_SCHEMA_VERSION,
            snooze,
            expiresAt: Math.ceil(snooze.until / 1000),
          },
          // A later snooze wins over an earlier one (a retry of an older request must not shorten it).
          ConditionExpression: 'attribute_not_exists(#pk) OR #snooze.#at <= :at',
          ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey, '#snooze': 'snooze', '#at': 'at' },
          ExpressionAttributeValues: { ':at': snooze.at },
        }),
      ),
    );
  }

  async clearSnooze(workload: WorkloadRef, subjectId: string): Promise<void> {
    await conditionally(() =>
      deleteDocument(this.client, {
        TableName: this.tableName,
        Key: { pk: workloadSnoozePk(workload), sk: WORKLOAD_SNOOZE_SK },
        ConditionExpression: '#snooze.#subject = :subject',
        ExpressionAttributeNames: { '#snooze': 'snooze', '#subject': 'subjectId' },
        ExpressionAttributeValues: { ':subject': subjectId },
      }),
    );
  }

  putMute(mute: WorkloadMute): Promise<boolean> {
    return conditionally(() =>
      this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: MUTES_PK, sk: muteSk(mute.workload), schemaVersion: ITEM_SCHEMA_VERSION, mute },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': INCIDENT_TABLE.partitionKey },
        }),
      ),
    );
  }

  async deleteMute(workload: WorkloadRef): Promise<WorkloadMute | undefined> {
    const result = await deleteDocument(this.client, {
      TableName: this.tableName,
      Key: { pk: MUTES_PK, sk: muteSk(workload) },
      ReturnValues: 'ALL_OLD',
    });
    return result.Attributes?.mute as WorkloadMute | undefined;
  }

  async listMutes(cluster?: string): Promise<WorkloadMute[]> {
    const mutes: WorkloadMute[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression:
            cluster === undefined ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': 'pk', ...(cluster === undefined ? {} : { '#sk': 'sk' }) },
          ExpressionAttributeValues: {
            ':pk': MUTES_PK,
            ...(cluster === undefined ? {} : { ':prefix': clusterMutesPrefix(cluster) }),
          },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) mutes.push(item.mute as WorkloadMute);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return mutes;
  }
}

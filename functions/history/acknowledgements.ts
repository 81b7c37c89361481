/**
 * What people did from Slack, for the history: an incident's actions (its timeline in `incidents
 * show`) and when each incident was first acknowledged (`stats`: time to acknowledge). Read from the
 * action items (functions/_common/incident-actions-store.ts), by key: one BatchGetItem per 100
 * incidents, projecting only the first acknowledgement.
 */
import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ActionRecord } from '#shared/incident-actions';
import { INCIDENT_TABLE } from '../_common/incident-table';
import { sleep } from '../_common/sleep';
import type { DocumentReads } from '../_common/table-client';
import { actionsPk, actionsSk } from '../_common/table-keys';
import type { IncidentSummary } from './filters';

const keyOf = (ref: { keyId: string; generation: number }) => ({
  [INCIDENT_TABLE.partitionKey]: actionsPk('incident', ref.keyId),
  [INCIDENT_TABLE.sortKey]: actionsSk(ref.generation),
});

const stormKeyOf = (ref: { groupId: string; seq: number }) => ({
  [INCIDENT_TABLE.partitionKey]: actionsPk('storm', ref.groupId),
  [INCIDENT_TABLE.sortKey]: actionsSk(ref.seq),
});

/** An action in an incident's timeline; `stormId` when it was taken on its storm's roll-up. */
export type TimelineAction = ActionRecord & { stormId?: string };

const timelineOf = async (
  documents: DocumentReads,
  tableName: string,
  key: Record<string, string>,
): Promise<ActionRecord[]> => {
  const result = await documents.send(
    new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
  );
  return ((result.Item?.timeline as ActionRecord[] | undefined) ?? []).map(
    ({ key: _key, ...record }) => record,
  );
};

/**
 * An incident's actions from Slack, oldest first (none when nothing was done): its own, and those
 * taken on the roll-up of the storm it is threaded under (they snoozed, muted or re-checked it too).
 */
export const actionTimelineOf = async (
  documents: DocumentReads,
  tableName: string,
  ref: { keyId: string; generation: number },
  storm?: { groupId: string; seq: number },
): Promise<TimelineAction[]> => {
  const [own, onRollup] = await Promise.all([
    timelineOf(documents, tableName, keyOf(ref)),
    storm === undefined ? [] : timelineOf(documents, tableName, stormKeyOf(storm)),
  ]);
  const stormId = storm === undefined ? undefined : `${storm.groupId}.${storm.seq}`;
  return [...own, ...onRollup.map((record) => ({ ...record, stormId: stormId! }))].sort(
    (a, b) => a.at - b.at,
  );
};

/** Adds `acknowledgedAt` (the first acknowledgement) to the incidents that have one. */
export const withAcknowledgements = async (
  documents: DocumentReads,
  tableName: string,
  incidents: IncidentSummary[],
): Promise<IncidentSummary[]> => {
  const acknowledged = new Map<string, string>();
  for (let i = 0; i < incidents.length; i += 100) {
    let keys: Array<Record<string, unknown>> | undefined = incidents.slice(i, i + 100).map(keyOf);
    for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
      if (attempt > 8) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed`);
      const result = await documents.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: keys,
              ProjectionExpression: '#pk, #sk, #acks[0]',
              ExpressionAttributeNames: {
                '#pk': INCIDENT_TABLE.partitionKey,
                '#sk': INCIDENT_TABLE.sortKey,
                '#acks': 'acks',
              },
            },
          },
        }),
      );
      for (const item of result.Responses?.[tableName] ?? []) {
        const first = (item.acks as Array<{ at: number }> | undefined)?.[0];
        if (first !== undefined)
          acknowledged.set(`${String(item.pk)}\n${String(item.sk)}`, new Date(first.at).toISOString());
      }
      keys = result.UnprocessedKeys?.[tableName]?.Keys as Array<Record<string, unknown>> | undefined;
    }
  }
  return incidents.map((incident) => {
    const key = keyOf(incident);
    const at = acknowledged.get(`${key.pk}\n${key.sk}`);
    return at === undefined ? incident : { ...incident, acknowledgedAt: at };
  });
};

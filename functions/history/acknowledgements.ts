/**
 * What people did from Slack, for the history: an incident's actions (its timeline in `incidents
 * show`) and when each incident was first acknowledged (`stats`: time to acknowledge). Read from the
 * action items (functions/_common/incident-actions-store.ts), by key: one BatchGetItem per 100
 * incidents, projecting only the first acknowledgement.
 */
import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ActionRecord } from '#shared/incident-actions';
import { INCIDENT_TABLE } from '../_common/incident-table';
import { sleep } from '../_common/sleep';
import { actionsPk, actionsSk } from '../_common/table-keys';
import type { IncidentSummary } from './filters';

const keyOf = (ref: { keyId: string; generation: number }) => ({
  [INCIDENT_TABLE.partitionKey]: actionsPk('incident', ref.keyId),
  [INCIDENT_TABLE.sortKey]: actionsSk(ref.generation),
});

/** An incident's actions from Slack, oldest first (none when nothing was done). */
export const actionTimelineOf = async (
  documents: DynamoDBDocumentClient,
  tableName: string,
  ref: { keyId: string; generation: number },
): Promise<ActionRecord[]> => {
  const result = await documents.send(
    new GetCommand({ TableName: tableName, Key: keyOf(ref), ConsistentRead: true }),
  );
  return ((result.Item?.timeline as ActionRecord[] | undefined) ?? []).map(
    ({ key: _key, ...record }) => record,
  );
};

/** Adds `acknowledgedAt` (the first acknowledgement) to the incidents that have one. */
export const withAcknowledgements = async (
  documents: DynamoDBDocumentClient,
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

/**
 * Where `pullwatch incidents` and `pullwatch stats` read: the local store by default (the data
 * folder of local mode, through the running local mode if there is one), or a deployed table with
 * the caller's AWS credentials: named (`--table NAME --region R`), or found in the output
 * `IncidentTableName` of the deployed stack (`--stack NAME --region R`).
 *
 * The AWS clients get no explicit endpoint, so the SDK's own overrides apply
 * (`AWS_ENDPOINT_URL_CLOUDFORMATION`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher, type EventPublisher } from '../functions/_common/event-publisher';
import { EVENT_BUS_OUTPUT, INCIDENT_TABLE_OUTPUT } from '../infra/outputs';
import { DEFAULT_DATA_DIR } from '../local/config';
import { openLocalStore } from '../local/store';
import { IncidentQueries } from '../functions/history/queries';
import { DynamoActionStore, type WorkloadSilences } from '../functions/_common/incident-actions-store';
import { TABLE_CLIENT_CONFIG } from '../functions/_common/table-client';

export interface SourceOptions {
  table?: string;
  stack?: string;
  region?: string;
  data?: string;
  /** The bus `pullwatch unmute` announces on (a stack's own by default). */
  eventBus?: string;
}

/** The options do not name a readable source: fix the command (or the stack) and run it again. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}

/** AWS could not be asked where the table is (credentials, network, throttling after the SDK's retries). */
export class SourceUnavailable extends Error {
  override readonly name = 'SourceUnavailable';
}

export interface HistorySource {
  queries: IncidentQueries;
  /** The stored mutes and snoozes (`pullwatch mutes`, `pullwatch unmute`). */
  silences: WorkloadSilences;
  /** Where the answers come from, for the footer. */
  description: string;
  /**
   * The pipeline's bus, for what the CLI changes (`WorkloadUnmuted`): a stack's (its output
   * EventBusName) or `--event-bus`. None for the local store: local mode's bus lives in its process.
   */
  bus?: { publisher: EventPublisher; name: string };
  close(): Promise<void>;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/**
 * An AWS error for the terminal: its name and the first line of its message. Some messages go on
 * for lines (SignatureDoesNotMatch quotes the canonical request, session token header included).
 */
export const awsErrorText = (error: Error): string =>
  `${error.name}: ${error.message.split('\n', 1)[0]!.trim()}`;

const regionFor = (
  flag: string,
  options: SourceOptions,
  env: Readonly<Record<string, string | undefined>>,
) => {
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined) throw new SourceError(`${flag} needs --region (or AWS_REGION)`);
  if (!REGION.test(region)) throw new SourceError(`--region "${region}" is not a region, e.g. eu-west-1`);
  return region;
};

const deployedTable = (
  tableName: string,
  region: string,
  description: string,
  eventBusName: string | undefined,
): HistorySource => {
  const client = new DynamoDBClient({ ...TABLE_CLIENT_CONFIG, region });
  const events = eventBusName === undefined ? undefined : new EventBridgeClient({ region });
  return {
    queries: new IncidentQueries(client, { tableName }),
    silences: new DynamoActionStore(client, { tableName, now: () => new Date() }),
    description,
    ...(events === undefined || eventBusName === undefined
      ? {}
      : { bus: { publisher: new EventBridgePublisher(events, eventBusName), name: eventBusName } }),
    close: async () => {
      client.destroy();
      events?.destroy();
    },
  };
};

/** Statuses in which a stack has no outputs: it was never created, or is going away. */
const WITHOUT_OUTPUTS = new Set([
  'CREATE_IN_PROGRESS',
  'CREATE_FAILED',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'DELETE_IN_PROGRESS',
  'DELETE_FAILED',
  'DELETE_COMPLETE',
  'REVIEW_IN_PROGRESS',
]);

/** The incident table's name (output `IncidentTableName`) and its bus (`EventBusName`), by DescribeStacks. */
export const tableOfStack = async (
  stackName: string,
  region: string,
): Promise<{ tableName: string; eventBusName?: string }> => {
  const client = new CloudFormationClient({ region });
  let stack: Stack | undefined;
  try {
    const answer = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    stack = answer.Stacks?.[0];
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    // CloudFormation answers an unknown stack with a ValidationError, not StackNotFoundException.
    if (error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      throw new SourceError(
        `no stack ${stackName} in ${region} (CloudFormation: ${error.message.split('\n', 1)[0]}): check --stack and --region`,
      );
    }
    throw new SourceUnavailable(`cannot read stack ${stackName} in ${region}: ${awsErrorText(error)}`);
  } finally {
    client.destroy();
  }
  if (stack === undefined) throw new SourceError(`no stack ${stackName} in ${region}`);
  const tableName = stack.Outputs?.find((output) => output.OutputKey === INCIDENT_TABLE_OUTPUT)?.OutputValue;
  const eventBusName = stack.Outputs?.find((output) => output.OutputKey === EVENT_BUS_OUTPUT)?.OutputValue;
  if (tableName) return { tableName, ...(eventBusName ? { eventBusName } : {}) };
  const status = String(stack.StackStatus ?? 'UNKNOWN');
  if (WITHOUT_OUTPUTS.has(status)) {
    const next = ['CREATE_IN_PROGRESS', 'REVIEW_IN_PROGRESS'].includes(status)
      ? 'wait until it is CREATE_COMPLETE'
      : `see why: aws cloudformation describe-stack-events --stack-name ${stackName} --region ${region}`;
    throw new SourceError(
      `stack ${stackName} in ${region} is ${status}: it has no outputs, so no ${INCIDENT_TABLE_OUTPUT} (${next})`,
    );
  }
  const keys = (stack.Outputs ?? []).map((output) => output.OutputKey ?? '?');
  const has = keys.length === 0 ? 'it has no outputs' : `its outputs are ${keys.join(', ')}`;
  throw new SourceError(
    `stack ${stackName} in ${region} (${status}) has no output ${INCIDENT_TABLE_OUTPUT}; ${has}: is it a pullwatch stack? (or name the table with --table)`,
  );
};

export const openHistorySource = async (
  options: SourceOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd = process.cwd(),
): Promise<HistorySource> => {
  if (options.stack !== undefined) {
    if (options.table !== undefined)
      throw new SourceError("--stack finds the table in the stack's outputs; --table names it: give one");
    if (options.data !== undefined)
      throw new SourceError('--data reads the local store; --stack reads AWS: give one');
    const region = regionFor('--stack', options, env);
    const { tableName, eventBusName } = await tableOfStack(options.stack, region);
    return deployedTable(
      tableName,
      region,
      `table ${tableName} of stack ${options.stack} in ${region}`,
      options.eventBus ?? eventBusName,
    );
  }
  if (options.table !== undefined) {
    if (options.data !== undefined)
      throw new SourceError('--data reads the local store; --table reads AWS: give one');
    const region = regionFor('--table', options, env);
    return deployedTable(options.table, region, `table ${options.table} in ${region}`, options.eventBus);
  }
  if (options.region !== undefined) throw new SourceError('--region goes with --table NAME or --stack NAME');
  if (options.eventBus !== undefined)
    throw new SourceError("--event-bus goes with --table NAME (a stack's own bus is found with --stack)");
  const folder = options.data ?? (env.PULLWATCH_DATA_DIR?.trim() || DEFAULT_DATA_DIR);
  const dataDir = isAbsolute(folder) ? folder : resolve(cwd, folder);
  if (!existsSync(dataDir)) {
    throw new SourceError(
      `no local store in ${relative(cwd, dataDir) || dataDir}: run local mode first (npm start), give its folder with --data <dir>, or read AWS with --stack NAME (or --table NAME) --region R`,
    );
  }
  const store = await openLocalStore(dataDir, 'pullwatch incidents');
  const client = store.newClient();
  return {
    queries: new IncidentQueries(client, { tableName: store.tableName }),
    silences: new DynamoActionStore(client, { tableName: store.tableName, now: () => new Date() }),
    description: `local store ${dataDir}`,
    close: async () => {
      client.destroy();
      await store.close();
    },
  };
};

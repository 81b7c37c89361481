/**
 * Where `pullwatch incidents` and `pullwatch stats` read: the local store by default (the data
 * folder of local mode, through the running local mode if there is one), or a deployed table with
 * the caller's AWS credentials (`--table NAME --region R`).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_DATA_DIR } from '../local/config';
import { openLocalStore } from '../local/store';
import { IncidentQueries } from '../functions/history/queries';

export interface SourceOptions {
  table?: string;
  region?: string;
  data?: string;
}

export class SourceError extends Error {
  override readonly name = 'SourceError';
}

export interface HistorySource {
  queries: IncidentQueries;
  /** Where the answers come from, for the footer. */
  description: string;
  close(): Promise<void>;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export const openHistorySource = async (
  options: SourceOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd = process.cwd(),
): Promise<HistorySource> => {
  if (options.table !== undefined) {
    if (options.data !== undefined)
      throw new SourceError('--data reads the local store; --table reads AWS: give one');
    const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (region === undefined) throw new SourceError('--table needs --region (or AWS_REGION)');
    if (!REGION.test(region)) throw new SourceError(`--region "${region}" is not a region, e.g. eu-west-1`);
    const client = new DynamoDBClient({ region });
    return {
      queries: new IncidentQueries(client, { tableName: options.table }),
      description: `table ${options.table} in ${region}`,
      close: async () => client.destroy(),
    };
  }
  if (options.region !== undefined) throw new SourceError('--region goes with --table NAME');
  const folder = options.data ?? (env.PULLWATCH_DATA_DIR?.trim() || DEFAULT_DATA_DIR);
  const dataDir = isAbsolute(folder) ? folder : resolve(cwd, folder);
  if (!existsSync(dataDir)) {
    throw new SourceError(
      `no local store in ${relative(cwd, dataDir) || dataDir}: run local mode first (npm start), give its folder with --data <dir>, or read AWS with --table NAME --region R`,
    );
  }
  const store = await openLocalStore(dataDir, 'pullwatch incidents');
  const client = store.newClient();
  return {
    queries: new IncidentQueries(client, { tableName: store.tableName }),
    description: `local store ${dataDir}`,
    close: async () => {
      client.destroy();
      await store.close();
    },
  };
};

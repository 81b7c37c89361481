/**
 * The local incident store: dynalite (a DynamoDB-compatible server) on 127.0.0.1, persisted with
 * LevelDB under `<data>/dynamodb`, with the incident table created from the stack's own definition
 * (functions/_common/incident-table.ts). The real DynamoDB client talks to it.
 *
 * LevelDB allows one process per folder, so whoever opens the store records its endpoint in
 * `<data>/store.lock`. Local mode shares it: another process (`pullwatch incidents` while local mode
 * runs) uses that endpoint instead of opening the folder. A short-lived reader does not share (it
 * would close under its guest): others wait for it. A lock whose process is gone is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { incidentTableDefinition } from '../functions/_common/incident-table';
import { sleep } from '../functions/_common/sleep';

export const LOCAL_TABLE = 'pullwatch-incidents';
const LOCAL_REGION = 'us-east-1';
const LOCAL_CREDENTIALS = { accessKeyId: 'pullwatch-local', secretAccessKey: 'pullwatch-local' };

export interface LocalStore {
  endpoint: string;
  tableName: string;
  /** A new client for this store (each user closes its own). */
  newClient(): DynamoDBClient;
  /** Whether this process runs the store (false: it uses another process's). */
  owner: boolean;
  close(): Promise<void>;
}

export class StoreBusy extends Error {
  override readonly name = 'StoreBusy';
}

interface LockFile {
  pid: number;
  endpoint?: string;
  purpose: string;
  /** Whether others may use the endpoint (local mode stays up; a CLI reader closes soon). */
  shared: boolean;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const readLock = (path: string): LockFile | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockFile;
  } catch {
    return undefined;
  }
};

interface StoreServer {
  endpoint: string;
  close(): Promise<void>;
}

/**
 * dynalite on a LevelDB folder, in a process of its own (./dynalite-process.ts): the store's work
 * then runs on another core than the pipeline's, which about doubles what local mode can absorb.
 */
const startServer = (path: string): Promise<StoreServer> =>
  new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'dynalite-process.ts'), [path], {
      execArgv: ['--require', require.resolve('tsx/cjs')],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the store process exited (${code}) before it listened`)));
    child.once('message', (message: { port?: number; error?: string }) => {
      if (message.port === undefined) {
        reject(new Error(`the store could not start: ${message.error ?? 'unknown error'}`));
        return;
      }
      // It must not keep its parent alive, nor outlive it.
      child.unref();
      child.channel?.unref();
      resolve({
        endpoint: `http://127.0.0.1:${message.port}`,
        close: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            // Keep this process alive until the store has closed its LevelDB.
            child.ref();
            child.channel?.ref();
            child.send('close');
            await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000).unref())]);
            if (child.exitCode === null) child.kill('SIGKILL');
          }
        },
      });
    });
  });

/**
 * The local store checks that a request is signed, not the signature: a fixed, well-formed header
 * saves computing one (a third of a call's cost in the SDK).
 */
const unsigned = {
  sign: <T extends { headers: Record<string, string> }>(request: T): Promise<T> => {
    request.headers.authorization =
      'AWS4-HMAC-SHA256 Credential=pullwatch-local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0';
    request.headers['x-amz-date'] = '20260101T000000Z';
    return Promise.resolve(request);
  },
};

const clientFor = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    signer: unsigned,
    maxAttempts: 3,
  });

const tableStatus = async (client: DynamoDBClient, tableName: string): Promise<string | undefined> => {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableStatus;
  } catch (error) {
    if (error instanceof ResourceNotFoundException || (error as Error).name === 'ResourceNotFoundException') {
      return undefined;
    }
    throw error;
  }
};

const untilActive = async (client: DynamoDBClient, tableName: string, waitMs: number): Promise<boolean> => {
  const until = Date.now() + waitMs;
  for (;;) {
    if ((await tableStatus(client, tableName)) === 'ACTIVE') return true;
    if (Date.now() > until) return false;
    await sleep(20);
  }
};

/**
 * The table, created if missing, and ACTIVE. dynalite flips a new table to ACTIVE on a timer; a
 * process stopped before it did leaves it CREATING for ever (with no items): that one is recreated.
 */
const ensureTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  const status = await tableStatus(client, tableName);
  if (status === 'ACTIVE') return;
  if (status === undefined) {
    await client.send(new CreateTableCommand(incidentTableDefinition(tableName)));
    if (await untilActive(client, tableName, 5000)) return;
  } else if (await untilActive(client, tableName, 500)) {
    return;
  }
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  await untilGone(client, tableName);
  await client.send(new CreateTableCommand(incidentTableDefinition(tableName)));
  if (!(await untilActive(client, tableName, 5000)))
    throw new Error(`table ${tableName} did not become ACTIVE`);
};

const untilGone = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  const until = Date.now() + 5000;
  while ((await tableStatus(client, tableName)) !== undefined) {
    if (Date.now() > until) throw new Error(`table ${tableName} was not deleted`);
    await sleep(20);
  }
};

/**
 * Opens the store of a data folder: starts dynalite on it, or joins the process that already has.
 * `purpose` is recorded in the lock for the error message of a third party. With `endpoint`, the
 * table lives at that DynamoDB endpoint instead (e.g. a meter in front of a dynalite of its own);
 * the lock still publishes it, so readers of the folder go there too.
 */
export const openLocalStore = async (
  dataDir: string,
  purpose: string,
  options: { waitMs?: number; share?: boolean; endpoint?: string } = {},
): Promise<LocalStore> => {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, 'store.lock');
  const until = Date.now() + (options.waitMs ?? 15_000);
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (fd === undefined) {
      const lock = readLock(lockPath);
      if (lock !== undefined && lock.pid !== process.pid && !alive(lock.pid)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (lock?.endpoint !== undefined && lock.shared) {
        return {
          endpoint: lock.endpoint,
          tableName: LOCAL_TABLE,
          newClient: () => clientFor(lock.endpoint!),
          owner: false,
          close: async () => {},
        };
      }
      if (Date.now() > until) {
        throw new StoreBusy(
          `the store in ${dataDir} is held by process ${lock?.pid ?? '?'} (${lock?.purpose ?? 'unknown'}); try again when it is done`,
        );
      }
      await sleep(50);
      continue;
    }

    // Ours: start dynalite on the folder (or use the given endpoint), then publish its endpoint.
    const server =
      options.endpoint === undefined
        ? await startServer(join(dataDir, 'dynamodb'))
        : { endpoint: options.endpoint, close: () => Promise.resolve() };
    try {
      const { endpoint } = server;
      const client = clientFor(endpoint);
      try {
        await ensureTable(client, LOCAL_TABLE);
      } finally {
        client.destroy();
      }
      writeSync(
        fd,
        JSON.stringify({
          pid: process.pid,
          endpoint,
          purpose,
          shared: options.share ?? false,
        } satisfies LockFile),
      );
      closeSync(fd);
      let closed = false;
      return {
        endpoint,
        tableName: LOCAL_TABLE,
        newClient: () => clientFor(endpoint),
        owner: true,
        close: async () => {
          if (closed) return;
          closed = true;
          await server.close();
          rmSync(lockPath, { force: true });
        },
      };
    } catch (error) {
      closeSync(fd);
      rmSync(lockPath, { force: true });
      await server.close();
      throw error;
    }
  }
};

/**
 * The local incident store: dynalite (a DynamoDB-compatible server) on 127.0.0.1, persisted with
 * LevelDB under `<data>/dynamodb`, with the incident table created from the stack's own definition
 * (functions/_common/incident-table.ts). The real DynamoDB client talks to it.
 *
 * LevelDB allows one process per folder, so whoever opens the store records its endpoint in
 * `<data>/store.lock`. Local mode shares it: another process (`pullwatch incidents` while local mode
 * runs) uses that endpoint instead of opening the folder. A short-lived reader does not share (it
 * would close under its guest): others wait for it.
 *
 * The lock is never seen half-written: it is written to a file of its own and linked into place
 * (creation fails if a lock exists), and later replaced by a rename. So a start-up stopped at any
 * moment leaves either no lock or a complete one naming its process. A lock whose process is gone
 * (by pid, and by start time where /proc tells it, so a reused pid does not count), or that is
 * empty or unreadable (an older version's), is taken over, and said so in a notice.
 */
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { incidentTableDefinition } from '../functions/_common/incident-table';
import { sleep } from '../functions/_common/sleep';
import { TABLE_CLIENT_CONFIG } from '../functions/_common/table-client';
import type { StoreProcessMessage } from './dynalite-process';
import type { StoreState } from './store-check';

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
  /**
   * Owner only: whether the store may lack incidents an earlier run stored (new, emptied, damaged
   * or repaired): failures already shipped before must be shipped again.
   */
  startsAfresh: boolean;
  /** One line each for what was found wrong and done on opening (a lock taken over, a damaged store). */
  notices: string[];
  close(): Promise<void>;
}

export class StoreBusy extends Error {
  override readonly name = 'StoreBusy';
}

/** The store could not be started; the message is the one line to show. */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
}

interface LockFile {
  pid: number;
  /** The process's start time (/proc), so that a reused pid is not taken for the owner. */
  started?: string;
  endpoint?: string;
  purpose: string;
  /** Whether others may use the endpoint (local mode stays up; a CLI reader closes soon). */
  shared: boolean;
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), where there is a /proc. */
const processStart = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Locks this process holds, so that a lock naming our pid is told apart from a dead namesake's. */
const heldHere = new Set<string>();

type LockReading = { lock: LockFile; text: string } | { lock: undefined; text: string | undefined };

const readLock = (path: string): LockReading => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { lock: undefined, text: undefined };
  }
  try {
    const lock = JSON.parse(text) as LockFile;
    if (Number.isInteger(lock.pid) && lock.pid > 0 && typeof lock.purpose === 'string') return { lock, text };
  } catch {
    // unreadable: judged below
  }
  return { lock: undefined, text };
};

/** Why the lock no longer holds (its owner is gone, or it is unreadable), or undefined if it does. */
const staleReason = (path: string, reading: LockReading): string | undefined => {
  const { lock } = reading;
  if (lock === undefined) return reading.text?.trim() === '' ? 'it was empty' : 'it was unreadable';
  if (lock.pid === process.pid) return heldHere.has(path) ? undefined : `its process ${lock.pid} is gone`;
  if (!alive(lock.pid)) return `its process ${lock.pid} is gone`;
  const started = processStart(lock.pid);
  if (lock.started !== undefined && started !== undefined && started !== lock.started) {
    return `its process ${lock.pid} is gone (the pid now belongs to another process)`;
  }
  return undefined;
};

/** Whether a live process holds the store of `dataDir` (a stale lock does not count). */
export const storeInUse = (dataDir: string): boolean => {
  const path = join(dataDir, 'store.lock');
  const reading = readLock(path);
  return reading.text !== undefined && staleReason(path, reading) === undefined;
};

/** Writes `lock` to a file of its own beside `path`, for a link or rename into place. */
const writeAside = (path: string, lock: LockFile): string => {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const fd = openSync(aside, 'wx');
  try {
    writeSync(fd, JSON.stringify(lock));
  } finally {
    closeSync(fd);
  }
  return aside;
};

/** Creates the lock whole, or returns false if there is one. */
const createLock = (path: string, lock: LockFile): boolean => {
  const aside = writeAside(path, lock);
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    // A file system without hard links: create and write at once (a tiny window of an empty lock).
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, JSON.stringify(lock));
      } finally {
        closeSync(fd);
      }
      return true;
    } catch (fallback) {
      if ((fallback as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallback;
    }
  } finally {
    rmSync(aside, { force: true });
  }
};

/** Replaces our lock whole (readers never see it half-written). */
const replaceLock = (path: string, lock: LockFile): void => renameSync(writeAside(path, lock), path);

/**
 * Removes the stale lock read as `reading`, unless another process replaced it meanwhile (it is
 * moved aside first and compared, so two processes taking over at once cannot remove a fresh lock).
 */
const removeStale = (path: string, reading: LockReading): void => {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else took it over first
  }
  let moved: string | undefined;
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    moved = undefined;
  }
  if (moved !== reading.text) {
    try {
      linkSync(aside, path); // not the one we judged: put it back
    } catch {
      // a newer lock is in place already
    }
  }
  rmSync(aside, { force: true });
};

/** The store process was killed by a signal while starting (e.g. a Ctrl-C sent as it was forked). */
class StoreSignalled extends StoreUnavailable {}

/**
 * startServer, again if a signal stopped the store process while it started: a terminal's Ctrl-C
 * reaches a child forked at that very moment, before it has left the terminal's process group.
 * This process decides whether to stop; its store must be there to stop in order.
 */
const startServerSurely = async (path: string): Promise<StoreServer> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServer(path);
    } catch (error) {
      if (!(error instanceof StoreSignalled) || attempt === 3) throw error;
    }
  }
};

interface StoreServer {
  endpoint: string;
  state: StoreState;
  detail?: string;
  close(): Promise<void>;
}

/**
 * dynalite on a LevelDB folder, in a process of its own (./dynalite-process.ts): the store's work
 * then runs on another core than the pipeline's, which about doubles what local mode can absorb.
 * Detached, so that a Ctrl-C in the terminal reaches only this process, which closes the store in
 * order; the store process closes on its own when this one goes away.
 */
const startServer = (path: string): Promise<StoreServer> =>
  new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'dynalite-process.ts'), [path], {
      execArgv: ['--require', require.resolve('tsx/cjs')],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      detached: true,
    });
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // Keep this process alive until the store has closed its LevelDB.
        child.ref();
        child.channel?.ref();
        if (child.connected) child.send('close');
        await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000).unref())]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    };
    child.once('error', (error) =>
      reject(new StoreUnavailable(`the store process could not start: ${error.message}`)),
    );
    child.once('exit', (code, signal) =>
      reject(
        signal === null
          ? new StoreUnavailable(
              `the store process stopped before it was ready (exit code ${code}); see the lines above`,
            )
          : new StoreSignalled(`the store process was stopped by ${signal} before it was ready`),
      ),
    );
    child.once('message', (message: StoreProcessMessage) => {
      if (!('port' in message)) {
        const error = message.locked
          ? new StoreBusy(`${message.error}; stop it first, or use another data folder`)
          : new StoreUnavailable(`the store could not start: ${message.error}`);
        void stop().then(() => reject(error));
        return;
      }
      // It must not keep its parent alive, nor outlive it.
      child.unref();
      child.channel?.unref();
      resolve({
        endpoint: `http://127.0.0.1:${message.port}`,
        state: message.check.state,
        ...(message.check.detail === undefined ? {} : { detail: message.check.detail }),
        close: stop,
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
    ...TABLE_CLIENT_CONFIG,
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
const ensureTable = async (client: DynamoDBClient, tableName: string): Promise<'found' | 'created'> => {
  const status = await tableStatus(client, tableName);
  if (status === 'ACTIVE') return 'found';
  if (status === undefined) {
    await client.send(new CreateTableCommand(incidentTableDefinition(tableName)));
    if (await untilActive(client, tableName, 5000)) return 'created';
  } else if (await untilActive(client, tableName, 500)) {
    return 'found';
  }
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  await untilGone(client, tableName);
  await client.send(new CreateTableCommand(incidentTableDefinition(tableName)));
  if (!(await untilActive(client, tableName, 5000)))
    throw new StoreUnavailable(`table ${tableName} did not become ACTIVE`);
  return 'created';
};

const isEmpty = async (client: DynamoDBClient, tableName: string): Promise<boolean> =>
  ((await client.send(new ScanCommand({ TableName: tableName, Limit: 1, Select: 'COUNT' }))).Count ?? 0) ===
  0;

/** The one line for a store that is not as the last run left it, or undefined. */
const storeNotice = (
  dataDir: string,
  server: StoreServer,
  table: 'found' | 'created',
  leftovers: boolean,
): string | undefined => {
  const where = join(dataDir, 'dynamodb');
  switch (server.state) {
    case 'damaged':
    case 'repaired':
    case 'replaced':
      return `the store ${where} was damaged: ${server.detail ?? 'unknown damage'}`;
    case 'new':
      return leftovers
        ? `the store ${where} is missing (an earlier run left other files in ${dataDir}); a new, empty one was created`
        : undefined;
    case 'existing':
      return table === 'created'
        ? `the store ${where} had no incident table; a new, empty one was created`
        : undefined;
  }
};

const untilGone = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  const until = Date.now() + 5000;
  while ((await tableStatus(client, tableName)) !== undefined) {
    if (Date.now() > until) throw new StoreUnavailable(`table ${tableName} was not deleted`);
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
  // What an earlier run leaves besides the store: with these and no store, the store went missing.
  const leftovers = readdirSync(dataDir).some(
    (name) => name !== 'dynamodb' && !name.startsWith('store.lock'),
  );
  const until = Date.now() + (options.waitMs ?? 15_000);
  const notices: string[] = [];
  const started = processStart(process.pid);
  const ours: LockFile = {
    pid: process.pid,
    ...(started === undefined ? {} : { started }),
    purpose,
    shared: false,
  };
  for (;;) {
    if (!createLock(lockPath, ours)) {
      const reading = readLock(lockPath);
      if (reading.text === undefined) continue; // removed meanwhile: try again
      const stale = staleReason(lockPath, reading);
      if (stale !== undefined) {
        removeStale(lockPath, reading);
        notices.push(
          `took over the lock ${lockPath}${reading.lock === undefined ? '' : ` of ${reading.lock.purpose}`}: ${stale}`,
        );
        continue;
      }
      const { lock } = reading;
      if (lock?.endpoint !== undefined && lock.shared) {
        return {
          endpoint: lock.endpoint,
          tableName: LOCAL_TABLE,
          newClient: () => clientFor(lock.endpoint!),
          owner: false,
          startsAfresh: false,
          notices,
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

    // Ours: start dynalite on the folder, then publish its endpoint. Any failure on the way
    // removes the lock and stops the store process.
    heldHere.add(lockPath);
    let server: StoreServer | undefined;
    const release = async () => {
      await server?.close();
      heldHere.delete(lockPath);
      rmSync(lockPath, { force: true });
    };
    try {
      // With `endpoint`, the table lives there instead (e.g. a capacity meter in front of a dynalite).
      server =
        options.endpoint === undefined
          ? await startServerSurely(join(dataDir, 'dynamodb'))
          : { endpoint: options.endpoint, state: 'existing', close: () => Promise.resolve() };
      const { endpoint } = server;
      const client = clientFor(endpoint);
      let table: 'found' | 'created';
      let empty: boolean;
      try {
        table = await ensureTable(client, LOCAL_TABLE);
        empty = await isEmpty(client, LOCAL_TABLE);
      } finally {
        client.destroy();
      }
      const notice = storeNotice(dataDir, server, table, leftovers);
      if (notice !== undefined) notices.push(notice);
      replaceLock(lockPath, { ...ours, endpoint, shared: options.share ?? false });
      let closed = false;
      return {
        endpoint,
        tableName: LOCAL_TABLE,
        newClient: () => clientFor(endpoint),
        owner: true,
        startsAfresh: empty || server.state !== 'existing' || table === 'created',
        notices,
        close: async () => {
          if (closed) return;
          closed = true;
          await release();
        },
      };
    } catch (error) {
      await release();
      if (error instanceof StoreBusy || error instanceof StoreUnavailable) throw error;
      throw new StoreUnavailable(
        `the store in ${dataDir} did not answer: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
};

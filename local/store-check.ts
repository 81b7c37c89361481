/**
 * The store's LevelDB folder, checked before dynalite opens it (in ./dynalite-process.ts), so that a
 * missing, damaged or unreadable store is said in one line instead of surfacing as "Database is
 * closed" on the first request, or not at all:
 *
 * - no folder (or no `CURRENT` in it): a new store;
 * - opens, but LevelDB dropped unreadable records of its log on recovery (flipped bytes): damaged,
 *   with what remains kept;
 * - does not open, or a record does not read back as JSON (garbage `CURRENT`, missing manifest,
 *   flipped bytes in a table): repaired with LevelDB's own repair, after a copy of the damaged folder
 *   is kept beside it; if even that fails, a new store is started (the copy stays).
 *
 * LevelDB allows one process per folder: a store process of an earlier run that is still closing
 * holds its LOCK for a moment, so a locked folder is retried for a few seconds before giving up.
 */
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sleep } from '../functions/_common/sleep';

export type StoreState = 'existing' | 'new' | 'damaged' | 'repaired' | 'replaced';

export interface StoreCheck {
  state: StoreState;
  /** What was wrong and what was done, for the one line local mode prints. */
  detail?: string;
}

/** The store folder is locked by another live process for longer than an earlier run takes to close. */
export class StoreLocked extends Error {
  override readonly name = 'StoreLocked';
}

interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
  iterator(): AsyncIterable<[string, string]>;
}
interface LevelClass {
  new (path: string, options: Record<string, unknown>): LevelDatabase;
  repair(path: string): Promise<void>;
}

// dynalite's own LevelDB binding (the one that will open the folder next), not a second copy.
const { Level } = require(require.resolve('level', { paths: [dirname(require.resolve('dynalite'))] })) as {
  Level: LevelClass;
};

const LOCK_WAIT_MS = 10_000;

const reasonOf = (error: unknown): string => {
  const cause = (error as { cause?: unknown }).cause;
  const message =
    cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0]!;
};

const isLocked = (error: unknown): boolean =>
  (error as { code?: string }).code === 'LEVEL_LOCKED' ||
  ((error as { cause?: { code?: string } }).cause?.code ?? '') === 'LEVEL_LOCKED';

/** Bytes LevelDB reports in its info LOG as dropped while recovering its log (0: none). */
const droppedBytes = (path: string): number => {
  let text: string;
  try {
    text = readFileSync(join(path, 'LOG'), 'utf8');
  } catch {
    return 0;
  }
  let total = 0;
  for (const match of text.matchAll(/dropping (\d+) bytes; Corruption/g)) total += Number(match[1]);
  return total;
};

/** Opens the folder and reads every record back: throws what LevelDB (or the JSON) says is wrong. */
const readEverything = async (path: string): Promise<number> => {
  const db = new Level(path, { valueEncoding: 'utf8', createIfMissing: false });
  await db.open();
  try {
    let records = 0;
    for await (const [, value] of db.iterator()) {
      JSON.parse(value);
      records++;
    }
    return records;
  } finally {
    await db.close();
  }
};

const stamp = (now: Date) => now.toISOString().replace(/[:.]/g, '-');

/** Checks, and if need be repairs, the LevelDB folder `path` (see the header). */
export const checkStoreFolder = async (path: string, now: Date = new Date()): Promise<StoreCheck> => {
  const present = existsSync(path) && readdirSync(path).length > 0;
  if (!present) return { state: 'new' };
  let problem: string | undefined;
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await readEverything(path);
      break;
    } catch (error) {
      if (isLocked(error)) {
        if (Date.now() > until) {
          throw new StoreLocked(`the store ${path} is locked by another process (${reasonOf(error)})`);
        }
        await sleep(200);
        continue;
      }
      problem = reasonOf(error);
      break;
    }
  }
  if (problem === undefined) {
    const dropped = droppedBytes(path);
    return dropped === 0
      ? { state: 'existing' }
      : {
          state: 'damaged',
          detail: `LevelDB dropped ${dropped.toLocaleString('en')} unreadable bytes of its log (incidents written last may be missing)`,
        };
  }

  const kept = join(dirname(path), `${basename(path)}.damaged-${stamp(now)}`);
  cpSync(path, kept, { recursive: true });
  try {
    await Level.repair(path);
    await readEverything(path);
    return {
      state: 'repaired',
      detail: `it could not be read (${problem}); LevelDB repaired it, and the damaged copy is kept in ${kept}`,
    };
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    return {
      state: 'replaced',
      detail: `it could not be read (${problem}) nor repaired (${reasonOf(error)}); it was moved to ${kept} and a new store started`,
    };
  }
};

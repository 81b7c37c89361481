/**
 * Optimistic concurrency, once for every store: read, fold, write conditional on the version read;
 * when another writer got there first, back off and do it all again, a bounded number of times.
 */
import { sleep as realSleep } from './sleep';

/** Concurrent writers kept winning: give the work back (the queue retries it later). */
export class TooManyConflicts extends Error {
  override readonly name = 'TooManyConflicts';
}

export interface ConflictRetry {
  /** Reads and folds again at most this often. */
  maxAttempts: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Full-jitter exponential back-off: spreads contending writers apart. */
export const conflictBackoffMs = (attempt: number, random: () => number): number =>
  Math.floor(random() * Math.min(1000, 10 * 2 ** attempt));

/**
 * Runs `attempt` (a read, a fold and a conditional write) until it does not throw a conflict
 * (`isConflict`), telling `onConflict` each time; TooManyConflicts after `maxAttempts`.
 */
export const untilWritten = async <T>(
  what: string,
  retry: ConflictRetry & { isConflict: (error: unknown) => boolean; onConflict?: () => void },
  attempt: () => Promise<T>,
): Promise<T> => {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (!retry.isConflict(error)) throw error;
      retry.onConflict?.();
      if (n >= retry.maxAttempts) throw new TooManyConflicts(`${what}: ${n} conflicting writes in a row`);
      await (retry.sleep ?? realSleep)(conflictBackoffMs(n, retry.random ?? Math.random));
    }
  }
};

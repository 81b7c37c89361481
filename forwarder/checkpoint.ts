/**
 * What EventBridge has acknowledged, per container, kept in a file so that a restarted forwarder
 * does not re-ship failures it already shipped (and does ship what changed while it was down).
 *
 * The file is written atomically (temporary file, then rename), debounced, and at shutdown.
 * A missing, unreadable or foreign file is an empty checkpoint: the forwarder then ships what is
 * failing now, which the backend deduplicates.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CONTAINER_TYPES, DETAIL_TYPE, workloadSchema } from '#shared/contract';
import { type Logger, describeError } from './log';
import type { Episode } from './container-tracker';
import type { OutgoingEvent } from './outgoing-events';

const episodeSchema = z.object({
  key: z.string(),
  namespace: z.string(),
  pod: z.string(),
  podUid: z.string(),
  node: z.string(),
  serviceAccount: z.string(),
  pullSecrets: z.array(z.string()),
  annotations: z.record(z.string(), z.string()),
  pullSecretWarning: z.string().optional(),
  container: z.string(),
  containerType: z.enum(CONTAINER_TYPES),
  image: z.string(),
  reason: z.string(),
  message: z.string(),
  informative: z.boolean(),
  fingerprint: z.string(),
  workload: workloadSchema,
  firstSeen: z.string(),
  lastSeen: z.string(),
  count: z.number(),
});

const FORMAT = 1;
const fileSchema = z.object({
  format: z.literal(FORMAT),
  cluster: z.string(),
  savedAt: z.string(),
  episodes: z.array(episodeSchema),
});

/** Failures EventBridge acknowledged and that have not recovered since. */
export class DeliveredLedger {
  private readonly episodes = new Map<string, Episode>();
  private version = 0;
  private savedVersion = 0;

  constructor(initial: Iterable<Episode> = []) {
    for (const episode of initial) this.episodes.set(episode.key, episode);
  }

  /** Records acknowledged events (the shipper's onDelivered). */
  delivered(events: readonly OutgoingEvent[]): void {
    for (const event of events) {
      if (event.episode === undefined) continue;
      if (event.detailType === DETAIL_TYPE.failed) this.episodes.set(event.key, event.episode);
      else if (event.detailType === DETAIL_TYPE.recovered) this.episodes.delete(event.key);
      this.version++;
    }
  }

  get changed(): boolean {
    return this.version !== this.savedVersion;
  }

  get size(): number {
    return this.episodes.size;
  }

  /** The episodes, and a function to call once they are safely stored. */
  snapshot(): { episodes: Episode[]; stored: () => void } {
    const version = this.version;
    return {
      episodes: [...this.episodes.values()],
      stored: () => {
        this.savedVersion = version;
      },
    };
  }
}

export interface CheckpointStore {
  load(): Promise<Episode[]>;
  save(episodes: readonly Episode[]): Promise<void>;
}

export const fileCheckpoint = (path: string, cluster: string, log: Logger): CheckpointStore => ({
  async load() {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.warn('could not read the checkpoint; starting without it', { path, ...describeError(error) });
      }
      return [];
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (error) {
      log.warn('the checkpoint is not valid; starting without it', { path, ...describeError(error) });
      return [];
    }
    if (parsed.cluster !== cluster) {
      log.warn('the checkpoint belongs to another cluster; starting without it', {
        path,
        checkpointCluster: parsed.cluster,
      });
      return [];
    }
    return parsed.episodes.map((episode) => {
      const { pullSecretWarning, ...rest } = episode;
      return pullSecretWarning === undefined ? rest : { ...rest, pullSecretWarning };
    });
  },
  async save(episodes) {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    const body = { format: FORMAT, cluster, savedAt: new Date().toISOString(), episodes };
    await writeFile(temporary, JSON.stringify(body));
    await rename(temporary, path);
  },
});

/** Saves the ledger when it changed, at most every `intervalMs`, and once more on `close`. */
export class CheckpointWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly ledger: DeliveredLedger,
    private readonly store: CheckpointStore,
    private readonly log: Logger,
    private readonly intervalMs = 5000,
  ) {}

  /** Call after the ledger changed. */
  touch(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, this.intervalMs);
    this.timer.unref();
  }

  save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.ledger.changed) return;
      const { episodes, stored } = this.ledger.snapshot();
      try {
        await this.store.save(episodes);
        stored();
      } catch (error) {
        this.log.error('could not save the checkpoint', describeError(error));
      }
    });
    return this.writing;
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.save();
  }
}

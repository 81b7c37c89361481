/**
 * Owners of ReplicaSets and Jobs, looked up on demand through the API and cached, so a pod's
 * workload can be resolved (Pod → ReplicaSet → Deployment, Job → CronJob) without watching every
 * ReplicaSet of the cluster. Only pods that fail to pull are looked up.
 */
import { type Logger, describeError } from './log';
import type { OwnerReference, PodLike } from './kube-objects';
import { type OwnerLookup, ownerLookupsFor } from './workload-resolution';

/** Owners of an object, [] when it has none, null when it does not exist; throws on other errors. */
export type FetchOwners = (kind: string, namespace: string, name: string) => Promise<OwnerReference[] | null>;

interface Entry {
  owners: OwnerReference[] | null | undefined;
  /** Epoch ms after which an unknown (failed) lookup is tried again. */
  retryAt: number;
}

export class WorkloadDirectory {
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly fetchOwners: FetchOwners,
    private readonly log: Logger,
    private readonly maxEntries = 5000,
    private readonly retryAfterMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private static key(kind: string, namespace: string, name: string): string {
    return `${kind}/${namespace}/${name}`;
  }

  /** The synchronous lookup observe.resolveWorkload uses: cached answers only. */
  readonly lookup: OwnerLookup = (kind, namespace, name) => {
    const key = WorkloadDirectory.key(kind, namespace, name);
    const entry = this.cache.get(key);
    if (entry === undefined) return undefined;
    // Least recently used goes first when the cache is full.
    this.cache.delete(key);
    this.cache.set(key, entry);
    return entry.owners;
  };

  /** Fetches the owners this pod's workload resolution needs, unless cached. Never throws. */
  async prefetch(pod: PodLike): Promise<void> {
    await Promise.all(
      ownerLookupsFor(pod).map(({ kind, namespace, name }) => {
        const key = WorkloadDirectory.key(kind, namespace, name);
        const cached = this.cache.get(key);
        if (cached !== undefined && (cached.owners !== undefined || this.now() < cached.retryAt))
          return undefined;
        let pending = this.inFlight.get(key);
        if (pending === undefined) {
          pending = this.fetch(key, kind, namespace, name).finally(() => this.inFlight.delete(key));
          this.inFlight.set(key, pending);
        }
        return pending;
      }),
    );
  }

  private async fetch(key: string, kind: string, namespace: string, name: string): Promise<void> {
    let entry: Entry;
    try {
      const owners = await this.fetchOwners(kind, namespace, name);
      entry = { owners, retryAt: 0 };
    } catch (error) {
      this.log.warn('could not look up a workload owner; using the naming fallback', {
        kind,
        namespace,
        name,
        ...describeError(error),
      });
      entry = { owners: undefined, retryAt: this.now() + this.retryAfterMs };
    }
    this.cache.set(key, entry);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }
}

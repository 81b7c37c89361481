/**
 * Informers (list+watch) from @kubernetes/client-node that restart themselves.
 *
 * client-node 1.4.0 re-lists on its own after 410 Gone and re-watches when the server ends a
 * stream, but any other error stops the informer: it is started again here with exponential
 * back-off. Its watch has no client-side timeout, so the watch asks the server for one
 * (`timeoutSeconds`) and a watchdog restarts an informer that has been silent for too long.
 *
 * `makeInformer` has no field-selector parameter in 1.4.0, so this builds the same `ListWatch`
 * it would, with the field selector ListWatch supports.
 */
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  type ObjectCallback,
  Watch,
} from '@kubernetes/client-node';
import { type Logger, describeError } from './log';
import { backoffDelay, sleep } from './delays';

export interface InformerHealth {
  name: string;
  synced: boolean;
  lastListAt?: number;
  /** Last list, watch connection, or watch event. */
  lastActivityAt?: number;
  restarts: number;
}

/** One page of a list call: the API client's list methods return this. */
export type ListPage<T extends KubernetesObject> = (
  continueToken: string | undefined,
) => Promise<KubernetesListObject<T>>;

export interface InformerOptions<T extends KubernetesObject> {
  name: string;
  kubeConfig: KubeConfig;
  /** API path of the collection, e.g. /api/v1/pods or /api/v1/namespaces/shop/events. */
  path: string;
  fieldSelector?: string;
  listPage: ListPage<T>;
  /** Trims an object before it is cached (e.g. managedFields). */
  slim?: (object: T) => T;
  log: Logger;
  watchTimeoutSeconds?: number;
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** Silence (no list, connection or event) after which the watch counts as stuck and is restarted. */
  stallAfterMs?: number;
  onRestart?: (cause: 'error' | 'stalled') => void;
  now?: () => number;
}

/**
 * Lists all pages of a collection into one list (resourceVersion of the snapshot). Each page is
 * slimmed as it arrives, so only one page of full objects is ever held: a 100,000-pod list of full
 * objects would need gigabytes.
 */
export const listAllPages = async <T extends KubernetesObject>(
  page: ListPage<T>,
  slim: (object: T) => T = (object) => object,
): Promise<KubernetesListObject<T>> => {
  const items: T[] = [];
  let token: string | undefined;
  let last: KubernetesListObject<T>;
  do {
    last = await page(token);
    for (const item of last.items) items.push(slim(item));
    last.items = [];
    token = last.metadata?._continue || undefined;
  } while (token !== undefined);
  return { ...last, items };
};

/** A Watch that asks for a server-side timeout and bookmarks and reports activity. */
class ObservedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timeoutSeconds: number,
    private readonly onActivity: () => void,
    private readonly slim: ((object: never) => unknown) | undefined,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    let failed = false;
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds },
      (phase, object, watchObject) => {
        this.onActivity();
        callback(phase, this.slim && phase !== 'ERROR' ? this.slim(object as never) : object, watchObject);
      },
      (error) => {
        if (error) failed = true;
        done(error);
      },
    );
    if (!failed) this.onActivity();
    return controller;
  }
}

export class SupervisedInformer<T extends KubernetesObject> {
  private readonly listWatch: ListWatch<T>;
  private readonly health: InformerHealth;
  private readonly now: () => number;
  private stopping = false;
  private restarting = false;
  private attempt = 0;
  private lastRestartAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private resolveSynced!: () => void;
  private resolveStopped!: () => void;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  private readonly stopped: Promise<void>;

  constructor(private readonly options: InformerOptions<T>) {
    this.now = options.now ?? Date.now;
    this.health = { name: options.name, synced: false, restarts: 0 };
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    const touch = (): void => {
      this.health.lastActivityAt = this.now();
      this.attempt = 0;
    };
    const watch = new ObservedWatch(
      options.kubeConfig,
      options.watchTimeoutSeconds ?? 300,
      touch,
      options.slim as ((object: never) => unknown) | undefined,
    );
    const list = async (): Promise<KubernetesListObject<T>> => {
      const listed = await listAllPages(options.listPage, options.slim);
      this.health.lastListAt = this.now();
      touch();
      if (!this.health.synced) {
        this.health.synced = true;
        this.resolveSynced();
      }
      return listed;
    };
    this.listWatch = new ListWatch<T>(options.path, watch, list, false, undefined, options.fieldSelector);
    this.listWatch.on('error', (error?: unknown) => this.failed(error));
  }

  on(verb: 'add' | 'update' | 'delete', callback: ObjectCallback<T>): void {
    this.listWatch.on(verb, callback);
  }

  /** The cached object, by name and namespace. */
  get(name: string, namespace?: string): T | undefined {
    return this.listWatch.get(name, namespace);
  }

  list(): ReadonlyArray<T> {
    return this.listWatch.list();
  }

  healthSnapshot(): InformerHealth {
    return { ...this.health };
  }

  /**
   * Starts list+watch; resolves once the first list succeeded (retrying with back-off until then),
   * or when stopped first.
   */
  async start(): Promise<void> {
    this.stopping = false;
    const stallAfterMs = this.options.stallAfterMs ?? ((this.options.watchTimeoutSeconds ?? 300) + 60) * 1000;
    this.watchdog = setInterval(() => this.checkStall(stallAfterMs), Math.min(stallAfterMs / 4, 30_000));
    this.watchdog.unref();
    await this.listWatch.start();
    await Promise.race([this.synced, this.stopped]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.resolveStopped();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    await this.listWatch.stop();
  }

  private failed(error: unknown): void {
    if (this.stopping || this.restarting) return;
    this.health.restarts++;
    this.options.onRestart?.('error');
    const delay = backoffDelay(
      this.attempt,
      this.options.restartBaseMs ?? 1000,
      this.options.restartMaxMs ?? 30_000,
    );
    this.attempt++;
    this.options.log.warn('watch failed; restarting', {
      informer: this.options.name,
      delayMs: delay,
      ...describeError(error),
    });
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) void this.listWatch.start();
    }, delay);
  }

  private checkStall(stallAfterMs: number): void {
    if (this.stopping || this.restarting || this.restartTimer !== undefined) return;
    const last = this.health.lastActivityAt;
    if (last === undefined || this.now() - Math.max(last, this.lastRestartAt) < stallAfterMs) return;
    this.health.restarts++;
    this.options.onRestart?.('stalled');
    this.options.log.warn('watch silent for too long; restarting', {
      informer: this.options.name,
      silentMs: this.now() - last,
    });
    void this.restart();
  }

  /** Aborts the current watch and starts again from the last resourceVersion. */
  private async restart(): Promise<void> {
    this.restarting = true;
    this.lastRestartAt = this.now();
    try {
      await this.listWatch.stop();
      // The aborted request reports its AbortError asynchronously; let it arrive before restarting,
      // or it would abort the new request.
      await sleep(50);
    } finally {
      this.restarting = false;
    }
    if (!this.stopping) await this.listWatch.start();
  }
}

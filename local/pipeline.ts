/**
 * The pipeline of local mode: the Lambda handlers (classify, dedupe, notify, the watchdog), built
 * by the same factories as the deployed functions, behind the local bus's rules. The rules are the
 * stack's own table (shared/bus-rules.ts), matched with the matcher shared/ exports, so a rule
 * changed for AWS changes local routing too. The scheduled ticks run on timers.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoActionStore } from '../functions/_common/incident-actions-store';
import { createInteractionsWorker } from '../functions/actions/worker';
import { ecosystemCredentials } from '../functions/_common/registry-check/credentials';
import { CachedUserGroups } from '../functions/_common/user-groups';
import type { MuteAllowList } from '#shared/incident-actions';
import { BUS_RULES, type BusRulePattern, type BusRuleTarget } from '#shared/bus-rules';
import { heartbeatPattern, matchesPattern } from '#shared/contract';
import type { Incident, IncidentWindows } from '#shared/incident';
import { PIPELINE_SOURCE } from '#shared/incident-events';
import type { EventPublisher, PipelineEntry, PublishOutcome } from '../functions/_common/event-publisher';
import { DynamoIncidentStore } from '../functions/_common/incident-store';
import type { Notifier, SlackPeople } from '../functions/_common/notifier';
import type { Log, MetricName, PipelineMetrics } from '../functions/_common/observability';
import type { RegistryCheckConfig } from '#shared/registry-check/check-config';
import {
  type CheckSite,
  PipelineRegistryCheck,
  ecrClientsByRegion,
} from '../functions/_common/registry-check/pipeline-checker';
import { createClassifyHandler } from '../functions/classify/classify';
import {
  type DedupeDeps,
  PublishedOutbox,
  createDedupeHandler,
  createTickHandler,
  flushPublished,
} from '../functions/dedupe/dedupe';
import {
  type NotifyDeps,
  createNotifyHandler,
  createNotifyTickHandler,
  sweepOwedPosts,
} from '../functions/notify/notify';
import {
  type WatchdogDeps,
  createHeartbeatHandler,
  createWatchdogTickHandler,
} from '../functions/watchdog/watchdog';
import { DynamoForwarderStore } from '../functions/_common/forwarder-store';
import type { Route } from '#shared/routing';
import type { PutEntry, PutEventsSender, PutResult } from '../forwarder/ship';
import { type BusEvent, LocalBus, type QueueHandler } from './bus';

/** The pipeline's events, put on the local bus (what EventBridgePublisher does in AWS). */
export const busPublisher = (bus: LocalBus, now: () => Date = () => new Date()): EventPublisher => ({
  publish: (entries: readonly PipelineEntry[]): Promise<PublishOutcome[]> => {
    bus.put(
      entries.map((entry) => ({
        source: PIPELINE_SOURCE,
        detailType: entry.detailType,
        detail: entry.detail,
        time: now(),
      })),
    );
    return Promise.resolve(entries.map(() => ({ ok: true as const })));
  },
});

/** The bus stopped before what it was given was stored: the caller keeps it and tries again. */
export class NotStored extends Error {
  override readonly name = 'NotStored';
}

/**
 * The forwarder's PutEvents, answered by the local bus. In AWS, EventBridge's acceptance is durable;
 * here the bus is memory, so with `durable` a call is answered only once dedupe has stored what
 * classify made of its failures and recoveries (or dead-lettered it, as SQS would): the forwarder's
 * checkpoint then never counts as shipped what a crash could lose.
 */
export const forwarderPublisher = (bus: LocalBus, options: { durable?: boolean } = {}): PutEventsSender => ({
  putEvents: async (entries: PutEntry[]): Promise<PutResult> => {
    const events = entries.map((entry) => ({
      source: entry.Source,
      detailType: entry.DetailType,
      detail: JSON.parse(entry.Detail) as unknown,
      time: entry.Time,
    }));
    const ids = bus.put(events);
    const classify = LOCAL_RULES.find((candidate) => candidate.target === 'classify')!;
    const classified = events.some((event) =>
      classify.matches({ source: event.source, 'detail-type': event.detailType }),
    );
    // classify publishes before its handler returns, so once it has handled these, what it made of
    // them is queued for dedupe.
    if (
      options.durable === true &&
      classified &&
      !((await bus.handled('classify')) && (await bus.handled('dedupe')))
    ) {
      throw new NotStored('local mode stopped before these events were stored');
    }
    return { FailedEntryCount: 0, Entries: ids.map((EventId) => ({ EventId })) };
  },
});

/** Counts, for the status line and the benchmark (the Lambdas emit EMF instead). */
export class CountingMetrics implements PipelineMetrics {
  readonly counts = new Map<MetricName, number>();
  count(metric: MetricName, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }
  flush(): void {}
  get(metric: MetricName): number {
    return this.counts.get(metric) ?? 0;
  }
}

/** A rule of the local bus: which pattern from shared/ feeds which target. */
export interface LocalRule {
  target: BusRuleTarget | 'status';
  pattern: BusRulePattern;
  matches: (event: Pick<BusEvent, 'source' | 'detail-type'>) => boolean;
}

const rule = (target: LocalRule['target'], pattern: BusRulePattern): LocalRule => ({
  target,
  pattern,
  matches: (event) => matchesPattern(pattern, event),
});

/** The stack's rules (shared/bus-rules.ts, matched with the matcher shared/ exports for them). */
export const LOCAL_RULES: readonly LocalRule[] = [
  ...BUS_RULES.map(({ target, pattern }) => rule(target, pattern)),
  // Local only: the status line's count of failing containers.
  rule('status', heartbeatPattern),
];

/**
 * Records per handler call. dedupe folds a batch's observations per incident key and notify brings
 * each incident of a batch up to date once, so when events arrive faster than they are handled, big
 * batches coalesce the backlog instead of letting it grow (the deployed event source mappings can
 * be set the same way, with a batching window).
 */
export const BATCH_SIZES: Record<LocalRule['target'], number> = {
  classify: 100,
  dedupe: 100,
  notify: 100,
  'dead-letter': 10,
  watchdog: 10,
  interactions: 10,
  status: 10,
};

export interface LocalPipelineOptions {
  bus: LocalBus;
  client: DynamoDBClient;
  tableName: string;
  windows: IncidentWindows;
  notifier: Notifier;
  route: (incident: Incident) => Route;
  leaseMs: number;
  log: Log;
  metrics: PipelineMetrics;
  tickIntervalMs: number;
  /** Keys (dedupe) and incidents (notify) a handler works on at once within a batch. */
  concurrency?: number;
  /** Targets of the rules that are not Lambda handlers here (rejections; heartbeats for the status line). */
  onRejected: QueueHandler;
  onHeartbeat: QueueHandler;
  /** Slack channels for the watchdog's messages about a cluster. */
  channelFor: (cluster: string) => string;
  now?: () => Date;
  onTickError?: (tick: string, error: unknown) => void;
  /** The registry check, asked from this machine with its own credentials (off when absent or disabled). */
  registryCheck?: RegistryCheckConfig;
  /** Where the check runs; the laptop (its docker/containers credentials, its AWS profile) by default. */
  registryCheckSite?: Partial<CheckSite>;
  /** Actions from Slack are taken (local/interactions.ts): messages get controls, snoozes and mutes hold. */
  interactions?: boolean;
  /** Who may mute (PULLWATCH_SLACK_MUTE_USERS). */
  muteAllowList?: MuteAllowList;
  /** Slack itself (when configured): user groups of the allow-list, ephemeral refusals. */
  slackPeople?: SlackPeople;
}

/** The check from a laptop: says so in every answer, and reaches what the laptop reaches. */
export const laptopRegistryCheck = (
  config: RegistryCheckConfig | undefined,
  site: Partial<CheckSite> = {},
): PipelineRegistryCheck | undefined =>
  config?.enabled
    ? new PipelineRegistryCheck(config, {
        checkedFrom: 'laptop',
        // A laptop's private ranges are its own network (a VPN, the office).
        denyPrivate: false,
        credentials: ecosystemCredentials(process.env),
        ecrClient: ecrClientsByRegion(),
        ...site,
      })
    : undefined;

export interface LocalPipeline {
  store: DynamoIncidentStore;
  /** Puts pipeline events on the local bus (local/interactions.ts hands Slack's actions on with it). */
  publisher: EventPublisher;
  /** The scheduled ticks, runnable at will (tests, shutdown). */
  tick(): Promise<void>;
  /**
   * Removes every published event still in an outbox (before the store closes), once notify has
   * handled every event: otherwise they stay, and the next start publishes them again.
   */
  drain(): Promise<void>;
  /**
   * Posts every post still owed, whatever its grace (at start, nothing of an earlier run is in
   * flight any more): what a crash, or a stop with notify's queue not empty, left unposted.
   */
  sweepOwed(): Promise<{ owed: number; failed: number }>;
  /** Stops a sweep in progress (before the store closes). */
  stopSweeping(): void;
}

/** Owed posts read per query of the start-up sweep. */
const OWED_PAGE = 200;

/** Builds the handlers and puts them behind the bus's rules and schedules. */
export const wirePipeline = (options: LocalPipelineOptions): LocalPipeline => {
  const now = options.now ?? (() => new Date());
  const { bus, windows, log, metrics } = options;
  const store = new DynamoIncidentStore(options.client, { tableName: options.tableName, windows });
  const publisher = busPublisher(bus, now);
  // A key's write is several store calls in turn, each answered in milliseconds: with one batch at a
  // time per queue, the handlers are bound by round trips, not CPU (8 at once kept dedupe at ~90
  // keys/s, behind bench:e2e's 100 observations/s; 32 keeps up).
  const concurrency = options.concurrency ?? 32;
  // The only writer of its store: an incident's published events are removed by its next write
  // (usually within the second), or by the flush below (see functions/dedupe/dedupe.ts).
  const publishedOutbox = new PublishedOutbox();
  const dedupeDeps: DedupeDeps & { outboxCleanup: PublishedOutbox } = {
    store,
    publisher,
    windows,
    log,
    metrics,
    now,
    concurrency,
    outboxCleanup: publishedOutbox,
  };
  // What notify and the watchdog share: Slack, posting claims, the bus, the clock.
  const posting = {
    notifier: options.notifier,
    leaseMs: options.leaseMs,
    publisher,
    log,
    metrics,
    now,
    newToken: randomUUID,
    concurrency,
  };
  const actions = new DynamoActionStore(options.client, { tableName: options.tableName, now });
  const notifyDeps: NotifyDeps = {
    ...posting,
    store,
    storms: store.storms,
    posts: store.posts,
    owed: store.owed,
    route: options.route,
    windows,
    ...(options.interactions ? { actions } : {}),
  };
  const forwarders = new DynamoForwarderStore(options.client, { tableName: options.tableName });
  const watchdogDeps: WatchdogDeps = {
    ...posting,
    store: forwarders,
    posts: forwarders.posts,
    channelFor: options.channelFor,
    silenceMs: windows.silenceMs,
  };
  // One check, one cache: classify's answers and the re-checks from Slack share them.
  const registryCheck = laptopRegistryCheck(options.registryCheck, options.registryCheckSite);
  const registryCheckDeps = registryCheck === undefined ? {} : { registryCheck };
  const handlers: Record<LocalRule['target'], QueueHandler> = {
    classify: createClassifyHandler({ publisher, log, metrics, now, ...registryCheckDeps }),
    dedupe: createDedupeHandler(dedupeDeps),
    notify: createNotifyHandler(notifyDeps),
    'dead-letter': options.onRejected,
    watchdog: createHeartbeatHandler(watchdogDeps),
    interactions: createInteractionsWorker({
      ...posting,
      store,
      storms: store.storms,
      posts: store.posts,
      actions,
      windows,
      // Re-check asks the image's registry with classify's check (off: it re-reads the state).
      ...registryCheckDeps,
      ...(options.muteAllowList === undefined ? {} : { muteAllowList: options.muteAllowList }),
      ...(options.slackPeople === undefined
        ? {}
        : {
            people: options.slackPeople,
            userGroups: new CachedUserGroups(options.slackPeople, () => now().getTime()),
          }),
    }),
    status: options.onHeartbeat,
  };
  for (const rule of LOCAL_RULES) {
    bus.rule({
      name: rule.target,
      matches: rule.matches,
      handler: handlers[rule.target],
      batchSize: BATCH_SIZES[rule.target],
    });
  }

  const dedupeTick = createTickHandler(dedupeDeps);
  const notifyTick = createNotifyTickHandler(notifyDeps);
  const watchdogTick = createWatchdogTickHandler(watchdogDeps);
  const onError = (name: string) => (error: unknown) => options.onTickError?.(name, error);
  bus.schedule('dedupe.tick', options.tickIntervalMs, dedupeTick, onError('dedupe.tick'));
  bus.schedule('notify.tick', options.tickIntervalMs, notifyTick, onError('notify.tick'));
  bus.schedule('watchdog.tick', options.tickIntervalMs, watchdogTick, onError('watchdog.tick'));
  // An outbox entry stays until notify has handled its event: it is removed only once every record
  // queued for notify up to the entry's time has been handled (a crash before that publishes it
  // again from the store, on the incident's next write).
  const notifyHandledBefore = (at: number) => {
    const oldest = bus.oldestUnhandled('notify');
    return oldest === undefined || oldest > at;
  };
  const flush = async () => {
    if (notifyHandledBefore(now().getTime() - publishedOutbox.delayMs)) await flushPublished(dedupeDeps);
  };
  const flushAll = async () => {
    if (notifyHandledBefore(Infinity)) await flushPublished(dedupeDeps, true);
  };
  bus.schedule('dedupe.outbox', publishedOutbox.delayMs, flush, onError('dedupe.outbox'));
  let sweeping = true;
  return {
    store,
    publisher,
    tick: async () => {
      await dedupeTick().catch(onError('dedupe.tick'));
      await bus.idle();
      await notifyTick().catch(onError('notify.tick'));
      await watchdogTick().catch(onError('watchdog.tick'));
      await flushAll().catch(onError('dedupe.outbox'));
    },
    drain: flushAll,
    stopSweeping: () => {
      sweeping = false;
    },
    sweepOwed: async () => {
      const total = { owed: 0, failed: 0 };
      for (let page = 0; page < 1000 && sweeping; page++) {
        const { owed, failed } = await sweepOwedPosts(
          notifyDeps,
          Number.MAX_SAFE_INTEGER,
          OWED_PAGE,
          () => !sweeping,
        );
        total.owed += owed;
        total.failed += failed;
        // Settled ones leave the index; a page with failures would only find them again.
        if (owed < OWED_PAGE || failed > 0) break;
      }
      return total;
    },
  };
};

/**
 * watchdog: notices clusters whose forwarder went silent, and says so once; says once too when it
 * is back (the model: shared/watchdog.ts).
 *
 * Two entry points over one item per cluster (functions/_common/forwarder-store.ts):
 * - `record` (bus rule heartbeatPattern → SQS → here): folds a batch's heartbeats into their
 *   clusters. A heartbeat that ends a silence posts the "back" reply (and updates the warning);
 * - `tick` (schedule, every minute): declares silent the clusters whose timer has come, posts their
 *   warning, and counts the silent clusters (metric `SilentForwarders`, which the stack alarms on).
 *
 * The watchdog consumes heartbeats itself rather than dedupe: liveness is its own concern, it owns
 * the item and its Slack posts, and dedupe stays about incidents.
 *
 * Exactly once, under at-least-once delivery and concurrent invocations: state changes are
 * conditional writes on the item's version; each change's event (`ForwarderSilent` /
 * `ForwarderBack`) is written into the item with it and published after (outbox); each message is a
 * claimed post (`silent-<n>`, `back-<n>`, functions/_common/slack-posts.ts). Slack is brought in line
 * with the state (level-triggered), so a tick or heartbeat after a failure finishes what was left.
 */
import { ContractViolation, DETAIL_TYPE, type HeartbeatDetail, parsePullwatchEvent } from '#shared/contract';
import { detailTypeOfForwarderChange, forwarderDetailOf } from '#shared/incident-events';
import { renderForwarderBackReply, renderSilenceWarning } from '#shared/slack-message';
import {
  type ForwarderState,
  type Transition,
  backPostId,
  checkSilence,
  forwarderView,
  heartbeatArrived,
  silencePostId,
  silentAt,
} from '#shared/watchdog';
import { createQueueHandler, flushingMetrics, handleGroups, inParallel } from '../_common/batch';
import { untilWritten } from '../_common/conflict-retry';
import { type EventPublisher, publishAll } from '../_common/event-publisher';
import {
  type ForwarderOutboxEntry,
  type ForwarderRef,
  type ForwarderStore,
  ForwarderWriteConflict,
  type StoredForwarder,
} from '../_common/forwarder-store';
import { METRIC, describeError } from '../_common/observability';
import type { PostRecord } from '../_common/post-store';
import { type PostDeps, ensurePost, ensureRendered, isExpectedRetry } from '../_common/slack-posts';
import { abandonedEntries } from '../_common/versioned-item';

export interface WatchdogDeps extends PostDeps<ForwarderRef> {
  store: ForwarderStore;
  /** The channel for a cluster's messages (functions/notify/routing.ts `createClusterRouter`). */
  channelFor: (cluster: string) => string;
  /** PULLWATCH_SILENCE_AFTER. */
  silenceMs: number;
  publisher: EventPublisher;
  concurrency?: number;
  maxAttempts?: number;
  /** Outbox entries older than this are assumed abandoned by their writer and published (default 20 s). */
  outboxGraceMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A heartbeat, and nothing else, belongs on the watchdog's queue. */
export const parseHeartbeat = (input: unknown): HeartbeatDetail => {
  const event = parsePullwatchEvent(input);
  if (event['detail-type'] !== DETAIL_TYPE.heartbeat) {
    throw new ContractViolation('not a heartbeat', [
      `detail-type: ${event['detail-type']} is not a heartbeat`,
    ]);
  }
  return event.detail;
};

/**
 * Applies a transition to a cluster's item (read, fold, conditional write; again on a conflict),
 * then publishes the events it and any abandoned earlier write produced. Returns the item as it is
 * now (its posts as read).
 */
export const reconcileCluster = async (
  deps: WatchdogDeps,
  cluster: string,
  transition: (state: ForwarderState | undefined, now: number) => Transition | undefined,
): Promise<StoredForwarder | undefined> => {
  const { store } = deps;
  const retry = {
    maxAttempts: deps.maxAttempts ?? 10,
    ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }),
    isConflict: (error: unknown) => error instanceof ForwarderWriteConflict,
  };
  return untilWritten(cluster, retry, async () => {
    const stored = await store.getForwarder(cluster);
    const now = deps.now().getTime();
    const next = transition(stored?.state, now);
    const unpublished = abandonedEntries(stored?.outbox ?? [], now, deps.outboxGraceMs);
    let current = stored;
    if (next?.changed) {
      const outbox: ForwarderOutboxEntry[] =
        next.change === undefined
          ? []
          : [
              {
                eventId: `${cluster}@${next.change}-${next.state.silences}`,
                detailType: detailTypeOfForwarderChange(next.change),
                detail: forwarderDetailOf(next.state, next.change, deps.silenceMs),
                writtenAt: now,
              },
            ];
      const version = stored?.version ?? 0;
      await store.saveForwarder({
        state: next.state,
        expectedVersion: version,
        outbox,
        // While silent, stay due: each tick counts the cluster and finishes its warning.
        dueAt:
          next.state.status === 'silent'
            ? (next.state.declaredAt ?? now)
            : silentAt(next.state, deps.silenceMs),
      });
      unpublished.push(...outbox);
      if (next.change === 'silent') deps.metrics.count(METRIC.forwardersSilenced);
      if (next.change === 'back') deps.metrics.count(METRIC.forwardersBack);
      if (next.change !== undefined) {
        deps.log.info(next.change === 'silent' ? 'forwarder silent' : 'forwarder back', {
          cluster,
          silence: next.state.silences,
          lastHeartbeatAt: new Date(next.state.lastHeartbeatAt).toISOString(),
        });
      }
      current = {
        state: next.state,
        version: version + 1,
        outbox: [],
        posts: stored?.posts ?? {},
        ...(stored?.render === undefined ? {} : { render: stored.render }),
      };
    }
    if (unpublished.length > 0) {
      await publishAll(
        deps.publisher,
        unpublished.map(({ detailType, detail }) => ({ detailType, detail })),
      );
      deps.metrics.count(METRIC.eventsPublished, unpublished.length);
      await store.clearForwarderOutbox(
        cluster,
        unpublished.map((entry) => entry.eventId),
      );
    }
    return current;
  });
};

const SKIPPED = 'skipped: heartbeats returned before the warning was posted';

/** Whether the latest silence still needs something in Slack. */
const slackPending = (stored: StoredForwarder): boolean => {
  const { silences, status } = stored.state;
  if (silences === 0) return false;
  const warning = stored.posts[silencePostId(silences)];
  if (status === 'silent') return warning?.state !== 'posted' && warning?.state !== 'failed';
  return warning?.state !== 'failed' && stored.posts[backPostId(silences)]?.state !== 'posted';
};

/**
 * Brings Slack in line with a cluster: while silent, its warning exists; once back, the warning says
 * so and has a reply saying so. If it came back before anyone was told, nothing is posted for that
 * silence (its events still went out).
 */
export const reconcileClusterSlack = async (deps: WatchdogDeps, stored: StoredForwarder): Promise<void> => {
  const { state } = stored;
  const view = forwarderView(state, deps.silenceMs);
  if (view === undefined) return;
  const ref: ForwarderRef = { cluster: state.cluster };
  const owner = { ref, posts: stored.posts, subjectId: `forwarder:${state.cluster}` };
  const warningId = silencePostId(view.silence);
  if (view.status === 'silent') {
    // What the warning shows (for the update when the cluster is back): this silence, silent.
    const render = { version: stored.version, status: `silent-${view.silence}`, at: deps.now().getTime() };
    await ensurePost(
      deps,
      owner,
      warningId,
      { channel: deps.channelFor(state.cluster) },
      () => renderSilenceWarning(view),
      render,
    );
    return;
  }
  if (stored.posts[warningId] === undefined) {
    const now = deps.now().getTime();
    const skipped: PostRecord = {
      state: 'failed',
      token: deps.newToken(),
      channel: deps.channelFor(state.cluster),
      firstClaimedAt: now,
      claimedAt: now,
      leaseUntil: now,
      attempts: 0,
      error: SKIPPED,
    };
    if (await deps.posts.claimPost(ref, warningId, skipped)) return;
    // Someone claimed the warning meanwhile (a tick posting it): it will be followed by "back".
    const again = await deps.store.getForwarder(state.cluster);
    if (again === undefined) return;
    return reconcileClusterSlack(deps, again);
  }
  const warning = await ensurePost(deps, owner, warningId, { channel: deps.channelFor(state.cluster) }, () =>
    renderSilenceWarning(view),
  );
  if (warning.kind !== 'posted') return;
  await ensurePost(
    deps,
    owner,
    backPostId(view.silence),
    { channel: warning.posted.channelId, threadTs: warning.posted.ts },
    () => renderForwarderBackReply(view),
  );
  await ensureRendered(
    deps,
    ref,
    { version: stored.version, status: `${view.status}-${view.silence}`, render: stored.render },
    warning.posted,
    0,
    () => renderSilenceWarning(view),
  );
};

/** The queue-fed handler (`record`): a batch of ForwarderHeartbeat events. */
export const createHeartbeatHandler = (deps: WatchdogDeps) =>
  createQueueHandler(deps, {
    stage: 'watchdog',
    parse: parseHeartbeat,
    handle: (items) =>
      handleGroups(items, {
        groupOf: (heartbeat) => heartbeat.cluster,
        concurrency: deps.concurrency ?? 4,
        handle: async (group, cluster) => {
          const ordered = group
            .map(({ item }) => item)
            .sort((a, b) => (a.observedAt < b.observedAt ? -1 : 1));
          const stored = await reconcileCluster(deps, cluster, (state, now) => {
            let transition: Transition | undefined;
            let current = state;
            for (const heartbeat of ordered) {
              const next = heartbeatArrived(current, heartbeat, now);
              if (next.changed) {
                transition = { ...next, change: transition?.change ?? next.change };
                current = next.state;
              }
            }
            return transition;
          });
          deps.metrics.count(METRIC.heartbeatsRecorded, group.length);
          if (stored !== undefined && stored.state.status === 'alive' && slackPending(stored)) {
            await reconcileClusterSlack(deps, stored);
          }
        },
        failed: (error, group, cluster) =>
          deps.log[isExpectedRetry(error) ? 'info' : 'warn']('heartbeats not recorded; will retry', {
            cluster,
            records: group.length,
            ...describeError(error),
          }),
      }),
  });

export interface WatchdogTickResult {
  /** Clusters whose timer had come. */
  due: number;
  /** Clusters silent after this tick. */
  silent: number;
  failed: number;
}

/**
 * The scheduled tick (every minute): declares silent the clusters nothing was heard from for the
 * silence window, makes sure each silent cluster's warning is posted, and counts them. A failure is
 * thrown after every due cluster was tried, so the schedule's retry comes back.
 */
export const createWatchdogTickHandler = (deps: WatchdogDeps & { tickLimit?: number }) =>
  flushingMetrics(deps, async (): Promise<WatchdogTickResult> => {
    const now = deps.now().getTime();
    const due = await deps.store.silenceDue(now, deps.tickLimit ?? 500);
    const silent: string[] = [];
    let failed = 0;
    await inParallel(due, deps.concurrency ?? 4, async ({ cluster }) => {
      try {
        const stored = await reconcileCluster(deps, cluster, (state, at) =>
          state === undefined ? undefined : checkSilence(state, at, deps.silenceMs),
        );
        if (stored === undefined) return;
        if (stored.state.status === 'silent') silent.push(cluster);
        if (slackPending(stored)) await reconcileClusterSlack(deps, stored);
      } catch (error) {
        // Another invocation posting the warning, or a rate limit: the next tick comes back anyway.
        if (isExpectedRetry(error)) {
          deps.log.info('silent cluster busy; next tick retries', { cluster, ...describeError(error) });
          return;
        }
        failed++;
        deps.log.warn('silent cluster not handled; next tick retries', {
          cluster,
          ...describeError(error),
        });
      }
    });
    deps.metrics.count(METRIC.silentForwarders, silent.length);
    if (silent.length > 0) deps.log.warn('clusters without heartbeats', { clusters: silent.sort() });
    if (failed > 0) throw new Error(`${failed} of ${due.length} due clusters not handled`);
    return { due: due.length, silent: silent.length, failed };
  });
